/* System calls that reach an object by path: each is performed on what the
 * path resolved to, after that object was recognised as the program's
 * (objects.h). A descriptor the kernel opens is checked before the program
 * gets it; a call that changes an existing object (mode, owner, times,
 * size, extended attributes, a new hard link) is made on a descriptor of the
 * checked object, so a symlink swapped by another thread cannot redirect it. */
#define _GNU_SOURCE
#include "pathcalls.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* After the object check: O_TRUNC as the kernel applies it at open. */
static long apply_trunc(const struct mon_objects *o, int fd, int flags)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* O_TRUNC means nothing for other files */
	if ((flags & O_ACCMODE) != O_RDONLY)
		return ftruncate(fd, 0) < 0 ? -errno : 0;
	/* Linux truncates on O_RDONLY|O_TRUNC too, given write permission. */
	char self[40];
	snprintf(self, sizeof self, "/proc/thread-self/fd/%d", fd);
	int w = open(self, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (w < 0)
		return -errno;
	long rc = mobj_classify(o, w) == OBJ_PROGRAM ? (ftruncate(w, 0) < 0 ? -errno : 0) : -EACCES;
	close(w);
	return rc;
}

long sb_open_checked(struct sb_proc *p, int dirfd, const char *path, int flags, int mode)
{
	if (sb_is_self_exe(path))
		path = p->exe;
	long fd = host_syscall(SYS_openat, (uint64_t)dirfd, (uint64_t)path, (uint64_t)(flags & ~O_TRUNC),
			       (uint64_t)mode, 0, 0);
	if (fd < 0)
		return fd;
	enum obj_kind k = mobj_classify(&p->objs, (int)fd);
	if (k == OBJ_IMAGE && sb_names_self_exe(dirfd, path)) {
		/* This process's exe link, however spelled: the program's file. */
		close((int)fd);
		return sb_open_checked(p, AT_FDCWD, p->exe, flags, mode);
	}
	long rc = k == OBJ_PROGRAM ? 0 : -EACCES;
	if (!rc && (flags & O_TRUNC) && !(flags & O_PATH))
		rc = apply_trunc(&p->objs, (int)fd, flags);
	if (rc) {
		close((int)fd);
		return rc;
	}
	return (flags & O_PATH) ? fd : pt_auxv_file(p, fd);
}

/* A descriptor to read or write the checked object through (for calls
 * that have no form taking an O_PATH descriptor). */
