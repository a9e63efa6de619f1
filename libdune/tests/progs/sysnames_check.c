/* The generated syscall table names calls by the numbers the C library's headers give
 * them (the table and those headers come from the same kernel UAPI headers). */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "sysnames.h"

int main(void)
{
	int bad = 0, named = 0;
	for (int nr = 0; nr < SYSCALL_MAX; nr++)
		named += sys_name(nr) != NULL;
	struct {
		const char *name;
		int nr;
	} known[] = { { "read", SYS_read },     { "_sysctl", SYS__sysctl }, { "accept", SYS_accept },
		      { "getpid", SYS_getpid }, { "writev", SYS_writev },   { "clone3", SYS_clone3 },
		      { "mount", SYS_mount },   { "rseq", SYS_rseq },       { "faccessat2", SYS_faccessat2 } };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		const char *n = sys_name(known[i].nr);
		if (!n || strcmp(n, known[i].name)) {
			printf("sys_name(%d) = %s, want %s\n", known[i].nr, n ? n : "NULL", known[i].name);
			bad++;
		}
	}
	static const int unnamed[] = { -1, 335, SYSCALL_MAX, 100000 }; /* 335: a hole in the x86-64 table */
	for (size_t i = 0; i < sizeof unnamed / sizeof unnamed[0]; i++)
		if (sys_name(unnamed[i])) {
			printf("sys_name(%d) = %s, want NULL\n", unnamed[i], sys_name(unnamed[i]));
			bad++;
		}
	if (named < 300) {
		printf("only %d names\n", named);
		bad++;
	}
	printf("%d wrong\n", bad);
	return bad ? 1 : 0;
}
