/* Monitor objects recognised by identity (objects.h). */
#define _GNU_SOURCE
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#define KVM_MAJOR 10
#define KVM_MINOR 232

static bool id_of(int fd, struct file_id *id)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return true;
}

void mobj_add_image(struct mon_objects *o, int fd)
{
	id_of(fd, &o->image);
}

void mobj_add_file(struct mon_objects *o, int fd)
{
	if (o->nfile < MAX_MON_FILES && id_of(fd, &o->file[o->nfile]))
		o->nfile++;
}

/* The Dune module's device (a dynamic major): its sysfs node is named dune. */
static bool is_dune_device(dev_t rdev)
{
	char path[64], link[256];
	snprintf(path, sizeof path, "/sys/dev/char/%u:%u", major(rdev), minor(rdev));
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	return base && !strcmp(base, "/dune");
}

enum obj_kind mobj_classify(const struct mon_objects *o, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return OBJ_MONITOR; /* cannot tell: refuse */
	/* KVM's VM and vCPU files are anonymous inodes, alike under fstat (no
	 * file type); their link names tell them apart. They cannot be reopened,
	 * but O_PATH, map_files and SCM_RIGHTS still hand out a descriptor. */
	if (!(st.st_mode & S_IFMT)) {
		char path[40], link[64];
		snprintf(path, sizeof path, "/proc/thread-self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0)
			return OBJ_MONITOR;
		link[n] = '\0';
		return strncmp(link, "anon_inode:kvm", 14) && strncmp(link, "anon_inode:dune-", 16) ?
			OBJ_PROGRAM : OBJ_MONITOR;
	}
	/* Any node of the KVM device: a second handle on what runs the VM. */
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == KVM_MAJOR && minor(st.st_rdev) == KVM_MINOR)
		return OBJ_MONITOR;
	if (S_ISCHR(st.st_mode) && is_dune_device(st.st_rdev))
		return OBJ_MONITOR;
	if (st.st_dev == o->image.dev && st.st_ino == o->image.ino)
		return OBJ_IMAGE;
	for (int i = 0; i < o->nfile; i++)
		if (st.st_dev == o->file[i].dev && st.st_ino == o->file[i].ino)
			return OBJ_MONITOR;
	/* /proc/PID/mem and /proc/PID/task/TID/mem: regular procfs files of mode
	 * 0600 (procfs refuses chmod, a bind mount keeps the mode) that cannot
	 * seek from their end, which sets them apart from the few 0600 sysctls.
	 * Recognised so under any name. */
	if (S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600) {
		struct statfs fs;
		if (fstatfs(fd, &fs) < 0)
			return OBJ_MONITOR;
		if (fs.f_type == PROC_SUPER_MAGIC) {
			off_t at = lseek(fd, 0, SEEK_CUR);
			if (at < 0 || lseek(fd, 0, SEEK_END) < 0)
				return OBJ_MONITOR;
			lseek(fd, at, SEEK_SET);
		}
	}
	return OBJ_PROGRAM;
}

long mobj_resolve(const struct mon_objects *o, int dirfd, const char *path, bool follow, int *fd)
{
	int f = openat(dirfd, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (f < 0)
		return -errno;
	if (mobj_classify(o, f) != OBJ_PROGRAM) {
		close(f);
		return -EACCES;
	}
	*fd = f;
	return 0;
}

/* Copy path with "//" and "/./" collapsed. */
static void squeeze(const char *in, char *out, size_t max)
{
	size_t n = 0;
	for (const char *s = in; *s && n + 1 < max;) {
		if (s[0] == '/' && (s[1] == '/' || (s[1] == '.' && (s[2] == '/' || !s[2])))) {
			s += s[1] == '/' ? 1 : 2;
			continue;
		}
		out[n++] = *s++;
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
}

/* "N" followed by rest, N all digits; returns rest or NULL. */
static const char *number(const char *s, long *n)
{
	char *end;
	if (*s < '0' || *s > '9')
		return NULL;
	*n = strtol(s, &end, 10);
	return end;
}

bool sb_is_self_exe(const char *path)
{
	char p[128];
	if (path[0] != '/' || strlen(path) >= sizeof p)
		return false;
	squeeze(path, p, sizeof p);
	const char *s;
	long n;
	if (!strncmp(p, "/proc/thread-self/", 18))
		return !strcmp(p + 18, "exe");
	if (!strncmp(p, "/proc/self/", 11)) {
		s = p + 11;
	} else if (!strncmp(p, "/proc/", 6) && (s = number(p + 6, &n)) && n == getpid() && *s == '/') {
		s++;
	} else {
		return false;
	}
	if (!strcmp(s, "exe"))
		return true;
	/* task/TID/exe: every thread of this process has the same image. */
	return !strncmp(s, "task/", 5) && (s = number(s + 5, &n)) && !strcmp(s, "/exe");
}

bool sb_names_self_exe(int dirfd, const char *path)
{
	if (path[0] == '/' && sb_is_self_exe(path))
		return true;
	const char *base = strrchr(path, '/');
	if (strcmp(base ? base + 1 : path, "exe"))
		return false; /* no link of that name: not worth a look */
	/* Any other spelling ("..", /dev/fd/../exe, relative to a /proc
	 * descriptor): what the path names is a procfs link whose own path
	 * the kernel prints canonically. */
	int f = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return false;
	char self[40], canon[128];
	snprintf(self, sizeof self, "/proc/thread-self/fd/%d", f);
	ssize_t n = readlink(self, canon, sizeof canon - 1);
	struct statfs fs;
	bool proc = fstatfs(f, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
	close(f);
	if (n <= 0 || !proc)
		return false;
	canon[n] = '\0';
	return sb_is_self_exe(canon);
}
