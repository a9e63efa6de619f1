/* Busybox rootfs for the tests. */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

static int copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	close(out);
	return rc;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* One symlink per applet "busybox --list" prints. */
static int link_applets(const char *bindir)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(BUSYBOX, "busybox", "--list", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[256];
	int count = 0;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || strchr(line, '/') || strcmp(line, "busybox") == 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", bindir, line);
		if (symlink("busybox", path) == 0)
			count++;
	}
	if (f)
		fclose(f);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 && count > 50 ? 0 : -1;
}

int make_rootfs(const char *dir, char *err, int errsz)
{
	char root[1024], path[2048];
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	static const char *const dirs[] = { "", "/bin", "/proc", "/dev", "/tmp", "/etc", "/mnt", "/secret", "/sys" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			snprintf(err, (size_t)errsz, "mkdir %s: %s", path, strerror(errno));
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/tmp", root);
	chmod(path, 01777);
	snprintf(path, sizeof(path), "%s/bin/busybox", root);
	if (copy_file(BUSYBOX, path, 0755) < 0) {
		snprintf(err, (size_t)errsz, "copy %s (is busybox-static installed?): %s", BUSYBOX, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/bin", root);
	if (link_applets(path) < 0) {
		snprintf(err, (size_t)errsz, "busybox --list failed");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/marker", root);
	int rc = write_text(path, MARKER_TEXT "\n");
	snprintf(path, sizeof(path), "%s/secret/f", root);
	rc |= write_text(path, "secret\n");
	snprintf(path, sizeof(path), "%s/escape", root);
	rc |= symlink("../../../../../../tmp", path);
	snprintf(path, sizeof(path), "%s/abs-escape", root);
	rc |= symlink("/tmp", path);
	if (rc) {
		snprintf(err, (size_t)errsz, "populating %s: %s", root, strerror(errno));
		return -1;
	}
	return 0;
}

void remove_tree(const char *path)
{
	struct stat st, top;
	if (lstat(path, &top) < 0)
		return;
	if (S_ISDIR(top.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev != top.st_dev)
				continue; /* a mount point: never descend */
			remove_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

int chown_tree(const char *path, unsigned uid, unsigned gid)
{
	struct stat st;
	if (lstat(path, &st) < 0 || lchown(path, uid, gid) < 0)
		return -1;
	/* chown cleared set-id bits; the sticky bit of tmp stays. */
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc |= chown_tree(sub, uid, gid);
	}
	closedir(d);
	return rc;
}
