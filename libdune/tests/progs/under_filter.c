/* under_filter PROGRAM ARGS...: runs PROGRAM under a kernel seccomp filter that allows every
 * call, with no listener: what a Dune process whose policy notifies sees underneath when the
 * runtime is not there to give the notifications to an agent (run_tests.c, SCMP_ACT_NOTIFY). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: under_filter PROGRAM ARGS...\n");
		return 2;
	}
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = allow };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("under_filter: seccomp");
		return 2;
	}
	execv(argv[1], &argv[1]);
	perror(argv[1]);
	return 127;
}
