/* Resolving "in rootfs" paths: symlinks and ".." stay inside the ROOTFS directory. */
#ifndef DUNE_INROOT_H
#define DUNE_INROOT_H

#include <sys/types.h>
#include "context.h"

#define FD_PATH_MAX 32

/* Opens path inside c->root_path (openat2 RESOLVE_IN_ROOT, or a userspace walk where
 * openat2 is missing). The root is reopened on every call so a mount over it (the
 * rootfs bind-mounted on itself) is seen. Returns an O_CLOEXEC fd or -1 with errno. */
int inroot_open(struct init_ctx *c, const char *path, int flags, mode_t mode);

/* mkdir -p inside the root. */
int inroot_mkdirs(struct init_ctx *c, const char *path, mode_t mode);

/* Creates an empty file (and its parents) inside the root unless something exists there. */
int inroot_mkfile(struct init_ctx *c, const char *path);

/* Opens the parent directory of path inside the root (O_PATH) and copies the last
 * component to last (which must be a plain name). Returns the fd or -1 with errno. */
int inroot_parent(struct init_ctx *c, const char *path, char *last, size_t lastsz);

/* Same operations on plain (not in rootfs) paths. */
int path_mkdirs(const char *path, mode_t mode);
int path_mkfile(const char *path);

/* Writes "/proc/self/fd/N" into buf. */
const char *fd_path(int fd, char buf[FD_PATH_MAX]);

#endif
