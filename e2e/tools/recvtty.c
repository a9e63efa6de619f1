/* recvtty SOCKET OUTFILE: the receiving end of an OCI --console-socket.
 *
 * Listens on the unix socket SOCKET, accepts one connection, takes the pty master that the
 * runtime sends in one SCM_RIGHTS message, and copies everything the container writes to
 * its terminal into OUTFILE until the pty hangs up. The first line of OUTFILE's companion
 * OUTFILE.fds records how many descriptors the message carried (the contract is exactly 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_on(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "recvtty: socket path too long: %s\n", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
        perror("recvtty: listen");
        return -1;
    }
    return fd;
}

/* Returns the first received descriptor and stores how many came in *count. */
static int receive_master(int conn, int *count)
{
    char data[256];
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } control;
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) {
        perror("recvtty: recvmsg");
        return -1;
    }
    *count = 0;
    int master = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int fds[8];
        memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
        if (master < 0 && n > 0)
            master = fds[0];
        *count += n;
    }
    if (master < 0)
        fprintf(stderr, "recvtty: no descriptor in the message\n");
    return master;
}

static int copy_all(int from, int to)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno == EIO)) /* EIO: every slave end is closed */
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("recvtty: read");
            return -1;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(to, buf + off, (size_t)(n - off));
            if (w < 0) {
                perror("recvtty: write");
                return -1;
            }
            off += w;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: recvtty SOCKET OUTFILE\n");
        return 2;
    }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        perror("recvtty: open");
        return 1;
    }
    int sock = listen_on(argv[1]);
    if (sock < 0)
        return 1;
    int conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
        perror("recvtty: accept");
        return 1;
    }
    int count = 0;
    int master = receive_master(conn, &count);
    char fdsfile[4096];
    snprintf(fdsfile, sizeof fdsfile, "%s.fds", argv[2]);
    FILE *f = fopen(fdsfile, "w");
    if (f) {
        fprintf(f, "%d\n", count);
        fclose(f);
    }
    close(conn);
    close(sock);
    if (master < 0)
        return 1;
    return copy_all(master, out) < 0 ? 1 : 0;
}
