#include "sysnames.h"

#include <stddef.h>

/* The project's one syscall table (oci/Dune.Oci/Seccomp/gen-syscall-table.sh writes it
 * with the runtime's SyscallTable.g.cs). */
static const char *const names[SYSCALL_MAX] = {
#include "sysnames.g.inc"
};

const char *sys_name(int nr)
{
	if (nr < 0 || nr >= SYSCALL_MAX || !names[nr])
		return NULL;
	return names[nr];
}
