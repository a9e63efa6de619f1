/* System calls that reach an object by path, checked against the monitor's
 * objects (objects.h) and performed on what was checked. */
#ifndef DUNE_PATHCALLS_H
#define DUNE_PATHCALLS_H

#include <stdbool.h>
#include <stdint.h>

struct sb_proc;

/* openat(dirfd, path, flags, mode) for the program: -EACCES for a monitor
 * object, whatever the path; O_TRUNC applied only after the check. */
long sb_open_checked(struct sb_proc *p, int dirfd, const char *path, int flags, int mode);

/* open, creat, openat, and the calls that change an object found by path
 * (chmod, chown, truncate, utime*, setxattr, removexattr and their l/at
 * forms, linkat with AT_SYMLINK_FOLLOW). Arguments already checked,
 * strings already copied (check_args). Sets *handled to false for any
 * other call. */
long sb_path_call(struct sb_proc *p, int nr, uint64_t a[6], bool *handled);
/* Whether nr is one of the calls above (made on the checked object, not as the program made it). */
bool sb_is_path_call(int nr);

#endif
