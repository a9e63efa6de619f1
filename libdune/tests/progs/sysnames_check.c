/* Name <-> number lookups of the syscall table (policy names resolve
 * through them): every kernel name finds its own number, near misses
 * find nothing, and the built-in policy resolves as before. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "policy.h"
#include "sysnames.h"

int main(void)
{
	int bad = 0, named = 0;
	for (int nr = 0; nr < SYSCALL_MAX; nr++) {
		const char *n = sys_name(nr);
		if (!n)
			continue;
		named++;
		if (sys_number(n) != nr) {
			printf("sys_number(\"%s\") = %d, want %d\n", n, sys_number(n), nr);
			bad++;
		}
	}
	static const char *const unknown[] = { "", "rea", "readd", "Read", "getpid ", "zzz", "_", "accept5", "a" };
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		if (sys_number(unknown[i]) != -1) {
			printf("sys_number(\"%s\") = %d, want -1\n", unknown[i], sys_number(unknown[i]));
			bad++;
		}
	struct {
		const char *name;
		int nr;
	} known[] = { { "read", SYS_read }, { "_sysctl", SYS__sysctl }, { "accept", SYS_accept },
		      { "getpid", SYS_getpid }, { "writev", SYS_writev }, { "clone3", SYS_clone3 } };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (sys_number(known[i].name) != known[i].nr) {
			printf("sys_number(\"%s\") = %d, want %d\n", known[i].name, sys_number(known[i].name), known[i].nr);
			bad++;
		}
	struct policy *p;
	char err[256];
	if (policy_default(&p, err, sizeof err) < 0) {
		printf("built-in policy: %s\n", err);
		return 1;
	}
	int allowed = 0;
	for (int nr = 0; nr < SYSCALL_MAX; nr++)
		allowed += p->rules[nr] != NULL;
	if (!p->rules[SYS_getpid] || !p->rules[SYS_personality] || !p->rules[SYS_clone3] || p->rules[SYS_mount] ||
	    p->rules[SYS_kexec_load]) {
		printf("built-in policy: wrong rule set\n");
		bad++;
	}
	printf("%d names, %d calls with rules in the built-in policy, %d wrong\n", named, allowed, bad);
	return bad ? 1 : 0;
}
