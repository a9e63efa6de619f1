/* Test-side protocol client. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void put(struct msg_buf *m, const void *p, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 64;
		m->p = realloc(m->p, m->cap);
		if (!m->p)
			abort();
	}
	memcpy(m->p + m->len, p, n);
	m->len += n;
}

static void put_le(struct msg_buf *m, uint64_t v, int bytes)
{
	unsigned char b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(m, b, (size_t)bytes);
}

static void put_arg(struct msg_buf *m, const void *p, size_t n, uint32_t *nargs)
{
	put_le(m, n, 4);
	put(m, p, n);
	(*nargs)++;
}

static void vencode(struct msg_buf *m, uint32_t kind, uint32_t op, const char *fmt, va_list ap)
{
	m->len = 0;
	put_le(m, kind, 4);
	put_le(m, op, 4);
	put_le(m, 0, 4);
	uint32_t nargs = 0;
	for (const char *f = fmt; *f; f++) {
		if (*f == 'u') {
			unsigned char b[8];
			uint64_t v = va_arg(ap, uint64_t);
			for (int i = 0; i < 8; i++)
				b[i] = (unsigned char)(v >> (8 * i));
			put_arg(m, b, 8, &nargs);
		} else if (*f == 's') {
			const char *s = va_arg(ap, const char *);
			put_arg(m, s, strlen(s), &nargs);
		} else if (*f == 'b') {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			put_arg(m, p, n, &nargs);
		} else if (*f == 'v') {
			char *const *v = va_arg(ap, char *const *);
			for (; *v; v++)
				put_arg(m, *v, strlen(*v), &nargs);
		} else {
			abort();
		}
	}
	for (int i = 0; i < 4; i++)
		m->p[8 + i] = (unsigned char)(nargs >> (8 * i));
}

void msg_encode(struct msg_buf *m, uint32_t kind, uint32_t op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vencode(m, kind, op, fmt, ap);
	va_end(ap);
}

void pb_init(struct plan_builder *pb)
{
	memset(pb, 0, sizeof(*pb));
}

void pb_free(struct plan_builder *pb)
{
	for (size_t i = 0; i < pb->n; i++)
		free(pb->msgs[i].p);
	free(pb->msgs);
	memset(pb, 0, sizeof(*pb));
}

size_t pb_step(struct plan_builder *pb, uint32_t op, const char *fmt, ...)
{
	if (pb->n == pb->cap) {
		pb->cap = pb->cap ? pb->cap * 2 : 32;
		pb->msgs = realloc(pb->msgs, pb->cap * sizeof(*pb->msgs));
		if (!pb->msgs)
			abort();
	}
	struct msg_buf *m = &pb->msgs[pb->n];
	memset(m, 0, sizeof(*m));
	va_list ap;
	va_start(ap, fmt);
	vencode(m, 1 /* STEP */, op, fmt, ap);
	va_end(ap);
	return pb->n++;
}

uint64_t vcount(char *const *v)
{
	uint64_t n = 0;
	while (v[n])
		n++;
	return n;
}

/* A filter making openat2 look absent (ENOSYS), as on kernels before 5.6. */
static int deny_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* A filter making the new mount API look absent (ENOSYS), as on old kernels. */
static int deny_mount_api(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open_tree, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_move_mount, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mount_setattr, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int run_start(struct run *r, const char *dune_init, const char *dir, const struct plan_builder *pb,
	      const struct spawn_opts *o)
{
	static const struct spawn_opts none = { .keep_fd = -1 };
	if (!o)
		o = &none;
	memset(r, 0, sizeof(*r));
	r->sock = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	snprintf(r->out_path, sizeof(r->out_path), "%s/out.%d", dir, sv[0]);
	snprintf(r->err_path, sizeof(r->err_path), "%s/err.%d", dir, sv[0]);
	int out = open(r->out_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0666);
	int err = open(r->err_path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0666);
	if (out < 0 || err < 0)
		return -1;
	/* The container may run as another uid and still write its stdout/stderr. */
	fchmod(out, 0666);
	fchmod(err, 0666);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(out, 1);
		dup2(err, 2);
		/* dup2 clears CLOEXEC on the new fds; the plan socket keeps its number. */
		fcntl(sv[1], F_SETFD, 0);
		if (o->keep_fd >= 0)
			fcntl(o->keep_fd, F_SETFD, 0);
		if (o->dirty_signals) {
			sigset_t set;
			sigemptyset(&set);
			sigaddset(&set, SIGUSR1);
			signal(SIGPIPE, SIG_IGN);
			sigprocmask(SIG_BLOCK, &set, NULL);
		}
		if (o->deny_openat2 && deny_openat2() < 0)
			_exit(126);
		if (o->deny_mount_api && deny_mount_api() < 0)
			_exit(126);
		char fdarg[16];
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		execl(dune_init, "dune-init", fdarg, (char *)NULL);
		_exit(127);
	}
	close(out);
	close(err);
	close(sv[1]);
	r->init = pid;
	r->sock = sv[0];
	for (size_t i = 0; i < pb->n; i++)
		if (send(r->sock, pb->msgs[i].p, pb->msgs[i].len, MSG_NOSIGNAL) != (ssize_t)pb->msgs[i].len)
			return -1;
	struct msg_buf end = { 0 };
	msg_encode(&end, 2 /* END */, 0, "");
	ssize_t n = send(r->sock, end.p, end.len, MSG_NOSIGNAL);
	free(end.p);
	return n == 12 ? 0 : -1;
}

