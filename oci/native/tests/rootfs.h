/* A throw-away busybox root filesystem for the tests. */
#ifndef DUNE_TEST_ROOTFS_H
#define DUNE_TEST_ROOTFS_H

#define MARKER_TEXT "dune-init-test-rootfs"

/* Makes dir/rootfs: bin/busybox (copied from /bin/busybox, static) with a symlink per
 * applet, proc dev tmp etc mnt, /marker, /secret/f, and two symlinks that try to leave
 * the root (escape -> ../../../../../../tmp, abs-escape -> /tmp). Returns 0 or -1. */
int make_rootfs(const char *dir, char *err, int errsz);

/* chown -hR, for a rootfs owned by a user namespace's root. */
int chown_tree(const char *path, unsigned uid, unsigned gid);

/* rm -rf, not crossing into other file systems. */
void remove_tree(const char *path);

#endif
