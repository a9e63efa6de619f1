/* Reading /proc/self/mountinfo: the mounts of the caller's mount namespace, as seen from
 * its root (paths unescaped). */
#ifndef DUNE_MOUNTINFO_H
#define DUNE_MOUNTINFO_H

struct mountinfo_entry {
	const char *root;       /* the mount's root within its filesystem ("/" for a full mount) */
	const char *mountpoint;
	const char *optional;   /* optional fields ("shared:N master:M"), may be empty */
	const char *fstype;
};

/* Calls fn for each mount in file order (parents before children) until fn returns
 * non-zero, which is then returned. Returns 0 at the end, -1 with errno if unreadable. */
int mountinfo_each(int (*fn)(const struct mountinfo_entry *m, void *arg), void *arg);

/* Whether path is mountpoint or below it (component-wise). */
int mountinfo_is_below(const char *path, const char *mountpoint);

#endif
