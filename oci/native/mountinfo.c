/* /proc/self/mountinfo reader. */
#include "mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes the kernel's octal escapes (\040 for a space, \011, \012, \134) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* "id parent maj:min root mountpoint options [optional...] - fstype source superopts" */
static int parse(char *line, struct mountinfo_entry *m)
{
	char *save = NULL, *f[5];
	for (int i = 0; i < 5; i++) {
		f[i] = strtok_r(i ? NULL : line, " \n", &save);
		if (!f[i])
			return -1;
	}
	char *rest = strtok_r(NULL, "\n", &save);
	if (!rest)
		return -1;
	char *sep = strstr(rest, "- ");
	if (!sep || (sep != rest && sep[-1] != ' '))
		return -1;
	sep[0] = '\0';
	char *fstype = sep + 2, *end = strchr(fstype, ' ');
	if (end)
		*end = '\0';
	unescape(f[3]);
	unescape(f[4]);
	m->root = f[3];
	m->mountpoint = f[4];
	m->optional = rest;
	m->fstype = fstype;
	return 0;
}

int mountinfo_each(int (*fn)(const struct mountinfo_entry *m, void *arg), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (getline(&line, &cap, f) > 0) {
		struct mountinfo_entry m;
		if (parse(line, &m) < 0)
			continue;
		rc = fn(&m, arg);
		if (rc)
			break;
	}
	int e = errno;
	free(line);
	fclose(f);
	errno = e;
	return rc;
}

int mountinfo_is_below(const char *path, const char *mountpoint)
{
	size_t n = strlen(mountpoint);
	if (n == 1 && mountpoint[0] == '/')
		return path[0] == '/';
	return strncmp(path, mountpoint, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
