/* Console step. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* One message: the replica's path as payload, the master as one SCM_RIGHTS fd. */
static int send_master(int sock, int master, const char *name)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int op_console(struct init_ctx *c, const struct plan_msg *s)
{
	int sock = (int)plan_u64(s, 0);
	unsigned short rows = (unsigned short)plan_u64(s, 1), cols = (unsigned short)plan_u64(s, 2);
	char name[PATH_MAX];
	int rc = STEP_OK, replica = -1;

	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return ctx_fail(c, errno, "/dev/ptmx");
	if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0) {
		rc = ctx_fail(c, errno, "/dev/ptmx (unlockpt)");
		goto out;
	}
	replica = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (replica < 0) {
		rc = ctx_fail(c, errno, "%s", name);
		goto out;
	}
	if (rows || cols) {
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		if (ioctl(replica, TIOCSWINSZ, &ws) < 0) {
			rc = ctx_fail(c, errno, "%s (window size %ux%u)", name, rows, cols);
			goto out;
		}
	}
	if (send_master(sock, master, name) < 0) {
		rc = ctx_fail(c, errno, "console socket %d", sock);
		goto out;
	}
	close(master);
	master = -1;
	close(sock);
	struct stat st;
	if (stat("/dev/console", &st) == 0 && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) {
		rc = ctx_fail(c, errno, "/dev/console (binding %s)", name);
		goto out;
	}
	for (int fd = 0; fd < 3; fd++)
		if (dup2(replica, fd) < 0) {
			rc = ctx_fail(c, errno, "%s (as fd %d)", name, fd);
			goto out;
		}
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		rc = ctx_fail(c, errno, "%s (TIOCSCTTY)", name);
out:
	if (master >= 0)
		close(master);
	if (replica >= 0)
		close(replica);
	return rc;
}