int run_send(struct run *r, const struct msg_buf *m)
{
	return send(r->sock, m->p, m->len, MSG_NOSIGNAL) == (ssize_t)m->len ? 0 : -1;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int run_recv(struct run *r, struct reply *m, int timeout_ms)
{
	struct pollfd p = { .fd = r->sock, .events = POLLIN };
	int pr = poll(&p, 1, timeout_ms);
	if (pr <= 0)
		return -1;
	unsigned char buf[16384];
	ssize_t n = recv(r->sock, buf, sizeof(buf), 0);
	if (n == 0)
		return 1;
	if (n < 12)
		return -1;
	memset(m, 0, sizeof(*m));
	m->kind = le32(buf);
	m->op = le32(buf + 4);
	m->nargs = le32(buf + 8);
	const unsigned char *arg[4];
	uint32_t alen[4];
	size_t off = 12;
	if (m->nargs > 4)
		return -1;
	for (uint32_t i = 0; i < m->nargs; i++) {
		if ((size_t)n - off < 4)
			return -1;
		alen[i] = le32(buf + off);
		off += 4;
		if ((size_t)n - off < alen[i])
			return -1;
		arg[i] = buf + off;
		off += alen[i];
	}
	if (off != (size_t)n)
		return -1;
	/* The shape each reply kind must have (docs/setup-plan.md). */
	const char *shape = m->kind == 10 ? "u" : m->kind == 11 ? "s" : m->kind == 12 ? "" : m->kind == 13 ? "uus"
			  : m->kind == 14 ? "u" : NULL;
	if (!shape || strlen(shape) != m->nargs)
		return -1;
	int nu = 0;
	for (uint32_t i = 0; i < m->nargs; i++) {
		if (shape[i] == 'u') {
			if (alen[i] != 8)
				return -1;
			uint64_t v = 0;
			for (int b = 7; b >= 0; b--)
				v = v << 8 | arg[i][b];
			m->u[nu++] = v;
		} else {
			size_t c = alen[i] < sizeof(m->text) - 1 ? alen[i] : sizeof(m->text) - 1;
			memcpy(m->text, arg[i], c);
			m->text[c] = '\0';
		}
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waitpid with a deadline; kills pid when it passes. Returns 0 or -1 (timed out). */
static int wait_deadline(pid_t pid, int timeout_ms, int *status)
{
	long long end = now_ms() + timeout_ms;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0)
			return -1;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -1;
		}
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

int run_wait_init(struct run *r, int timeout_ms)
{
	if (r->init_reaped)
		return 0;
	int rc = wait_deadline(r->init, timeout_ms, &r->init_status);
	r->init_reaped = 1;
	return rc;
}

int run_wait_child(struct run *r, int timeout_ms, int *status)
{
	if (r->child <= 0 || r->child_reaped)
		return -1;
	int rc = wait_deadline(r->child, timeout_ms, status);
	r->child_reaped = 1;
	return rc;
}

char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	if (f) {
		size_t n;
		while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
			len += n;
			if (cap - len < 2) {
				cap *= 2;
				s = realloc(s, cap);
				if (!s)
					abort();
			}
		}
		fclose(f);
	}
	s[len] = '\0';
	return s;
}

void run_end(struct run *r)
{
	int st;
	if (r->child > 0 && !r->child_reaped) {
		kill(r->child, SIGKILL);
		waitpid(r->child, &st, 0);
		r->child_reaped = 1;
	}
	if (r->init > 0 && !r->init_reaped) {
		kill(r->init, SIGKILL);
		waitpid(r->init, &st, 0);
		r->init_reaped = 1;
	}
	if (r->sock >= 0)
		close(r->sock);
	r->sock = -1;
	unlink(r->out_path);
	unlink(r->err_path);
}
