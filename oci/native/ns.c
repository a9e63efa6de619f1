/* Namespace, cgroup and kernel-setting steps, and the CLONE that makes the container. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The only flags CLONE accepts: anything else (CLONE_VM, ...) would break the fork model. */
#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
			CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* open(O_WRONLY) + one write: sysctls and id maps must be written in a single write(2). */
static int write_file(const char *path, const char *content, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, content, len);
	int e = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

int op_setns(struct init_ctx *c, const struct plan_msg *s)
{
	int nstype = (int)plan_u64(s, 0);
	const char *path = plan_str(s, 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctx_fail(c, errno, "%s", path);
	int rc = STEP_OK;
	if (setns(fd, nstype) < 0)
		rc = ctx_fail(c, errno, "%s", path);
	close(fd);
	return rc;
}

int op_join_cgroup(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	if (s->nargs > 2)
		return ctx_fail(c, EINVAL, "join-cgroup takes a path and at most one fallback");
	/* "0" means the writer itself, in v1 and v2, whatever pid namespace we are in. */
	if (write_file(path, "0", 1) == 0)
		return STEP_OK;
	/* cgroup2 refuses a process in a cgroup whose children have domain controllers (EBUSY):
	 * the second path, if given, is the init's own cgroup below it, as runc falls back to. */
	if (errno == EBUSY && s->nargs > 1) {
		const char *fallback = plan_str(s, 1);
		if (write_file(fallback, "0", 1) == 0)
			return STEP_OK;
		return ctx_fail(c, errno, "%s (and %s: busy)", fallback, path);
	}
	return ctx_fail(c, errno, "%s", path);
}

int op_unshare(struct init_ctx *c, const struct plan_msg *s)
{
	uint64_t flags = plan_u64(s, 0);
	if (unshare((int)flags) < 0)
		return ctx_fail(c, errno, "flags 0x%llx", (unsigned long long)flags);
	return STEP_OK;
}

int op_write_file(struct init_ctx *c, const struct plan_msg *s)
{
	const char *path = plan_str(s, 0);
	if (write_file(path, plan_str(s, 1), s->args[1].len) < 0)
		return ctx_fail(c, errno, "%s", path);
	return STEP_OK;
}

/* After the release: writes the child's pid into each cgroup file CLONE lists (v1 pays an
 * RCU grace period for the first, several ms here; the child sets up its mounts meanwhile),
 * then tells it so on the moved pipe. */
static int move_child(struct init_ctx *c, const struct plan_msg *s, pid_t pid, int moved_fd)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%d", pid);
	for (uint32_t i = 3; i < s->nargs; i++) {
		const char *path = plan_str(s, i);
		if (write_file(path, num, (size_t)len) < 0) {
			int e = errno;
			close(moved_fd); /* the child sees end-of-file, not 'M' */
			return ctx_fail(c, e, "%s (moving pid %d)", path, pid);
		}
	}
	if (write(moved_fd, "M", 1) != 1) {
		int e = errno;
		close(moved_fd);
		return ctx_fail(c, e, "moved pipe");
	}
	close(moved_fd);
	return STEP_PARENT_DONE;
}

