/* x86-64 system call names (table generated from the kernel headers at build time). */
#ifndef DUNE_SYSNAMES_H
#define DUNE_SYSNAMES_H

#define SYSCALL_MAX 512

const char *sys_name(int nr);
int sys_number(const char *name);

#endif
