/* What /proc shows of a Dune process: the program it runs now, not dune-run. */
#ifndef DUNE_IDENTITY_H
#define DUNE_IDENTITY_H

#include "loader.h"

/* Points the host process's command line and environment (/proc/PID/cmdline, environ: what
 * ps, pgrep -f and docker top read) at the program's own strings on its initial stack, so
 * they show its exact bytes and every later rewrite of its argv (process titles), as the
 * kernel shows them for a native process. Returns 0 or -errno. */
int identity_show_program(const struct elf_stack *stack);

/* Names the calling thread (/proc/PID/comm) as the kernel does on execve: the last
 * component of the path the program was started by, cut to 15 bytes. */
void identity_set_comm(const char *path, const char *comm);

#endif