/* Parent side of CLONE: id maps, PID, release the child, move it into its cgroups, done. */
static int clone_parent(struct init_ctx *c, const struct plan_msg *s, pid_t pid, int go_fd, uint64_t flags,
			int moved_fd)
{
	char path[64];
	if (flags & CLONE_NEWUSER) {
		static const char *const which[2] = { "uid_map", "gid_map" };
		for (int i = 0; i < 2; i++) {
			const struct plan_arg *map = &s->args[1 + i];
			if (map->len == 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/%s", pid, which[i]);
			if (write_file(path, map->data, map->len) < 0)
				goto fail;
		}
	}
	snprintf(path, sizeof(path), "pid %d", pid);
	if (plan_send_pid(c->plan_fd, pid) < 0)
		goto fail;
	if (write(go_fd, "g", 1) != 1)
		goto fail;
	close(go_fd);
	if (moved_fd >= 0)
		return move_child(c, s, pid, moved_fd);
	return STEP_PARENT_DONE;
fail:;
	int e = errno;
	/* The child is the caller's child: kill it, the caller reaps it. */
	kill(pid, SIGKILL);
	close(go_fd);
	if (moved_fd >= 0)
		close(moved_fd);
	return ctx_fail(c, e, "%s", path);
}

int op_cgroup_wait(struct init_ctx *c, const struct plan_msg *s)
{
	if (c->moved_fd < 0)
		return ctx_fail(c, EINVAL, "no cgroup files given to CLONE");
	char b = 0;
	ssize_t n;
	do
		n = read(c->moved_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(c->moved_fd);
	c->moved_fd = -1;
	if (n != 1 || b != 'M')
		_exit(1); /* the parent failed to move us and reported it */
	if (plan_u64(s, 0) && unshare(CLONE_NEWCGROUP) < 0)
		return ctx_fail(c, errno, "unshare(CLONE_NEWCGROUP)");
	return STEP_OK;
}

int op_clone(struct init_ctx *c, const struct plan_msg *s)
{
	uint64_t flags = plan_u64(s, 0);
	if (flags & ~(uint64_t)CLONE_NS_FLAGS)
		return ctx_fail(c, EINVAL, "flags 0x%llx (only namespace flags are allowed)",
				(unsigned long long)flags);
	int go[2], moved[2] = { -1, -1 };
	if (pipe2(go, O_CLOEXEC) < 0)
		return ctx_fail(c, errno, "pipe");
	if (s->nargs > 3 && pipe2(moved, O_CLOEXEC) < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return ctx_fail(c, e, "pipe");
	}
	/* A raw clone with no new stack behaves like fork: the child continues here
	 * with its own copy of the plan. CLONE_PARENT makes it the caller's child. */
	long pid = syscall(SYS_clone, (unsigned long)flags | CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		if (moved[0] >= 0) {
			close(moved[0]);
			close(moved[1]);
		}
		return ctx_fail(c, e, "flags 0x%llx", (unsigned long long)flags);
	}
	if (pid > 0) {
		close(go[0]);
		if (moved[0] >= 0)
			close(moved[0]);
		return clone_parent(c, s, (pid_t)pid, go[1], flags, moved[1]);
	}
	close(go[1]);
	if (moved[1] >= 0)
		close(moved[1]);
	c->moved_fd = moved[0];
	c->in_child = 1;
	char b;
	ssize_t n;
	do
		n = read(go[0], &b, 1);
	while (n < 0 && errno == EINTR);
	close(go[0]);
	if (n != 1)
		_exit(1); /* the parent failed and reported it */
	if (flags & CLONE_NEWUSER) {
		if (setresgid(0, 0, 0) < 0)
			return ctx_fail(c, errno, "setresgid(0) in the new user namespace");
		if (setresuid(0, 0, 0) < 0)
			return ctx_fail(c, errno, "setresuid(0) in the new user namespace");
	}
	return STEP_OK;
}

int op_sethostname(struct init_ctx *c, const struct plan_msg *s)
{
	if (sethostname(plan_str(s, 0), s->args[0].len) < 0)
		return ctx_fail(c, errno, "%s", plan_str(s, 0));
	return STEP_OK;
}

int op_setdomainname(struct init_ctx *c, const struct plan_msg *s)
{
	if (setdomainname(plan_str(s, 0), s->args[0].len) < 0)
		return ctx_fail(c, errno, "%s", plan_str(s, 0));
	return STEP_OK;
}

int op_new_keyring(struct init_ctx *c, const struct plan_msg *s)
{
	const char *name = plan_str(s, 0);
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, *name ? name : NULL) < 0 &&
	    errno != EPERM && errno != ENOSYS)
		return ctx_fail(c, errno, "%s", name);
	return STEP_OK;
}

int op_loopback_up(struct init_ctx *c, const struct plan_msg *s)
{
	(void)s;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctx_fail(c, errno, "lo (socket)");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(fd);
	if (rc < 0)
		return ctx_fail(c, e, "lo");
	return STEP_OK;
}
