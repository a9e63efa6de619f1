/* Op table, argument checking and the step loop. */
#include "steps.h"
#include "attrs.h"
#include "console.h"
#include "dune_mode.h"
#include "exec.h"
#include "hooks.h"
#include "ns.h"
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

struct op_desc {
	const char *name;
	/* Argument kinds in order: 'u' = u64 (8 bytes), 's' = bytes; a final '*' allows
	 * any further arguments, which the handler checks. */
	const char *sig;
	int (*run)(struct init_ctx *c, const struct plan_msg *s);
};

static const struct op_desc ops[OP_LAST + 1] = {
	[OP_SETNS] = { "setns", "us", op_setns },
	[OP_JOIN_CGROUP] = { "join-cgroup", "s*", op_join_cgroup },
	[OP_UNSHARE] = { "unshare", "u", op_unshare },
	[OP_WRITE_FILE] = { "write-file", "ss", op_write_file },
	[OP_CLONE] = { "clone", "uss*", op_clone },
	[OP_SETHOSTNAME] = { "sethostname", "s", op_sethostname },
	[OP_SETDOMAINNAME] = { "setdomainname", "s", op_setdomainname },
	[OP_ROOTFS] = { "rootfs", "s", op_rootfs },
	[OP_MOUNT] = { "mount", "sssusu", op_mount },
	[OP_MKNOD] = { "mknod", "suuuu", op_mknod },
	[OP_SYMLINK] = { "symlink", "ss", op_symlink },
	[OP_SYNC] = { "sync", "s", op_sync },
	[OP_RUN_HOOK] = { "run-hook", "ssuu*", op_run_hook },
	[OP_PIVOT_ROOT] = { "pivot-root", "s", op_pivot_root },
	[OP_CHROOT_MOVE] = { "chroot-move", "s", op_chroot_move },
	[OP_MASK_PATH] = { "mask-path", "s", op_mask_path },
	[OP_READONLY_PATH] = { "readonly-path", "s", op_readonly_path },
	[OP_RLIMIT] = { "rlimit", "uuu", op_rlimit },
	[OP_CONSOLE] = { "console", "uuu", op_console },
	[OP_SETSID] = { "setsid", "", op_setsid },
	[OP_NO_NEW_PRIVS] = { "no-new-privs", "", op_no_new_privs },
	[OP_UMASK] = { "umask", "u", op_umask },
	[OP_CAP_BOUNDING] = { "cap-bounding", "u", op_cap_bounding },
	[OP_SET_USER] = { "set-user", "uuu*", op_set_user },
	[OP_CAPS] = { "caps", "uuuu", op_caps },
	[OP_SECCOMP] = { "seccomp", "su", op_seccomp },
	[OP_FIFO_OPEN] = { "fifo-open", "s", op_fifo_open },
	[OP_FIFO_WAIT] = { "fifo-wait", "", op_fifo_wait },
	[OP_CHDIR] = { "chdir", "su", op_chdir },
	[OP_RESOLVE_EXEC] = { "resolve-exec", "ss", op_resolve_exec },
	[OP_READY] = { "ready", "", op_ready },
	[OP_EXEC] = { "exec", "u*", op_exec },
	[OP_NEW_KEYRING] = { "new-keyring", "s", op_new_keyring },
	[OP_CLOSE_SOCKET] = { "close-socket", "", op_close_socket },
	[OP_PERSONALITY] = { "personality", "u", op_personality },
	[OP_DUNE_EXEC] = { "dune-exec", "u*", op_dune_exec },
	[OP_DUNE_OPEN] = { "dune-open", "sssss", op_dune_open },
	[OP_CGROUP_WAIT] = { "cgroup-wait", "u", op_cgroup_wait },
	[OP_LOOPBACK_UP] = { "loopback-up", "", op_loopback_up },
	[OP_SELECT_STATE] = { "select-state", "u", op_select_state },
	[OP_MOUNT_SETATTR] = { "mount-setattr", "suu", op_mount_setattr },
	[OP_CHROOT] = { "chroot", "s", op_chroot },
	[OP_PARENT_PRIVATE] = { "parent-private", "s", op_parent_private },
	[OP_OPEN_TREE] = { "open-tree", "su", op_open_tree },
};

static const struct op_desc *lookup(uint32_t op)
{
	if (op == 0 || op > OP_LAST || !ops[op].run)
		return NULL;
	return &ops[op];
}

const char *steps_op_name(uint32_t op, char buf[16])
{
	const struct op_desc *d = lookup(op);
	if (d)
		return d->name;
	snprintf(buf, 16, "op-%u", op);
	return buf;
}

/* Checks the arguments against the op's signature. */
static int check_args(const struct op_desc *d, const struct plan_msg *s)
{
	uint32_t i = 0;
	for (const char *k = d->sig; *k; k++, i++) {
		if (*k == '*')
			return 0;
		if (i >= s->nargs)
			return -1;
		if (*k == 'u' && s->args[i].len != 8)
			return -1;
	}
	return i == s->nargs ? 0 : -1;
}

int steps_run(struct init_ctx *c)
{
	for (c->step = 0; c->step < c->plan->nsteps; c->step++) {
		const struct plan_msg *s = &c->plan->steps[c->step];
		const struct op_desc *d = lookup(s->op);
		if (!d)
			return ctx_fail(c, EINVAL, "unknown op %u", s->op);
		if (check_args(d, s) < 0)
			return ctx_fail(c, EINVAL, "%u arguments do not match the op's signature", s->nargs);
		int rc = d->run(c, s);
		if (rc != STEP_OK)
			return rc;
	}
	return STEP_OK;
}
