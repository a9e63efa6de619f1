/* The state dune-init carries from step to step, and how a step reports its failure. */
#ifndef DUNE_CONTEXT_H
#define DUNE_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "plan.h"

#define DETAIL_MAX 4352

struct init_ctx {
	int plan_fd;          /* -1 once closed (CLOSE_SOCKET) */
	const struct plan *plan;
	size_t step;          /* index of the running step */
	char *root_path;      /* ROOTFS path, reopened for each "in rootfs" lookup */
	int no_openat2;       /* openat2 returned ENOSYS once: use the fallback resolver */
	int fifo_fd;          /* FIFO_OPEN's O_PATH fd, or -1 */
	int moved_fd;         /* child: read end the parent reports "moved into the cgroup" on, or -1 */
	struct plan_msg states; /* CONTINUE's state JSON documents for hooks */
	const char *state;    /* the one RUN_HOOK passes now (SELECT_STATE; the first by default) */
	size_t state_len;
	char *exec_path;      /* RESOLVE_EXEC's result */
	struct dune_fds {     /* DUNE_OPEN: what DUNE_EXEC hands to dune-run (-1: none) */
		int run, kvm, policy, stats, trace;
	} dune;
	struct mount_tree {   /* OPEN_TREE: detached copies of bind sources, by source path */
		char *source;
		int fd;       /* -1 once MOUNT moved it into place */
	} *trees;
	size_t ntrees;
	int cwd_deferred;     /* CHDIR phase 1 was refused for lack of permission */
	int in_child;         /* after CLONE, in the container process */
	/* Failure of the running step. */
	int err;
	char detail[DETAIL_MAX];
};

/* What a step handler returns. */
enum step_result {
	STEP_FAILED = -1,
	STEP_OK = 0,
	STEP_PARENT_DONE = 1, /* CLONE in the parent: dune-init's work is finished */
};

void ctx_init(struct init_ctx *c, int plan_fd, const struct plan *plan);

/* Records err and a printf-style detail for the running step; returns STEP_FAILED. */
int ctx_fail(struct init_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
