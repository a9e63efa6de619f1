/* The dune side of the setup-plan protocol, for tests: builds plans byte by byte
 * (independently of dune-init's codec), spawns dune-init and reads its replies. */
#ifndef DUNE_TEST_CLIENT_H
#define DUNE_TEST_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define U(x) ((uint64_t)(x))

struct msg_buf {
	unsigned char *p;
	size_t len, cap;
};

struct plan_builder {
	struct msg_buf *msgs;
	size_t n, cap;
};

void pb_init(struct plan_builder *pb);
void pb_free(struct plan_builder *pb);

/* Appends a STEP; fmt letters: 'u' uint64_t, 's' const char *, 'b' (const void *, size_t),
 * 'v' a NULL-terminated char *const * whose strings become one argument each.
 * Returns the step's index. */
size_t pb_step(struct plan_builder *pb, uint32_t op, const char *fmt, ...);

/* Encodes any message (used for CONTINUE and for malformed steps). */
void msg_encode(struct msg_buf *m, uint32_t kind, uint32_t op, const char *fmt, ...);

uint64_t vcount(char *const *v);

/* A reply from dune-init. */
struct reply {
	uint32_t kind, op, nargs;
	uint64_t u[2];   /* PID: u[0]; ERROR: u[0] = step, u[1] = errno; SECCOMP_FD: u[0] = fd */
	char text[8192]; /* SYNC: name; ERROR: detail */
};

struct spawn_opts {
	int keep_fd;           /* an extra fd dune-init inherits (console socket), or -1 */
	int deny_openat2;      /* seccomp: openat2 fails with ENOSYS, to exercise the fallback */
	int deny_mount_api;    /* seccomp: open_tree, move_mount and mount_setattr fail with ENOSYS (Linux < 5.2/5.12) */
	int dirty_signals;     /* spawn with SIGPIPE ignored and SIGUSR1 blocked, as .NET might */
};

struct run {
	pid_t init;            /* dune-init */
	pid_t child;           /* the container process, once PID arrived */
	int sock;              /* our end of the plan socket */
	char out_path[256], err_path[256];
	int init_status;
	int init_reaped, child_reaped;
};

/* Spawns dune-init with stdout/stderr in files under dir and sends the plan + END. */
int run_start(struct run *r, const char *dune_init, const char *dir, const struct plan_builder *pb,
	      const struct spawn_opts *o);
/* 0: a reply, 1: end of stream, -1: timeout or error. */
int run_recv(struct run *r, struct reply *m, int timeout_ms);
int run_send(struct run *r, const struct msg_buf *m);
/* Waits for dune-init (and the container, if known); -1 on timeout (then kills). */
int run_wait_init(struct run *r, int timeout_ms);
int run_wait_child(struct run *r, int timeout_ms, int *status);
/* Reads a whole file into a malloc'd NUL-terminated string ("" when missing). */
char *read_text(const char *path);
/* Kills and reaps whatever is left, closes the socket, removes output files. */
void run_end(struct run *r);

#endif
