/* Process attribute steps. Capabilities use the raw capget/capset ABI (no libcap). */
#include "attrs.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int op_rlimit(struct init_ctx *c, const struct plan_msg *s)
{
	int res = (int)plan_u64(s, 0);
	struct rlimit rl = { .rlim_cur = plan_u64(s, 1), .rlim_max = plan_u64(s, 2) };
	if (setrlimit(res, &rl) < 0)
		return ctx_fail(c, errno, "resource %d (soft %llu, hard %llu)", res,
				(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	return STEP_OK;
}

int op_cap_bounding(struct init_ctx *c, const struct plan_msg *s)
{
	uint64_t keep = plan_u64(s, 0);
	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last capability. */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return ctx_fail(c, errno, "capability %d", cap);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return ctx_fail(c, errno, "PR_SET_KEEPCAPS");
	return STEP_OK;
}

/* As runc: the stdio the process gets (its pty, the caller's pipes) becomes the new user's,
 * the group kept (devpts gives the pty group "tty"); /dev/null is left alone, and so is what
 * this user namespace cannot chown (EINVAL: the group is unmapped; EPERM: the owner is). */
static int chown_stdio(struct init_ctx *c, uid_t uid)
{
	struct stat null;
	int have_null = stat("/dev/null", &null) == 0;
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			return ctx_fail(c, errno, "fd %d (stat)", fd);
		}
		if (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev)
			continue;
		if (st.st_uid == uid)
			continue;
		if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
			return ctx_fail(c, errno, "fd %d (chown to uid %u)", fd, uid);
	}
	return STEP_OK;
}

int op_set_user(struct init_ctx *c, const struct plan_msg *s)
{
	uid_t uid = (uid_t)plan_u64(s, 0);
	gid_t gid = (gid_t)plan_u64(s, 1);
	uint64_t n = plan_u64(s, 2);
	if (n != s->nargs - 3u)
		return ctx_fail(c, EINVAL, "ngroups %llu but %u groups given", (unsigned long long)n, s->nargs - 3u);
	if (chown_stdio(c, uid) != STEP_OK)
		return STEP_FAILED;
	gid_t *groups = calloc(n ? n : 1, sizeof(*groups));
	if (!groups)
		return ctx_fail(c, errno, "groups");
	for (uint64_t i = 0; i < n; i++) {
		if (!plan_is_u64(s, (uint32_t)(3 + i))) {
			free(groups);
			return ctx_fail(c, EINVAL, "group %llu is not a u64", (unsigned long long)i);
		}
		groups[i] = (gid_t)plan_u64(s, (uint32_t)(3 + i));
	}
	int r = setgroups(n, groups);
	int e = errno;
	free(groups);
	/* No groups to set and setgroups denied in this user namespace: nothing to do. */
	if (r < 0 && !(n == 0 && e == EPERM))
		return ctx_fail(c, e, "setgroups (%llu groups)", (unsigned long long)n);
	if (setresgid(gid, gid, gid) < 0)
		return ctx_fail(c, errno, "gid %u", gid);
	if (setresuid(uid, uid, uid) < 0)
		return ctx_fail(c, errno, "uid %u", uid);
	return STEP_OK;
}

int op_caps(struct init_ctx *c, const struct plan_msg *s)
{
	uint64_t eff = plan_u64(s, 0), perm = plan_u64(s, 1), inh = plan_u64(s, 2), amb = plan_u64(s, 3);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return ctx_fail(c, errno, "capset effective 0x%llx permitted 0x%llx inheritable 0x%llx",
				(unsigned long long)eff, (unsigned long long)perm, (unsigned long long)inh);
	for (int cap = 0; cap < 64; cap++)
		if ((amb & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return ctx_fail(c, errno, "ambient capability %d", cap);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return ctx_fail(c, errno, "PR_SET_KEEPCAPS");
	return STEP_OK;
}

int op_umask(struct init_ctx *c, const struct plan_msg *s)
{
	(void)c;
	umask((mode_t)plan_u64(s, 0) & 0777);
	return STEP_OK;
}

int op_no_new_privs(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return ctx_fail(c, errno, "PR_SET_NO_NEW_PRIVS");
	return STEP_OK;
}

int op_personality(struct init_ctx *c, const struct plan_msg *s)
{
	unsigned long p = (unsigned long)plan_u64(s, 0);
	if (personality(p) < 0)
		return ctx_fail(c, errno, "persona 0x%lx", p);
	return STEP_OK;
}

int op_setsid(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	if (setsid() < 0)
		return ctx_fail(c, errno, "setsid");
	return STEP_OK;
}

int op_chdir(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	uint64_t phase = plan_u64(s, 1);
	if (phase == 2 && !c->cwd_deferred)
		return STEP_OK; /* phase 1 got there */
	if (chdir(path) < 0) {
		/* runc's rule: a directory the runtime may not enter is tried again as the
		 * container's user, who may own it. */
		if (phase == 1 && (errno == EACCES || errno == EPERM)) {
			c->cwd_deferred = 1;
			return STEP_OK;
		}
		return ctx_fail(c, errno, "%s", path);
	}
	c->cwd_deferred = 0;
	return STEP_OK;
}

/* The filter's notification descriptor goes to the seccomp agent through dune, which takes
 * a copy with pidfd_getfd (as runc does: the only call made here before the agent can answer
 * notifications is the write of SECCOMP_FD). Waits for CONTINUE (dune has sent it on), then
 * closes it: no copy stays here, so the program exec'd later cannot answer its own
 * notifications. A notified recv or close meanwhile is answered by the agent. */
static int hand_over_listener(struct init_ctx *c, int listener)
{
	if (c->plan_fd < 0) {
		close(listener);
		return ctx_fail(c, EBADF, "seccomp notification descriptor (plan socket closed)");
	}
	if (plan_send_seccomp_fd(c->plan_fd, listener) < 0) {
		int e = errno;
		close(listener);
		return ctx_fail(c, e, "seccomp notification descriptor (reporting it to dune)");
	}
	struct plan_msg m;
	int rc = plan_recv_msg(c->plan_fd, &m);
	int e = rc > 0 ? ECONNRESET : errno;
	close(listener);
	if (rc != 0)
		/* dune reports why (the agent could not be reached) and removes the container. */
		return ctx_fail(c, e, "seccomp notification descriptor (no answer from dune)");
	uint32_t kind = m.kind;
	plan_msg_free(&m);
	if (kind != KIND_CONTINUE)
		return ctx_fail(c, EPROTO, "seccomp notification descriptor (message %u instead of CONTINUE)", kind);
	return STEP_OK;
}

int op_seccomp(struct init_ctx *c, const struct plan_msg *s)
{
	const struct plan_arg *prog = &s->args[0];
	uint64_t flags = plan_u64(s, 1);
	if (prog->len == 0 || prog->len % sizeof(struct sock_filter) != 0 ||
	    prog->len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return ctx_fail(c, EINVAL, "program of %u bytes", prog->len);
	struct sock_fprog fprog = {
		.len = (unsigned short)(prog->len / sizeof(struct sock_filter)),
		/* The copy is malloc'd, so it is suitably aligned for sock_filter. */
		.filter = (struct sock_filter *)(void *)prog->data,
	};
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)flags, &fprog);
	if (rc < 0)
		return ctx_fail(c, errno, "filter of %u instructions, flags 0x%llx", fprog.len,
				(unsigned long long)flags);
	if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
		return hand_over_listener(c, (int)rc);
	return STEP_OK;
}
