/* policy-verdicts POLICY: the monitor's policy check (src/policy.c, src/json.c) on the
 * host, without KVM, for the differential test against the runtime's kernel filter
 * (oci/Dune.Oci.Tests/Seccomp/MonitorPolicyDifferentialTests.cs). Reads cases from stdin,
 * one a line: "nr arg0 arg1 arg2 arg3 arg4 arg5" (strtoull bases); prints one line per
 * case: the verdict as the seccomp filter return value it stands for, in hex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static unsigned ret_value(struct pol_verdict v)
{
	unsigned data = (unsigned)v.errno_ret & 0xffff;
	switch (v.action) {
	case ACT_ALLOW: return 0x7fff0000;
	case ACT_ERRNO: return 0x00050000 | data;
	case ACT_KILL_THREAD: return 0x00000000;
	case ACT_KILL_PROCESS: return 0x80000000;
	case ACT_TRAP: return 0x00030000 | data;
	case ACT_LOG: return 0x7ffc0000;
	case ACT_TRACE: return 0x7ff00000 | data;
	case ACT_NOTIFY: return 0x7fc00000;
	}
	return 0xffffffff;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: policy-verdicts POLICY < cases\n");
		return 2;
	}
	char *text = read_file(argv[1]);
	if (!text) {
		fprintf(stderr, "policy-verdicts: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	struct policy *p;
	char err[512];
	if (policy_load(&p, text, err, sizeof err) < 0) {
		fprintf(stderr, "policy-verdicts: %s: %s\n", argv[1], err);
		return 2;
	}
	free(text);
	char line[512];
	while (fgets(line, sizeof line, stdin)) {
		char *s = line, *end;
		long nr = strtol(s, &end, 0);
		if (end == s)
			continue;
		uint64_t args[6] = { 0 };
		for (int i = 0; i < 6; i++) {
			s = end;
			args[i] = strtoull(s, &end, 0);
			if (end == s) {
				fprintf(stderr, "policy-verdicts: bad case: %s", line);
				return 2;
			}
		}
		printf("0x%08x\n", ret_value(policy_check(p, (int)nr, args)));
	}
	policy_free(p);
	return 0;
}