static long open_object(struct sb_proc *p, int dirfd, const char *path, bool follow, int how, int *fd)
{
	int f = openat(dirfd, path, how | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (f < 0)
		return -errno;
	if (mobj_classify(&p->objs, f) != OBJ_PROGRAM) {
		close(f);
		return -EACCES;
	}
	*fd = f;
	return 0;
}

/* What kind of file the path names (after the object check). */
static long resolve_stat(struct sb_proc *p, const char *path, bool follow, struct stat *st)
{
	int f;
	long rc = mobj_resolve(&p->objs, AT_FDCWD, path, follow, &f);
	if (rc)
		return rc;
	rc = fstat(f, st) < 0 ? -errno : 0;
	close(f);
	return rc;
}

static long do_chmod(struct sb_proc *p, int dirfd, const char *path, mode_t mode)
{
	int f;
	long rc = mobj_resolve(&p->objs, dirfd, path, true, &f);
	if (rc)
		return rc;
	rc = host_syscall(SYS_fchmodat2, (uint64_t)f, (uint64_t)"", mode, AT_EMPTY_PATH, 0, 0);
	close(f);
	if (rc != -ENOSYS)
		return rc;
	/* Kernels before 6.6: fchmod on an opened descriptor of the object. */
	rc = open_object(p, dirfd, path, true, O_RDONLY, &f);
	if (rc == -EACCES || rc == -ENXIO || rc == -EWOULDBLOCK)
		return host_syscall(SYS_fchmodat, (uint64_t)dirfd, (uint64_t)path, mode, 0, 0, 0);
	if (rc)
		return rc;
	rc = fchmod(f, mode) < 0 ? -errno : 0;
	close(f);
	return rc;
}

static long do_chown(struct sb_proc *p, int dirfd, const char *path, uint64_t uid, uint64_t gid, int flags)
{
	int f;
	long rc = mobj_resolve(&p->objs, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &f);
	if (rc)
		return rc;
	rc = host_syscall(SYS_fchownat, (uint64_t)f, (uint64_t)"", uid, gid, AT_EMPTY_PATH, 0);
	close(f);
	return rc;
}

static long do_truncate(struct sb_proc *p, const char *path, uint64_t len)
{
	struct stat st;
	long rc = resolve_stat(p, path, true, &st);
	if (rc)
		return rc;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	int f = -1;
	rc = open_object(p, AT_FDCWD, path, true, O_WRONLY, &f);
	if (rc)
		return rc;
	rc = host_syscall(SYS_ftruncate, (uint64_t)f, len, 0, 0, 0, 0);
	close(f);
	return rc;
}

static long do_utimens(struct sb_proc *p, int dirfd, const char *path, const struct timespec *ts, int flags)
{
	int f;
	long rc = mobj_resolve(&p->objs, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &f);
	if (rc)
		return rc;
	rc = host_syscall(SYS_utimensat, (uint64_t)f, (uint64_t)"", (uint64_t)ts, AT_EMPTY_PATH, 0, 0);
	close(f);
	return rc;
}

/* utime/utimes/futimesat times, as timespecs (NULL: now). */
static long timeval_times(uint64_t tv, struct timespec ts[2], const struct timespec **out)
{
	*out = NULL;
	if (!tv)
		return 0;
	const struct timeval *v = (const struct timeval *)tv;
	for (int i = 0; i < 2; i++) {
		if (v[i].tv_usec < 0 || v[i].tv_usec >= 1000000)
			return -EINVAL;
		ts[i].tv_sec = v[i].tv_sec;
		ts[i].tv_nsec = v[i].tv_usec * 1000;
	}
	*out = ts;
	return 0;
}

static long do_xattr(struct sb_proc *p, int nr, uint64_t a[6])
{
	const char *path = (const char *)a[0];
	bool follow = nr == SYS_setxattr || nr == SYS_removexattr;
	struct stat st;
	long rc = resolve_stat(p, path, follow, &st);
	if (rc)
		return rc;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		int f = -1;
		rc = open_object(p, AT_FDCWD, path, follow, O_RDONLY, &f);
		if (!rc) {
			rc = nr == SYS_setxattr || nr == SYS_lsetxattr
				     ? host_syscall(SYS_fsetxattr, (uint64_t)f, a[1], a[2], a[3], a[4], 0)
				     : host_syscall(SYS_fremovexattr, (uint64_t)f, a[1], 0, 0, 0, 0);
			close(f);
			return rc;
		}
		if (rc != -EACCES)
			return rc;
	}
	/* Symlinks, device nodes, unreadable files: no descriptor form without
	 * opening them; the object was checked just before (a narrow window). */
	return sb_host_call(nr, a[0], a[1], a[2], a[3], a[4], 0);
}

/* linkat(..., AT_SYMLINK_FOLLOW): a new name for what oldpath resolves to. */
static long do_link_follow(struct sb_proc *p, uint64_t a[6])
{
	int f;
	long rc = mobj_resolve(&p->objs, (int)a[0], (const char *)a[1], true, &f);
	if (rc)
		return rc;
	rc = host_syscall(SYS_linkat, (uint64_t)f, (uint64_t)"", a[2], a[3], AT_EMPTY_PATH, 0);
	if (rc == -ENOENT || rc == -EPERM) {
		/* Without CAP_DAC_READ_SEARCH: through the descriptor's /proc link,
		 * then make sure the new name is the object that was checked. */
		char self[40];
		snprintf(self, sizeof self, "/proc/thread-self/fd/%d", f);
		rc = host_syscall(SYS_linkat, AT_FDCWD, (uint64_t)self, a[2], a[3], AT_SYMLINK_FOLLOW, 0);
		struct stat want, got;
		if (!rc && (fstat(f, &want) < 0 || fstatat((int)a[2], (const char *)a[3], &got, AT_SYMLINK_NOFOLLOW) < 0 ||
			    want.st_dev != got.st_dev || want.st_ino != got.st_ino)) {
			unlinkat((int)a[2], (const char *)a[3], 0);
			rc = -EACCES;
		}
	}
	close(f);
	return rc;
}

