/* Mount and root filesystem steps. */
#include "rootfs.h"
#include "inroot.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int hide_full_proc_sys(struct init_ctx *c, const char *rootfs);

static const char *or_null(const char *s)
{
	return *s ? s : NULL;
}

int op_rootfs(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	if (path[0] != '/')
		return ctx_fail(c, EINVAL, "%s (not an absolute path)", path);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctx_fail(c, errno, "%s", path);
	close(fd);
	char *copy = strdup(path);
	if (!copy)
		return ctx_fail(c, errno, "%s", path);
	free(c->root_path);
	c->root_path = copy;
	return STEP_OK;
}

static struct mount_tree *find_tree(struct init_ctx *c, const char *source)
{
	for (size_t i = 0; i < c->ntrees; i++)
		if (c->trees[i].fd >= 0 && strcmp(c->trees[i].source, source) == 0)
			return &c->trees[i];
	return NULL;
}

int op_open_tree(struct init_ctx *c, const struct plan_msg *s)
{
	const char *src = plan_str(s, 0);
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (plan_u64(s, 1) ? AT_RECURSIVE : 0);
	int fd = open_tree(AT_FDCWD, src, flags);
	if (fd < 0) {
		if (errno == ENOSYS)
			return STEP_OK; /* MOUNT falls back to the path */
		return ctx_fail(c, errno, "%s", src);
	}
	struct mount_tree *grown = realloc(c->trees, (c->ntrees + 1) * sizeof(*grown));
	char *copy = strdup(src);
	if (!grown || !copy) {
		int e = errno;
		if (grown)
			c->trees = grown;
		free(copy);
		close(fd);
		return ctx_fail(c, e, "%s", src);
	}
	c->trees = grown;
	c->trees[c->ntrees++] = (struct mount_tree){ .source = copy, .fd = fd };
	return STEP_OK;
}

