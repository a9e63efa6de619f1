/* Setup-plan codec: decoding steps from dune, encoding replies to it. */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Larger than any sane plan message (a seccomp program is at most 32 KiB). */
#define MSG_MAX (16u << 20)
#define NARGS_MAX 65536u

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void plan_msg_free(struct plan_msg *m)
{
	for (uint32_t i = 0; i < m->nargs; i++)
		free(m->args[i].data);
	free(m->args);
	m->args = NULL;
	m->nargs = 0;
}

static int decode(const unsigned char *buf, size_t len, struct plan_msg *m)
{
	if (len < 12)
		return -1;
	m->kind = get_u32(buf);
	m->op = get_u32(buf + 4);
	uint32_t nargs = get_u32(buf + 8);
	if (nargs > NARGS_MAX)
		return -1;
	m->nargs = 0;
	m->args = calloc(nargs ? nargs : 1, sizeof(*m->args));
	if (!m->args)
		return -1;
	size_t off = 12;
	for (uint32_t i = 0; i < nargs; i++) {
		if (len - off < 4)
			goto bad;
		uint32_t alen = get_u32(buf + off);
		off += 4;
		if (len - off < alen)
			goto bad;
		char *d = malloc((size_t)alen + 1);
		if (!d)
			goto bad;
		memcpy(d, buf + off, alen);
		d[alen] = '\0';
		m->args[i].len = alen;
		m->args[i].data = d;
		m->nargs = i + 1;
		off += alen;
	}
	if (off != len)
		goto bad;
	return 0;
bad:
	plan_msg_free(m);
	return -1;
}

int plan_recv_msg(int fd, struct plan_msg *m)
{
	memset(m, 0, sizeof(*m));
	ssize_t n;
	/* Peek with MSG_TRUNC to learn the datagram's full size before reading it. */
	do
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		/* Either end of stream or an empty datagram: consume and tell them apart. */
		char c;
		do
			n = recv(fd, &c, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
		if (n == 0)
			return 1;
		errno = EPROTO;
		return -1;
	}
	if ((size_t)n > MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	unsigned char *buf = malloc((size_t)n);
	if (!buf)
		return -1;
	ssize_t got;
	do
		got = recv(fd, buf, (size_t)n, 0);
	while (got < 0 && errno == EINTR);
	if (got != n) {
		int e = got < 0 ? errno : EPROTO;
		free(buf);
		errno = e;
		return -1;
	}
	int rc = decode(buf, (size_t)n, m);
	free(buf);
	if (rc < 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++)
		plan_msg_free(&p->steps[i]);
	free(p->steps);
	p->steps = NULL;
	p->nsteps = 0;
}

int plan_recv(int fd, struct plan *p)
{
	size_t cap = 0;
	p->steps = NULL;
	p->nsteps = 0;
	for (;;) {
		struct plan_msg m;
		int rc = plan_recv_msg(fd, &m);
		if (rc != 0) {
			if (rc > 0)
				errno = ECONNRESET;
			return -1;
		}
		if (m.kind == KIND_END) {
			plan_msg_free(&m);
			return 0;
		}
		if (m.kind != KIND_STEP) {
			plan_msg_free(&m);
			errno = EPROTO;
			return -1;
		}
		if (p->nsteps == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct plan_msg *s = realloc(p->steps, ncap * sizeof(*s));
			if (!s) {
				plan_msg_free(&m);
				return -1;
			}
			p->steps = s;
			cap = ncap;
		}
		p->steps[p->nsteps++] = m;
	}
}

int plan_is_u64(const struct plan_msg *m, uint32_t i)
{
	return i < m->nargs && m->args[i].len == 8;
}

uint64_t plan_u64(const struct plan_msg *m, uint32_t i)
{
	const unsigned char *p = (const unsigned char *)m->args[i].data;
	uint64_t v = 0;
	for (int b = 7; b >= 0; b--)
		v = v << 8 | p[b];
	return v;
}

const char *plan_str(const struct plan_msg *m, uint32_t i)
{
	return m->args[i].data;
}

/* One outgoing argument: either bytes or, when bytes is NULL, a u64. */
struct out_arg {
	const void *bytes;
	size_t len;
	uint64_t u64;
};

/* Sends one message, with send(MSG_NOSIGNAL) or, when by_write, with write(2). */
static int send_msg_by(int fd, uint32_t kind, uint32_t op, const struct out_arg *args, uint32_t nargs, int by_write)
{
	size_t len = 12;
	for (uint32_t i = 0; i < nargs; i++)
		len += 4 + (args[i].bytes ? args[i].len : 8);
	unsigned char *buf = malloc(len);
	if (!buf)
		return -1;
	put_u32(buf, kind);
	put_u32(buf + 4, op);
	put_u32(buf + 8, nargs);
	size_t off = 12;
	for (uint32_t i = 0; i < nargs; i++) {
		if (args[i].bytes) {
			put_u32(buf + off, (uint32_t)args[i].len);
			memcpy(buf + off + 4, args[i].bytes, args[i].len);
			off += 4 + args[i].len;
		} else {
			put_u32(buf + off, 8);
			put_u64(buf + off + 4, args[i].u64);
			off += 12;
		}
	}
	ssize_t n;
	do
		n = by_write ? write(fd, buf, len) : send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int e = errno;
	free(buf);
	errno = e;
	return n == (ssize_t)len ? 0 : -1;
}

static int send_msg(int fd, uint32_t kind, uint32_t op, const struct out_arg *args, uint32_t nargs)
{
	return send_msg_by(fd, kind, op, args, nargs, 0);
}

int plan_send_seccomp_fd(int fd, int seccomp_fd)
{
	struct out_arg a = { .u64 = (uint64_t)seccomp_fd };
	return send_msg_by(fd, KIND_SECCOMP_FD, 0, &a, 1, 1);
}

int plan_send_pid(int fd, pid_t pid)
{
	struct out_arg a = { .u64 = (uint64_t)pid };
	return send_msg(fd, KIND_PID, 0, &a, 1);
}

int plan_send_sync(int fd, const char *name)
{
	struct out_arg a = { .bytes = name, .len = strlen(name) };
	return send_msg(fd, KIND_SYNC, 0, &a, 1);
}

int plan_send_ready(int fd)
{
	return send_msg(fd, KIND_READY, 0, NULL, 0);
}

int plan_send_error(int fd, uint32_t op, uint64_t step, int err, const char *detail)
{
	struct out_arg a[3] = {
		{ .u64 = step },
		{ .u64 = (uint64_t)(int64_t)err },
		{ .bytes = detail, .len = strlen(detail) },
	};
	return send_msg(fd, KIND_ERROR, op, a, 3);
}
