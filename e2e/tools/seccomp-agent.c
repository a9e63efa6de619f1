/* seccomp-agent SOCKET DIR: a seccomp agent for the SCMP_ACT_NOTIFY tests (e2e/cli.bats,
 * e2e/dune.bats), the counterpart of what a runtime sends to linux.seccomp.listenerPath.
 *
 * Listens on the unix stream socket SOCKET. For each connection it receives one message:
 * the ContainerProcessState JSON with the notification descriptor as SCM_RIGHTS. It appends
 * the JSON as one line to DIR/states (the test checks pid, id, status, metadata with jq) and
 * answers that descriptor's notifications in a child process, one line per notification in
 * DIR/calls ("NAME PATH pid N"):
 *   mkdir, mkdirat                     success, without making the directory
 *   chmod, fchmod, fchmodat, fchmodat2 ENOMEDIUM (as runc's seccompagent)
 *   anything else                      SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel runs it)
 * A message that is not one descriptor and a JSON object is logged to DIR/errors. Runs until
 * killed, and its children with it (the descriptors close: notified calls then fail with
 * ENOSYS); prints nothing on success. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static void append(const char *dir, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(const char *dir, const char *file, const char *fmt, ...)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* The NUL-terminated string at addr in pid's memory (the notified call's argument). */
static void read_string(pid_t pid, unsigned long long addr, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, out, len - 1, (off_t)addr);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		snprintf(out, len, "<unreadable: %s>", strerror(errno));
	else
		out[n] = '\0';
}

static void serve(int listener, const char *dir)
{
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
		append(dir, "errors", "SECCOMP_GET_NOTIF_SIZES: %s\n", strerror(errno));
		_exit(1);
	}
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif > sizeof *req ? sizes.seccomp_notif : sizeof *req);
	struct seccomp_notif_resp *resp =
		calloc(1, sizes.seccomp_notif_resp > sizeof *resp ? sizes.seccomp_notif_resp : sizeof *resp);
	if (!req || !resp)
		_exit(1);
	for (;;) {
		memset(req, 0, sizes.seccomp_notif);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR)
				continue;
			_exit(0); /* ENOENT: every process under the filter is gone */
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		char arg[4096] = "";
		const char *name = NULL;
		switch (req->data.nr) {
		case SYS_mkdir:
			name = "mkdir";
			read_string(req->pid, req->data.args[0], arg, sizeof arg);
			break;
		case SYS_mkdirat:
			name = "mkdirat";
			read_string(req->pid, req->data.args[1], arg, sizeof arg);
			break;
		case SYS_chmod:
			name = "chmod";
			read_string(req->pid, req->data.args[0], arg, sizeof arg);
			resp->error = -ENOMEDIUM;
			break;
		case SYS_fchmod:
			name = "fchmod";
			resp->error = -ENOMEDIUM;
			break;
		case SYS_fchmodat:
		case SYS_fchmodat2:
			name = req->data.nr == SYS_fchmodat ? "fchmodat" : "fchmodat2";
			read_string(req->pid, req->data.args[1], arg, sizeof arg);
			resp->error = -ENOMEDIUM;
			break;
		default:
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			break;
		}
		/* The process may have died meanwhile, and its pid been reused: check before trusting arg. */
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
			continue;
		if (name)
			append(dir, "calls", "%s %s pid %d\n", name, *arg ? arg : "-", req->pid);
		else
			append(dir, "calls", "continue %d pid %d\n", req->data.nr, req->pid);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
			append(dir, "errors", "SECCOMP_IOCTL_NOTIF_SEND: %s\n", strerror(errno));
	}
}

static void accept_one(int conn, const char *dir)
{
	char buf[65536];
	union {
		char space[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
			      .msg_controllen = sizeof control.space };
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0) {
		append(dir, "errors", "recvmsg: %s\n", n < 0 ? strerror(errno) : "connection closed without a message");
		return;
	}
	buf[n] = '\0';
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(&msg, cm) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		append(dir, "errors", "message of %zd bytes without exactly one descriptor\n", n);
		return;
	}
	int listener;
	memcpy(&listener, CMSG_DATA(cm), sizeof listener);
	if (buf[0] != '{' || memchr(buf, '\n', (size_t)n)) {
		append(dir, "errors", "not a one-line JSON object: %s\n", buf);
		close(listener);
		return;
	}
	append(dir, "states", "%s\n", buf);
	pid_t pid = fork();
	if (pid == 0) {
		/* Killing the agent ends its answers too (the tests check what the container sees then). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		serve(listener, dir);
	}
	if (pid < 0)
		append(dir, "errors", "fork: %s\n", strerror(errno));
	close(listener);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: seccomp-agent SOCKET DIR\n");
		return 2;
	}
	const char *path = argv[1], *dir = argv[2];
	/* Children answer notifications until their filter's processes are gone: not reaped. */
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	sigaction(SIGCHLD, &sa, NULL);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		fprintf(stderr, "seccomp-agent: socket path too long\n");
		return 1;
	}
	strcpy(addr.sun_path, path);
	unlink(path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 16) < 0) {
		fprintf(stderr, "seccomp-agent: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (;;) {
		int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "seccomp-agent: accept: %s\n", strerror(errno));
			return 1;
		}
		accept_one(conn, dir);
		close(conn);
	}
}