int op_mount(struct init_ctx *c, const struct plan_msg *s)
{
	const char *src = plan_str(s, 0), *tgt = plan_str(s, 1), *fstype = plan_str(s, 2);
	unsigned long flags = (unsigned long)plan_u64(s, 3);
	const char *data = plan_str(s, 4);
	uint64_t how = plan_u64(s, 5);
	char tbuf[FD_PATH_MAX], sbuf[FD_PATH_MAX];
	const char *target = tgt, *source = or_null(src);
	int tfd = -1, sfd = -1, rc = STEP_OK;

	if (how & HOW_TARGET_IN_ROOT) {
		if ((how & HOW_MKDIR) && inroot_mkdirs(c, tgt, 0755) < 0)
			return ctx_fail(c, errno, "%s (creating the mount point)", tgt);
		if ((how & HOW_MKFILE) && inroot_mkfile(c, tgt) < 0)
			return ctx_fail(c, errno, "%s (creating the mount point)", tgt);
		/* Mount on the resolved fd so a symlink in the image cannot redirect it. */
		tfd = inroot_open(c, tgt, O_PATH, 0);
		if (tfd < 0)
			return ctx_fail(c, errno, "%s", tgt);
		target = fd_path(tfd, tbuf);
	} else {
		if ((how & HOW_MKDIR) && path_mkdirs(tgt, 0755) < 0)
			return ctx_fail(c, errno, "%s (creating the mount point)", tgt);
		if ((how & HOW_MKFILE) && path_mkfile(tgt) < 0)
			return ctx_fail(c, errno, "%s (creating the mount point)", tgt);
	}
	if (how & HOW_SOURCE_TREE) {
		struct mount_tree *t = find_tree(c, src);
		if (t) {
			/* The copy host root made before the clone: the container's root may not
			 * be able to reach the source path itself. */
			/* Straight on the target fd: move_mount refuses a /proc/self/fd path (EINVAL). */
			int r = tfd >= 0 ? move_mount(t->fd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
					 : move_mount(t->fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
			if (r < 0)
				rc = ctx_fail(c, errno, "%s on %s", src, tgt);
			close(t->fd);
			t->fd = -1;
			goto out;
		}
		/* No copy (open_tree is missing): mount the path as it is. */
	}
	if (how & HOW_SOURCE_IN_ROOT) {
		sfd = inroot_open(c, src, O_PATH, 0);
		if (sfd < 0) {
			rc = ctx_fail(c, errno, "%s (source of %s)", src, tgt);
			goto out;
		}
		source = fd_path(sfd, sbuf);
	}
	if (mount(source, target, or_null(fstype), flags, or_null(data)) < 0)
		rc = *src ? ctx_fail(c, errno, "%s on %s", src, tgt) : ctx_fail(c, errno, "%s", tgt);
out:
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

int op_mknod(struct init_ctx *c, const struct plan_msg *s)
{
	const char *tgt = plan_str(s, 0);
	mode_t mode = (mode_t)plan_u64(s, 1);
	dev_t dev = (dev_t)plan_u64(s, 2);
	uid_t uid = (uid_t)plan_u64(s, 3);
	gid_t gid = (gid_t)plan_u64(s, 4);
	char last[NAME_MAX + 1];
	/* A device in a directory the image lacks (/dev/cpu/0/cpuid, /dev/dri/card0, as `ctr run
	 * --privileged` lists them): the directories are made first, as runc does. */
	char parent[PATH_MAX];
	size_t plen = strlen(tgt);
	if (plen >= sizeof(parent))
		return ctx_fail(c, ENAMETOOLONG, "%s", tgt);
	memcpy(parent, tgt, plen + 1);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (inroot_mkdirs(c, parent, 0755) < 0)
			return ctx_fail(c, errno, "%s (creating %s)", tgt, parent);
	}
	int dfd = inroot_parent(c, tgt, last, sizeof(last));
	if (dfd < 0)
		return ctx_fail(c, errno, "%s", tgt);
	int rc = STEP_OK;
	/* Devices are made fresh: whatever the image put there is replaced. */
	if (unlinkat(dfd, last, 0) < 0 && errno != ENOENT) {
		rc = ctx_fail(c, errno, "%s (removing the existing file)", tgt);
		goto out;
	}
	if (mknodat(dfd, last, mode, dev) < 0) {
		rc = ctx_fail(c, errno, "%s", tgt);
		goto out;
	}
	if (fchownat(dfd, last, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = ctx_fail(c, errno, "%s (chown %u:%u)", tgt, uid, gid);
		goto out;
	}
	/* The umask narrowed mknod's mode; set it exactly. */
	if (fchmodat(dfd, last, mode & 07777, 0) < 0)
		rc = ctx_fail(c, errno, "%s (chmod %o)", tgt, mode & 07777);
out:
	close(dfd);
	return rc;
}

int op_symlink(struct init_ctx *c, const struct plan_msg *s)
{
	const char *linktarget = plan_str(s, 0), *path = plan_str(s, 1);
	char last[NAME_MAX + 1];
	int dfd = inroot_parent(c, path, last, sizeof(last));
	if (dfd < 0)
		return ctx_fail(c, errno, "%s", path);
	int rc = STEP_OK;
	if (symlinkat(linktarget, dfd, last) < 0 && errno != EEXIST)
		rc = ctx_fail(c, errno, "%s -> %s", path, linktarget);
	close(dfd);
	return rc;
}

/* After the root switch "in rootfs" paths are container paths: the root is "/". */
static int root_is_slash(struct init_ctx *c)
{
	char *slash = strdup("/");
	if (!slash)
		return -1;
	free(c->root_path);
	c->root_path = slash;
	return 0;
}

int op_pivot_root(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return ctx_fail(c, errno, "/ (opening the old root)");
	int rc = STEP_OK;
	if (chdir(path) < 0) {
		rc = ctx_fail(c, errno, "%s", path);
		goto out;
	}
	/* pivot_root(".", ".") stacks the old root on top of the new one, so no
	 * directory for it is needed inside the image. */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		rc = ctx_fail(c, errno, "%s", path);
		goto out;
	}
	if (fchdir(oldroot) < 0) {
		rc = ctx_fail(c, errno, "%s (entering the old root)", path);
		goto out;
	}
	/* Slave first, so the detach does not propagate back to the host's mounts. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		rc = ctx_fail(c, errno, "%s (making the old root rslave)", path);
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		rc = ctx_fail(c, errno, "%s (detaching the old root)", path);
		goto out;
	}
	if (chdir("/") < 0) {
		rc = ctx_fail(c, errno, "/");
		goto out;
	}
	if (root_is_slash(c) < 0)
		rc = ctx_fail(c, errno, "%s", path);
out:
	close(oldroot);
	return rc;
}

/* Makes path the root of this process: MS_MOVE'd over "/" first when move is set (no
 * pivot_root), a plain chroot otherwise (no mount namespace of its own). */
static int enter_root(struct init_ctx *c, const char *path, int move)
{
	if (chdir(path) < 0)
		return ctx_fail(c, errno, "%s", path);
	if (move && mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return ctx_fail(c, errno, "%s (moving it to /)", path);
	if (chroot(".") < 0)
		return ctx_fail(c, errno, "%s (chroot)", path);
	if (chdir("/") < 0)
		return ctx_fail(c, errno, "/");
	if (root_is_slash(c) < 0)
		return ctx_fail(c, errno, "%s", path);
	return STEP_OK;
}

int op_chroot_move(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	char real[PATH_MAX];
	if (!realpath(path, real))
		return ctx_fail(c, errno, "%s", path);
	if (hide_full_proc_sys(c, real) != STEP_OK)
		return STEP_FAILED;
	return enter_root(c, path, 1);
}

int op_mask_path(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return STEP_OK;
		return ctx_fail(c, errno, "%s", path);
	}
	int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
				    : mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (r < 0)
		return ctx_fail(c, errno, "%s", path);
	return STEP_OK;
}

int op_readonly_path(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return STEP_OK;
		return ctx_fail(c, errno, "%s", path);
	}
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return ctx_fail(c, errno, "%s", path);
	/* Keep the flags already set: in a user namespace they are locked and a
	 * remount that clears one fails with EPERM. */
	static const struct { unsigned long st, ms; } keep[] = {
		{ ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	if (mount(path, path, NULL, flags, NULL) < 0)
		return ctx_fail(c, errno, "%s (remounting read-only)", path);
	return STEP_OK;
}

int op_mount_setattr(struct init_ctx *c, const struct plan_msg *s)
{
	const char *tgt = plan_str(s, 0);
	struct mount_attr attr = { .attr_set = plan_u64(s, 1), .attr_clr = plan_u64(s, 2) };
	int fd = inroot_open(c, tgt, O_PATH, 0);
	if (fd < 0)
		return ctx_fail(c, errno, "%s", tgt);
	int rc = STEP_OK;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		rc = errno == ENOSYS
			     ? ctx_fail(c, ENOSYS, "%s (recursive mount options need mount_setattr, Linux 5.12 or later)", tgt)
			     : ctx_fail(c, errno, "%s (set 0x%llx, clear 0x%llx, recursively)", tgt,
					(unsigned long long)attr.attr_set, (unsigned long long)attr.attr_clr);
	close(fd);
	return rc;
}

int op_chroot(struct init_ctx *c, const struct plan_msg *s)
{
	return enter_root(c, plan_str(s, 0), 0);
}

struct parent_mount {
	const char *path;
	char mountpoint[PATH_MAX];
	int shared;
	int found;
};

/* The last (topmost) mount whose mount point is the longest prefix of the path. */
static int find_parent(const struct mountinfo_entry *m, void *arg)
{
	struct parent_mount *p = arg;
	if (!mountinfo_is_below(p->path, m->mountpoint))
		return 0;
	if (p->found && strlen(m->mountpoint) < strlen(p->mountpoint))
		return 0;
	if (strlen(m->mountpoint) >= sizeof(p->mountpoint))
		return 0;
	strcpy(p->mountpoint, m->mountpoint);
	p->shared = strstr(m->optional, "shared:") != NULL;
	p->found = 1;
	return 0;
}

int op_parent_private(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	char real[PATH_MAX];
	if (!realpath(path, real))
		return ctx_fail(c, errno, "%s", path);
	struct parent_mount p = { .path = real };
	if (mountinfo_each(find_parent, &p) < 0)
		return ctx_fail(c, errno, "%s (reading /proc/self/mountinfo)", path);
	if (!p.found)
		return ctx_fail(c, ENOENT, "%s (no mount holds it)", path);
	/* A shared parent would make pivot_root fail (EINVAL) and carry the rootfs bind
	 * back to its peers. */
	if (p.shared && mount(NULL, p.mountpoint, NULL, MS_PRIVATE, NULL) < 0)
		return ctx_fail(c, errno, "%s (making %s private)", path, p.mountpoint);
	return STEP_OK;
}

struct full_mounts {
	const char *rootfs;
	char **paths;
	size_t n;
};

static int collect_full_proc_sys(const struct mountinfo_entry *m, void *arg)
{
	struct full_mounts *f = arg;
	if (strcmp(m->root, "/") != 0 || (strcmp(m->fstype, "proc") != 0 && strcmp(m->fstype, "sysfs") != 0) ||
	    mountinfo_is_below(m->mountpoint, f->rootfs))
		return 0;
	char **grown = realloc(f->paths, (f->n + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	f->paths = grown;
	if (!(f->paths[f->n] = strdup(m->mountpoint)))
		return -1;
	f->n++;
	return 0;
}

/* --no-pivot leaves the old root reachable in the container's mount namespace, and a
 * full proc or sysfs mount there would let the container mount an unmasked proc (the
 * kernel allows a new proc mount where a full one is visible). As runc does: detach each
 * full proc/sysfs mount outside the rootfs, or cover it with a tmpfs where that is refused. */
static int hide_full_proc_sys(struct init_ctx *c, const char *rootfs)
{
	struct full_mounts f = { .rootfs = rootfs };
	int rc = STEP_OK;
	if (mountinfo_each(collect_full_proc_sys, &f) != 0) {
		rc = ctx_fail(c, errno, "%s (reading /proc/self/mountinfo)", rootfs);
		goto out;
	}
	for (size_t i = 0; i < f.n && rc == STEP_OK; i++) {
		const char *p = f.paths[i];
		if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue; /* under a mount already detached */
			rc = ctx_fail(c, errno, "%s (making it rslave before hiding it)", p);
		} else if (umount2(p, MNT_DETACH) < 0) {
			if (errno != EINVAL && errno != EPERM)
				rc = ctx_fail(c, errno, "%s (detaching it)", p);
			else if (mount("tmpfs", p, "tmpfs", 0, NULL) < 0)
				rc = ctx_fail(c, errno, "%s (covering it with a tmpfs)", p);
		}
	}
out:
	for (size_t i = 0; i < f.n; i++)
		free(f.paths[i]);
	free(f.paths);
	return rc;
}
