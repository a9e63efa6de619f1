/* Exec-fifo handshake and the final execve. */
#include "exec.h"
#include "inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int op_fifo_open(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	/* O_PATH does not block on a fifo; the real open happens in FIFO_WAIT. */
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return ctx_fail(c, errno, "%s", path);
	if (c->fifo_fd >= 0)
		close(c->fifo_fd);
	c->fifo_fd = fd;
	return STEP_OK;
}

int op_fifo_wait(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	if (c->fifo_fd < 0)
		return ctx_fail(c, EBADF, "exec fifo (no FIFO_OPEN before)");
	char buf[FD_PATH_MAX];
	/* Reopening through /proc needs no path into the state directory, which the
	 * root switch made unreachable. Blocks until `dune start` opens it for reading. */
	int fd;
	do
		fd = open(fd_path(c->fifo_fd, buf), O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return ctx_fail(c, errno, "exec fifo (%s)", buf);
	ssize_t n;
	do
		n = write(fd, "0", 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	/* The write end stays open (close-on-exec): `dune start` waits for it to close,
	 * which happens at EXEC, so poststart hooks run after the program started. */
	close(c->fifo_fd);
	c->fifo_fd = -1;
	if (n != 1) {
		close(fd);
		return ctx_fail(c, n < 0 ? e : EIO, "exec fifo (write)");
	}
	return STEP_OK;
}

/* A regular file we may execute. */
static int is_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return access(path, X_OK);
}

static int keep_exec_path(struct init_ctx *c, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	free(c->exec_path);
	c->exec_path = copy;
	return 0;
}

int op_resolve_exec(struct init_ctx *c, const struct plan_msg *s)
{
	const char *file = plan_str(s, 0), *pathvar = plan_str(s, 1);
	if (!*file)
		return ctx_fail(c, ENOENT, "%s", file);
	if (strchr(file, '/')) {
		if (is_executable(file) < 0)
			return ctx_fail(c, errno, "%s", file);
		if (keep_exec_path(c, file) < 0)
			return ctx_fail(c, errno, "%s", file);
		return STEP_OK;
	}
	const char *p = pathvar;
	for (;;) {
		const char *end = strchrnul(p, ':');
		int n = (int)(end - p);
		char cand[PATH_MAX];
		/* An empty PATH entry means the current directory, as in execvp. */
		const char *dir = n ? p : ".";
		int dlen = n ? n : 1;
		if (snprintf(cand, sizeof(cand), "%.*s/%s", dlen, dir, file) < (int)sizeof(cand) &&
		    is_executable(cand) == 0) {
			if (keep_exec_path(c, cand) < 0)
				return ctx_fail(c, errno, "%s", file);
			return STEP_OK;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	return ctx_fail(c, ENOENT, "%s", file);
}

int op_ready(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	if (c->plan_fd < 0)
		return ctx_fail(c, EBADF, "plan socket closed");
	if (plan_send_ready(c->plan_fd) < 0)
		return ctx_fail(c, errno, "plan socket");
	return STEP_OK;
}

int exec_vectors(struct init_ctx *c, const struct plan_msg *s, uint32_t first, char ***argv, char ***envp,
		 uint64_t *argc)
{
	uint64_t n = plan_u64(s, first);
	if (n == 0 || n > s->nargs - first - 1u)
		return ctx_fail(c, EINVAL, "argc %llu but %u strings", (unsigned long long)n, s->nargs - first - 1u);
	if (!c->exec_path)
		return ctx_fail(c, EINVAL, "%s (no RESOLVE_EXEC before the exec)", plan_str(s, first + 1));
	size_t nenv = s->nargs - first - 1u - (size_t)n;
	*argv = calloc((size_t)n + 1, sizeof(char *));
	*envp = calloc(nenv + 1, sizeof(char *));
	if (!*argv || !*envp)
		return ctx_fail(c, errno, "%s", c->exec_path);
	for (uint64_t i = 0; i < n; i++)
		(*argv)[i] = s->args[first + 1 + i].data;
	for (size_t i = 0; i < nenv; i++)
		(*envp)[i] = s->args[first + 1 + n + i].data;
	*argc = n;
	return STEP_OK;
}

int op_exec(struct init_ctx *c, const struct plan_msg *s)
{
	char **argv, **envp;
	uint64_t argc;
	if (exec_vectors(c, s, 0, &argv, &envp, &argc) != STEP_OK)
		return STEP_FAILED;
	execve(c->exec_path, argv, envp);
	int e = errno;
	free(argv);
	free(envp);
	return ctx_fail(c, e, "%s", c->exec_path);
}

int op_close_socket(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	if (c->plan_fd >= 0)
		close(c->plan_fd);
	c->plan_fd = -1;
	return STEP_OK;
}
