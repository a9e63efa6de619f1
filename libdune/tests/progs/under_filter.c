/* under_filter [--only NR,NR,...] PROGRAM ARGS...: runs PROGRAM under a kernel seccomp filter.
 * Without --only it allows every call, with no listener: what a Dune process whose policy
 * notifies sees underneath when the runtime is not there to give the notifications to an
 * agent (run_tests.c, SCMP_ACT_NOTIFY). With --only it allows exactly the listed x86-64
 * numbers and kills the process (SCMP_ACT_KILL_PROCESS) for any other call or ABI: the
 * check of libdune/monitor-calls.txt (run_tests.c, "monitor calls"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ALLOWED 1024

extern char **environ;

/* ld arch; not x86-64: kill; ld nr; per number: jeq -> allow; kill. */
static int only_filter(const char *list, struct sock_filter *f, unsigned short *len)
{
	unsigned n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (const char *s = list; *s;) {
		char *end;
		unsigned long nr = strtoul(s, &end, 10);
		if (end == s || n + 3 > 2 * MAX_ALLOWED)
			return -1;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		s = *end == ',' ? end + 1 : end;
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	*len = (unsigned short)n;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sock_filter filter[2 * MAX_ALLOWED];
	struct sock_fprog prog = { .len = 1, .filter = filter };
	int first = 1;
	filter[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	if (argc > 2 && !strcmp(argv[1], "--only")) {
		if (only_filter(argv[2], filter, &prog.len) < 0) {
			fprintf(stderr, "under_filter: bad --only list\n");
			return 2;
		}
		first = 3;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: under_filter [--only NR,NR,...] PROGRAM ARGS...\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("under_filter: seccomp");
		return 2;
	}
	/* As dune-init starts dune-run: execveat on a descriptor (the filter allows it for the monitor). */
	int fd = open(argv[first], O_PATH | O_CLOEXEC);
	if (fd >= 0)
		syscall(SYS_execveat, fd, "", &argv[first], environ, AT_EMPTY_PATH);
	perror(argv[first]);
	return 127;
}
