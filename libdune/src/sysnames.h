/* x86-64 system call names, for traces and counters: the monitor decides by number (its
 * policy comes from the runtime by number), so it never looks a name up. The table is
 * generated with the runtime's (oci/Dune.Oci/Seccomp/gen-syscall-table.sh). */
#ifndef DUNE_SYSNAMES_H
#define DUNE_SYSNAMES_H

#define SYSCALL_MAX 512

const char *sys_name(int nr);

#endif
