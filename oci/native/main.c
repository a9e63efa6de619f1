/* dune-init: receives a setup plan from dune over the socket named by argv[1] and
 * applies it (docs/setup-plan.md). Single-threaded on purpose: unshare(CLONE_NEWUSER)
 * and setns into a mount namespace refuse multi-threaded callers. */
#include "context.h"
#include "plan.h"
#include "steps.h"
#include "self_image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int parse_fd(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1 << 20)
		return -1;
	return (int)v;
}

/* The caller is a .NET process that ignores SIGPIPE and may block signals; ignored
 * dispositions and the mask survive execve, so start the container from a clean state.
 * The raw syscall also reaches signals 32 and 33, which glibc's signal() refuses. */
static void reset_signals(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} dfl = { .handler = SIG_DFL };
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dune-init <plan-socket-fd>\n");
		return 1;
	}
	/* Never the host binary while the container can see this process
	 * (/proc/PID/exe, as in CVE-2019-5736): run from a sealed private copy. */
	char err[200];
	int self = self_image_ensure("dune-init", argv, environ, err, sizeof err);
	if (self < 0) {
		fprintf(stderr, "dune-init: %s\n", err);
		return 1;
	}
	close(self);
	int fd = parse_fd(argv[1]);
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
		fprintf(stderr, "dune-init: plan socket %s: %s\n", argv[1], fd < 0 ? "not an fd number" : strerror(errno));
		return 1;
	}

	reset_signals();
	/* Everything from the plan socket up (fds the caller left open by accident, from its own
	 * caller) must not reach the container: only 0-2 and the --preserve-fds range below it. */
	if (syscall(SYS_close_range, (unsigned)fd, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		fprintf(stderr, "dune-init: close_range: %s\n", strerror(errno));
		return 1;
	}

	struct plan plan;
	if (plan_recv(fd, &plan) < 0) {
		int e = errno;
		plan_send_error(fd, 0, plan.nsteps, e, "plan");
		fprintf(stderr, "dune-init: plan: %s\n", strerror(e));
		return 1;
	}

	struct init_ctx c;
	ctx_init(&c, fd, &plan);
	int rc = steps_run(&c);
	if (rc == STEP_PARENT_DONE)
		return 0;
	if (rc == STEP_OK)
		return 0;

	const struct plan_msg *s = &plan.steps[c.step];
	char buf[16];
	if (c.plan_fd >= 0)
		plan_send_error(c.plan_fd, s->op, c.step, c.err, c.detail);
	fprintf(stderr, "dune-init: %s %s: %s\n", steps_op_name(s->op, buf), c.detail, strerror(c.err));
	/* A failed EXEC exits 127 like a shell; every other failure exits 1. */
	return s->op == OP_EXEC ? 127 : 1;
}
