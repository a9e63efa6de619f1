/* Hook steps. */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int op_sync(struct init_ctx *c, const struct plan_msg *s)
{
	const char *name = plan_str(s, 0);
	if (c->plan_fd < 0)
		return ctx_fail(c, EBADF, "%s (plan socket closed)", name);
	if (plan_send_sync(c->plan_fd, name) < 0)
		return ctx_fail(c, errno, "%s", name);
	struct plan_msg m;
	int rc = plan_recv_msg(c->plan_fd, &m);
	if (rc != 0)
		return ctx_fail(c, rc > 0 ? ECONNRESET : errno, "%s (waiting for CONTINUE)", name);
	if (m.kind != KIND_CONTINUE || m.nargs < 1) {
		plan_msg_free(&m);
		return ctx_fail(c, EPROTO, "%s (expected CONTINUE with the state)", name);
	}
	plan_msg_free(&c->states);
	c->states = m; /* keep every state document; hooks get the first until SELECT_STATE */
	c->state = c->states.args[0].data;
	c->state_len = c->states.args[0].len;
	return STEP_OK;
}

int op_select_state(struct init_ctx *c, const struct plan_msg *s)
{
	uint64_t i = plan_u64(s, 0);
	if (i >= c->states.nargs)
		return ctx_fail(c, EINVAL, "state %llu (CONTINUE carried %u)", (unsigned long long)i, c->states.nargs);
	c->state = c->states.args[i].data;
	c->state_len = c->states.args[i].len;
	return STEP_OK;
}

/* The state in a memfd rather than a pipe: a hook that never reads stdin cannot block us,
 * whatever the state's size. */
static int state_fd(const struct init_ctx *c)
{
	int fd = memfd_create("dune-hook-state", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < c->state_len) {
		ssize_t n = write(fd, c->state + off, c->state_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What a hook wrote (stdout or stderr), kept for the failure report as runc does. */
static int output_fd(void)
{
	return memfd_create("dune-hook-output", MFD_CLOEXEC);
}

/* The first bytes of a hook's output, NUL-terminated (empty if unreadable). */
static void read_output(int fd, char *buf, size_t size)
{
	ssize_t n = fd >= 0 ? pread(fd, buf, size - 1, 0) : -1;
	buf[n > 0 ? n : 0] = '\0';
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid; kills it once timeout_ms (if >= 0) has passed. Returns 0 with the
 * wait status, 1 on timeout (the hook is killed and reaped), -1 on error. */
static int wait_hook(pid_t pid, long long timeout_ms, int *status)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, status, timeout_ms >= 0 ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			if (pfd >= 0)
				close(pfd);
			return -1;
		}
		if (r == 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				kill(pid, SIGKILL);
				while (waitpid(pid, status, 0) < 0 && errno == EINTR)
					;
				if (pfd >= 0)
					close(pfd);
				return 1;
			}
			/* pidfd becomes readable when the hook exits; without pidfd, poll in slices. */
			if (pfd >= 0) {
				struct pollfd p = { .fd = pfd, .events = POLLIN };
				poll(&p, 1, (int)(left > 1000 ? 1000 : left));
			} else {
				struct timespec ts = { 0, 10 * 1000000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	if (pfd >= 0)
		close(pfd);
	return 0;
}

int op_run_hook(struct init_ctx *c, const struct plan_msg *s)
{
	const char *label = plan_str(s, 0), *path = plan_str(s, 1);
	uint64_t timeout = plan_u64(s, 2), argc = plan_u64(s, 3);
	if (argc > s->nargs - 4u)
		return ctx_fail(c, EINVAL, "hook %s: argc %llu but %u strings", path,
				(unsigned long long)argc, s->nargs - 4u);
	size_t nenv = s->nargs - 4u - (size_t)argc;
	char **argv = calloc((size_t)argc + 1, sizeof(char *));
	char **envp = calloc(nenv + 1, sizeof(char *));
	int in = state_fd(c), out = output_fd(), err = output_fd();
	int rc = STEP_OK;
	if (!argv || !envp || in < 0 || out < 0 || err < 0) {
		rc = ctx_fail(c, errno, "hook %s", path);
		goto out;
	}
	for (uint64_t i = 0; i < argc; i++)
		argv[i] = s->args[4 + i].data;
	for (size_t i = 0; i < nenv; i++)
		envp[i] = s->args[4 + argc + i].data;

	/* The child reports a failed execve's errno here; a successful one closes it. */
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = ctx_fail(c, errno, "hook %s (pipe)", path);
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = ctx_fail(c, errno, "hook %s (fork)", path);
		close(ep[0]);
		close(ep[1]);
		goto out;
	}
	if (pid == 0) {
		close(ep[0]);
		int e = EBADF;
		if (dup2(in, 0) >= 0 && dup2(out, 1) >= 0 && dup2(err, 2) >= 0) {
			execve(path, argv, envp);
			e = errno;
		}
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(ep[1]);
	int exec_err = 0;
	ssize_t en;
	do
		en = read(ep[0], &exec_err, sizeof(exec_err));
	while (en < 0 && errno == EINTR);
	close(ep[0]);
	int status = 0;
	int w = wait_hook(pid, timeout ? (long long)timeout * 1000 : -1, &status);
	if (en == (ssize_t)sizeof(exec_err))
		rc = ctx_fail(c, exec_err, "hook %s (exec)", path);
	else if (w < 0)
		rc = ctx_fail(c, errno, "hook %s (wait)", path);
	else if (w > 0)
		rc = ctx_fail(c, ETIMEDOUT, "hook %s timed out after %llu s", path, (unsigned long long)timeout);
	else if ((WIFEXITED(status) && WEXITSTATUS(status) != 0) || WIFSIGNALED(status)) {
		char o[1024], e[1024], how[64];
		read_output(out, o, sizeof(o));
		read_output(err, e, sizeof(e));
		if (WIFEXITED(status))
			snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
		else
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
		/* runc's wording where the plan names the hook ("createContainer hook #1"). */
		if (*label)
			rc = ctx_fail(c, ECANCELED, "error running %s: %s %s, stdout: %s, stderr: %s", label, path, how, o, e);
		else
			rc = ctx_fail(c, ECANCELED, "hook %s %s, stdout: %s, stderr: %s", path, how, o, e);
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	free(argv);
	free(envp);
	return rc;
}
