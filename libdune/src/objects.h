/* Monitor objects: what the program must never name.
 *
 * The monitor's descriptors are refused by number (sb_is_monitor_fd). That
 * alone does not hold: the same objects are reachable under other names —
 * /proc/PID/fd/N, /dev/fd/N, /proc/PID/map_files, /proc/PID/exe, a bind
 * mount or hard link of any of those, a descriptor received with
 * SCM_RIGHTS — and /proc/PID/mem reaches the monitor's memory itself. So
 * every descriptor the kernel creates for the program from a path or a
 * message, and every object a path-based call is about to change, is
 * recognised by what it is (device and inode), not by how it was named. */
#ifndef DUNE_OBJECTS_H
#define DUNE_OBJECTS_H

#include <stdbool.h>
#include <sys/types.h>

struct file_id {
	dev_t dev;
	ino_t ino;
};

#define MAX_MON_FILES 4

struct mon_objects {
	struct file_id image;               /* the dune-run image the monitor execs */
	struct file_id file[MAX_MON_FILES]; /* counters, trace: files the monitor writes */
	int nfile;
};

enum obj_kind {
	OBJ_PROGRAM, /* the program may have it */
	OBJ_IMAGE,   /* the monitor's own executable */
	OBJ_MONITOR, /* a monitor file, the KVM device, or a process's memory */
};

/* Remember what fd is (nothing if it is not open). */
void mobj_add_image(struct mon_objects *o, int fd);
void mobj_add_file(struct mon_objects *o, int fd);

/* What the open descriptor fd is. */
enum obj_kind mobj_classify(const struct mon_objects *o, int fd);

/* Open what a path-based call at (dirfd, path) would act on (O_PATH,
 * following the last symlink if follow) and refuse a monitor object
 * (-EACCES). The call is then made on *fd, so a path swapped meanwhile
 * cannot redirect it. */
long mobj_resolve(const struct mon_objects *o, int dirfd, const char *path, bool follow, int *fd);

/* /proc/self/exe and the names of the same link for this process
 * (/proc/thread-self/exe, /proc/PID/exe, /proc/PID/task/TID/exe, with
 * doubled slashes and "." segments): they name the program, not dune-run. */
bool sb_is_self_exe(const char *path);
/* The same for any path at (dirfd, path), however spelled (it is resolved
 * to the procfs link it names). */
bool sb_names_self_exe(int dirfd, const char *path);

#endif