bool sb_is_path_call(int nr)
{
	switch (nr) {
	case SYS_open: case SYS_creat: case SYS_openat: case SYS_chmod: case SYS_fchmodat: case SYS_chown:
	case SYS_lchown: case SYS_fchownat: case SYS_truncate: case SYS_utime: case SYS_utimes:
	case SYS_futimesat: case SYS_utimensat: case SYS_setxattr: case SYS_lsetxattr: case SYS_removexattr:
	case SYS_lremovexattr: case SYS_linkat:
		return true;
	default:
		return false;
	}
}

long sb_path_call(struct sb_proc *p, int nr, uint64_t a[6], bool *handled)
{
	*handled = true;
	struct timespec ts[2];
	const struct timespec *tsp;
	long rc;
	switch (nr) {
	case SYS_open:
		return sb_open_checked(p, AT_FDCWD, (const char *)a[0], (int)a[1], (int)a[2]);
	case SYS_creat:
		return sb_open_checked(p, AT_FDCWD, (const char *)a[0], O_CREAT | O_WRONLY | O_TRUNC, (int)a[1]);
	case SYS_openat:
		return sb_open_checked(p, (int)a[0], (const char *)a[1], (int)a[2], (int)a[3]);
	case SYS_chmod:
		return do_chmod(p, AT_FDCWD, (const char *)a[0], (mode_t)a[1]);
	case SYS_fchmodat:
		return do_chmod(p, (int)a[0], (const char *)a[1], (mode_t)a[2]);
	case SYS_chown:
		return do_chown(p, AT_FDCWD, (const char *)a[0], a[1], a[2], 0);
	case SYS_lchown:
		return do_chown(p, AT_FDCWD, (const char *)a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW);
	case SYS_fchownat:
		if ((a[4] & AT_EMPTY_PATH) && !*(const char *)a[1])
			break; /* the program's own descriptor */
		if (a[4] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
			return -EINVAL;
		return do_chown(p, (int)a[0], (const char *)a[1], a[2], a[3], (int)a[4]);
	case SYS_truncate:
		return do_truncate(p, (const char *)a[0], a[1]);
	case SYS_utime:
		tsp = NULL;
		if (a[1]) {
			const struct utimbuf *u = (const struct utimbuf *)a[1];
			ts[0] = (struct timespec){ u->actime, 0 };
			ts[1] = (struct timespec){ u->modtime, 0 };
			tsp = ts;
		}
		return do_utimens(p, AT_FDCWD, (const char *)a[0], tsp, 0);
	case SYS_utimes:
		rc = timeval_times(a[1], ts, &tsp);
		return rc ? rc : do_utimens(p, AT_FDCWD, (const char *)a[0], tsp, 0);
	case SYS_futimesat:
		if (!a[1])
			break; /* futimes on the program's descriptor */
		rc = timeval_times(a[2], ts, &tsp);
		return rc ? rc : do_utimens(p, (int)a[0], (const char *)a[1], tsp, 0);
	case SYS_utimensat:
		if (!a[1] || ((a[3] & AT_EMPTY_PATH) && !*(const char *)a[1]))
			break; /* futimens on the program's descriptor */
		if (a[3] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
			return -EINVAL;
		if (a[2]) {
			memcpy(ts, (const void *)a[2], sizeof ts);
			tsp = ts;
		} else {
			tsp = NULL;
		}
		return do_utimens(p, (int)a[0], (const char *)a[1], tsp, (int)a[3]);
	case SYS_setxattr: case SYS_lsetxattr: case SYS_removexattr: case SYS_lremovexattr:
		return do_xattr(p, nr, a);
	case SYS_linkat:
		if (!(a[4] & AT_SYMLINK_FOLLOW) || ((a[4] & AT_EMPTY_PATH) && !*(const char *)a[1]))
			break; /* link(2) semantics, or the program's own descriptor */
		return do_link_follow(p, a);
	default:
		break;
	}
	*handled = false;
	return 0;
}
