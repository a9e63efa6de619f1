/* dune-run runs from a sealed memfd copy of its own image (as runc does
 * against CVE-2019-5736): /proc/self/exe, /proc/PID/map_files and the image
 * exec'd on execve are then that private, unwritable copy, and nothing the
 * program can name through /proc is the host's dune-run binary. */
#ifndef DUNE_SELF_IMAGE_H
#define DUNE_SELF_IMAGE_H

#include <stddef.h>

/* name: the memfd's name, what /proc/PID/exe shows ("/memfd:NAME (deleted)").
 * If this process already runs from a sealed memfd, returns an O_RDONLY
 * close-on-exec fd of it (for execve of later images). Otherwise copies the
 * image into a new sealed memfd and re-executes it with the same argv and
 * envp (inherited descriptors stay as they are): does not return on success.
 * On failure returns -errno with a message in err. */
int self_image_ensure(const char *name, char *const argv[], char *const envp[], char *err, size_t errlen);

/* A sealed memfd copy of the executable open at src (what exec loads), for a
 * launcher that execs it (dune-init execs dune-run through it, so not even
 * the first instant of dune-run in a container runs the host binary).
 * Returns the close-on-exec fd, or -errno with a message in err. */
int self_image_copy(int src, const char *name, char *err, size_t errlen);

#endif
