/* Dune mode steps. */
#include "dune_mode.h"
#include "exec.h"
#include "self_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Opens path (empty: none) close-on-exec; DUNE_EXEC clears the flag on the ones it hands on. */
static int open_opt(struct init_ctx *c, const char *path, int flags, int *fd)
{
	if (!*path)
		return STEP_OK;
	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0)
		return ctx_fail(c, errno, "%s", path);
	return STEP_OK;
}

int op_dune_open(struct init_ctx *c, const struct plan_msg *s)
{
	/* dune-run itself is not in the container's root filesystem: executed through a
	 * sealed private copy, so the host binary is never what a container process runs. */
	int image = -1;
	if (open_opt(c, plan_str(s, 0), O_RDONLY, &image) != STEP_OK)
		return STEP_FAILED;
	if (image >= 0) {
		char err[160];
		c->dune.run = self_image_copy(image, "dune-run", err, sizeof err);
		close(image);
		if (c->dune.run < 0)
			return ctx_fail(c, -c->dune.run, "dune-run (%s)", err);
	}
	if (open_opt(c, plan_str(s, 1), O_RDWR, &c->dune.kvm) != STEP_OK ||
	    open_opt(c, plan_str(s, 2), O_RDONLY, &c->dune.policy) != STEP_OK ||
	    open_opt(c, plan_str(s, 3), O_RDWR, &c->dune.stats) != STEP_OK ||
	    open_opt(c, plan_str(s, 4), O_WRONLY | O_APPEND, &c->dune.trace) != STEP_OK)
		return STEP_FAILED;
	if (c->dune.run < 0)
		return ctx_fail(c, EINVAL, "dune-run (no path)");
	return STEP_OK;
}

/* dune-run's command line: fd options, then the program. */
struct dune_argv {
	char **v;
	size_t n;
	char nums[4][16];
	size_t nnums;
};

/* Adds "--name N" and makes fd N inheritable; nothing when fd is -1. */
static int pass_fd(struct dune_argv *a, const char *name, int fd)
{
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_SETFD, 0) < 0)
		return -1;
	char *num = a->nums[a->nnums++];
	snprintf(num, sizeof(a->nums[0]), "%d", fd);
	a->v[a->n++] = (char *)name;
	a->v[a->n++] = num;
	return 0;
}

int op_dune_exec(struct init_ctx *c, const struct plan_msg *s)
{
	/* bit 0: trace every filtered call; bit 1: no fast calls; bit 2: no in-kernel calls (module) */
	uint64_t flags = plan_u64(s, 0);
	char **argv, **envp;
	uint64_t argc;
	if (c->dune.run < 0)
		return ctx_fail(c, EINVAL, "dune-run (no DUNE_OPEN before DUNE_EXEC)");
	if (exec_vectors(c, s, 1, &argv, &envp, &argc) != STEP_OK)
		return STEP_FAILED;
	/* dune-run [fd options] [--trace] [--no-fastcall] [--no-kernel-syscalls] --argv0 ARGV0 --
	 * PROGRAM ARGS...; --kvm-fd is /dev/kvm or /dev/dune: dune-run picks the backend by it. */
	struct dune_argv a = { .v = calloc((size_t)argc + 18, sizeof(char *)) };
	if (!a.v)
		return ctx_fail(c, errno, "%s", c->exec_path);
	a.v[a.n++] = "dune-run";
	if (pass_fd(&a, "--kvm-fd", c->dune.kvm) < 0 || pass_fd(&a, "--policy-fd", c->dune.policy) < 0 ||
	    pass_fd(&a, "--container-stats-fd", c->dune.stats) < 0 || pass_fd(&a, "--trace-fd", c->dune.trace) < 0) {
		free(a.v);
		return ctx_fail(c, errno, "%s", c->exec_path);
	}
	if ((flags & 1) && c->dune.trace < 0)
		a.v[a.n++] = "--trace";
	if (flags & 2)
		a.v[a.n++] = "--no-fastcall";
	if (flags & 4)
		a.v[a.n++] = "--no-kernel-syscalls";
	a.v[a.n++] = "--argv0";
	a.v[a.n++] = argv[0];
	a.v[a.n++] = "--";
	a.v[a.n++] = c->exec_path;
	for (uint64_t i = 1; i < argc; i++)
		a.v[a.n++] = argv[i];
	a.v[a.n] = NULL;
	execveat(c->dune.run, "", a.v, envp, AT_EMPTY_PATH);
	int e = errno;
	free(a.v);
	free(argv);
	free(envp);
	return ctx_fail(c, e, "dune-run for %s", c->exec_path);
}
