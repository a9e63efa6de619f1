#include "sysnames.h"

#include <stdlib.h>
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

/* Sorted by name at build time: a policy names about 300 calls and is
 * parsed at every start and execve, so each lookup is a binary search
 * instead of a scan of the whole table. */
struct sys_entry {
	const char *name;
	int nr;
};

static const struct sys_entry by_name[] = {
#include "sysnums.inc"
};

static int entry_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct sys_entry *)e)->name);
}

int sys_number(const char *name)
{
	const struct sys_entry *e = bsearch(name, by_name, sizeof by_name / sizeof by_name[0], sizeof by_name[0],
					    entry_cmp);
	return e ? e->nr : -1;
}
