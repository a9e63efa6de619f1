#include "sysnames.h"

#include <string.h>

static const char *const names[SYSCALL_MAX] = {
#include "sysnames.inc"
};

const char *sys_name(int nr)
{
	if (nr < 0 || nr >= SYSCALL_MAX || !names[nr])
		return NULL;
	return names[nr];
}

int sys_number(const char *name)
{
	for (int i = 0; i < SYSCALL_MAX; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}
