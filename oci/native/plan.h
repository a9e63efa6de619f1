/* The setup-plan wire format (docs/setup-plan.md): one SOCK_SEQPACKET datagram per
 * message, "u32 kind | u32 op | u32 nargs | nargs x (u32 len | bytes)", little-endian. */
#ifndef DUNE_PLAN_H
#define DUNE_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum plan_kind {
	KIND_STEP = 1,
	KIND_END = 2,
	KIND_CONTINUE = 3,
	KIND_PID = 10,
	KIND_SYNC = 11,
	KIND_READY = 12,
	KIND_ERROR = 13,
	KIND_SECCOMP_FD = 14,
};

enum plan_op {
	OP_SETNS = 1,
	OP_JOIN_CGROUP = 2,
	OP_UNSHARE = 3,
	OP_WRITE_FILE = 4,
	OP_CLONE = 5,
	OP_SETHOSTNAME = 6,
	OP_SETDOMAINNAME = 7,
	OP_ROOTFS = 8,
	OP_MOUNT = 9,
	OP_MKNOD = 10,
	OP_SYMLINK = 11,
	OP_SYNC = 12,
	OP_RUN_HOOK = 13,
	OP_PIVOT_ROOT = 14,
	OP_CHROOT_MOVE = 15,
	OP_MASK_PATH = 16,
	OP_READONLY_PATH = 17,
	OP_RLIMIT = 18,
	OP_CONSOLE = 19,
	OP_SETSID = 20,
	OP_NO_NEW_PRIVS = 21,
	OP_UMASK = 22,
	OP_CAP_BOUNDING = 23,
	OP_SET_USER = 24,
	OP_CAPS = 25,
	OP_SECCOMP = 26,
	OP_FIFO_OPEN = 27,
	OP_FIFO_WAIT = 28,
	OP_CHDIR = 29,
	OP_RESOLVE_EXEC = 30,
	OP_READY = 31,
	OP_EXEC = 32,
	OP_NEW_KEYRING = 33,
	OP_CLOSE_SOCKET = 34,
	OP_PERSONALITY = 35,
	OP_DUNE_EXEC = 36,
	OP_SELECT_STATE = 37,
	OP_DUNE_OPEN = 38,
	OP_CGROUP_WAIT = 39,
	OP_LOOPBACK_UP = 40,
	OP_MOUNT_SETATTR = 41,
	OP_CHROOT = 42,
	OP_PARENT_PRIVATE = 43,
	OP_OPEN_TREE = 44,
	OP_LAST = OP_OPEN_TREE,
};

/* MOUNT "how" bits. */
enum mount_how {
	HOW_TARGET_IN_ROOT = 1,
	HOW_MKDIR = 2,
	HOW_MKFILE = 4,
	HOW_SOURCE_IN_ROOT = 8,
	HOW_SOURCE_TREE = 16,
};

/* One argument; data is a private copy with a NUL appended so strings can be used as is. */
struct plan_arg {
	uint32_t len;
	char *data;
};

struct plan_msg {
	uint32_t kind;
	uint32_t op;
	uint32_t nargs;
	struct plan_arg *args;
};

struct plan {
	struct plan_msg *steps;
	size_t nsteps;
};

/* Receives one message. Returns 0, 1 on end of stream, -1 with errno set. */
int plan_recv_msg(int fd, struct plan_msg *m);
void plan_msg_free(struct plan_msg *m);

/* Receives STEP messages until END. Returns 0 or -1 with errno set (EPROTO: bad message). */
int plan_recv(int fd, struct plan *p);
void plan_free(struct plan *p);

/* Argument accessors; the caller has checked the argument's presence and size. */
uint64_t plan_u64(const struct plan_msg *m, uint32_t i);
const char *plan_str(const struct plan_msg *m, uint32_t i);
int plan_is_u64(const struct plan_msg *m, uint32_t i);

/* Replies. Return 0 or -1 with errno set; a closed peer is not reported as SIGPIPE. */
int plan_send_pid(int fd, pid_t pid);
int plan_send_sync(int fd, const char *name);
int plan_send_ready(int fd);
int plan_send_error(int fd, uint32_t op, uint64_t step, int err, const char *detail);
/* SECCOMP_FD: the number of the notification descriptor, which dune copies with pidfd_getfd.
 * Sent with write(2), the one call a notify rule may not name (as with runc). */
int plan_send_seccomp_fd(int fd, int seccomp_fd);

#endif
