/* "In rootfs" path resolution. */
#include "inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LINKS 40

const char *fd_path(int fd, char buf[FD_PATH_MAX])
{
	snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

static int close_keep_errno(int fd, int rc)
{
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Userspace stand-in for RESOLVE_IN_ROOT: walks path component by component below
 * root, following symlinks with absolute targets and ".." clamped at the root. It is
 * not race-free against a concurrent writer of the rootfs; openat2 is used where present. */
static int fallback_resolve(const char *root, const char *path, char *out, size_t outsz)
{
	char resolved[PATH_MAX] = "";
	char rest[PATH_MAX];
	int links = 0;
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		goto too_long;
	const char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX)
			goto too_long;
		memcpy(comp, p, n);
		comp[n] = '\0';
		p = end;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *s = strrchr(resolved, '/');
			if (s)
				*s = '\0';
			else
				resolved[0] = '\0';
			continue;
		}
		char cand[PATH_MAX], full[PATH_MAX];
		if (snprintf(cand, sizeof(cand), "%s%s%s", resolved, resolved[0] ? "/" : "", comp) >= (int)sizeof(cand) ||
		    snprintf(full, sizeof(full), "%s/%s", root, cand) >= (int)sizeof(full))
			goto too_long;
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
			if (++links > MAX_LINKS) {
				errno = ELOOP;
				return -1;
			}
			char target[PATH_MAX], next[PATH_MAX];
			ssize_t tl = readlink(full, target, sizeof(target) - 1);
			if (tl < 0)
				return -1;
			target[tl] = '\0';
			if (snprintf(next, sizeof(next), "%s/%s", target, p) >= (int)sizeof(next))
				goto too_long;
			if (target[0] == '/')
				resolved[0] = '\0';
			memcpy(rest, next, sizeof(rest));
			p = rest;
			continue;
		}
		memcpy(resolved, cand, sizeof(resolved));
	}
	if (snprintf(out, outsz, "%s/%s", root, resolved) >= (int)outsz)
		goto too_long;
	return 0;
too_long:
	errno = ENAMETOOLONG;
	return -1;
}

int inroot_open(struct init_ctx *c, const char *path, int flags, mode_t mode)
{
	if (!c->root_path) {
		errno = EINVAL;
		return -1;
	}
	if (!c->no_openat2) {
		int root = open(c->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return -1;
		const char *rel = path;
		while (*rel == '/')
			rel++;
		if (!*rel)
			rel = ".";
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		long fd;
		int tries = 0;
		/* EAGAIN: a rename or mount raced with the walk; the kernel asks for a retry. */
		do
			fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
		while (fd < 0 && errno == EAGAIN && ++tries < 16);
		close_keep_errno(root, 0);
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		c->no_openat2 = 1;
	}
	char full[PATH_MAX];
	if (fallback_resolve(c->root_path, path, full, sizeof(full)) < 0)
		return -1;
	return open(full, flags | O_CLOEXEC, mode);
}

/* Splits path into its parent and last component; last must be a plain name. */
static int split(const char *path, char *parent, size_t psz, char *last, size_t lsz)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	char *s = strrchr(buf, '/');
	const char *name = s ? s + 1 : buf;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(last, lsz, "%s", name) >= (int)lsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!s)
		snprintf(parent, psz, ".");
	else if (s == buf)
		snprintf(parent, psz, "/");
	else {
		*s = '\0';
		snprintf(parent, psz, "%s", buf);
	}
	return 0;
}

int inroot_parent(struct init_ctx *c, const char *path, char *last, size_t lastsz)
{
	char parent[PATH_MAX];
	if (split(path, parent, sizeof(parent), last, lastsz) < 0)
		return -1;
	return inroot_open(c, parent, O_PATH | O_DIRECTORY, 0);
}

int inroot_mkdirs(struct init_ctx *c, const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *s = buf;
	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			return 0;
		char *e = strchrnul(s, '/');
		char saved = *e;
		*e = '\0';
		int fd = inroot_open(c, buf, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT) {
			char last[NAME_MAX + 1];
			int dfd = inroot_parent(c, buf, last, sizeof(last));
			if (dfd < 0)
				return -1;
			if (strcmp(last, "..") != 0 && mkdirat(dfd, last, mode) < 0 && errno != EEXIST)
				return close_keep_errno(dfd, -1);
			close(dfd);
			fd = inroot_open(c, buf, O_PATH | O_DIRECTORY, 0);
		}
		if (fd < 0)
			return -1;
		close(fd);
		*e = saved;
		s = e;
	}
}

int inroot_mkfile(struct init_ctx *c, const char *path)
{
	int fd = inroot_open(c, path, O_PATH, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	char parent[PATH_MAX], last[NAME_MAX + 1];
	if (split(path, parent, sizeof(parent), last, sizeof(last)) < 0)
		return -1;
	if (inroot_mkdirs(c, parent, 0755) < 0)
		return -1;
	int dfd = inroot_open(c, parent, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0)
		return -1;
	/* O_EXCL: never follow a (dangling) symlink out of the root. */
	fd = openat(dfd, last, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return close_keep_errno(dfd, -1);
	close(fd);
	close(dfd);
	return 0;
}

int path_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!buf[0]) {
		errno = ENOENT;
		return -1;
	}
	for (char *s = buf + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char saved = *s;
			*s = '\0';
			if (buf[0] && mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*s = saved;
			if (!saved)
				break;
		}
	}
	struct stat st;
	if (stat(buf, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int path_mkfile(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	char parent[PATH_MAX], last[NAME_MAX + 1];
	if (split(path, parent, sizeof(parent), last, sizeof(last)) < 0)
		return -1;
	if (path_mkdirs(parent, 0755) < 0)
		return -1;
	int fd = open(path, O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
