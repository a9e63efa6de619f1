/* sendmmsg/recvmmsg and SysV shared memory under Dune. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

int main(void)
{
	volatile int fails = 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 2;
	char a[] = "first", b[] = "second", ra[16] = "", rb[16] = "";
	struct iovec iov[2] = { { a, 5 }, { b, 6 } }, riov[2] = { { ra, 15 }, { rb, 15 } };
	struct mmsghdr out[2], in[2];
	memset(out, 0, sizeof out);
	memset(in, 0, sizeof in);
	for (int i = 0; i < 2; i++) {
		out[i].msg_hdr.msg_iov = &iov[i];
		out[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_iov = &riov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	int n = sendmmsg(sv[0], out, 2, 0);
	int m = recvmmsg(sv[1], in, 2, 0, NULL);
	if (n != 2 || m != 2 || strcmp(ra, "first") || strcmp(rb, "second") || in[1].msg_len != 6) {
		printf("mmsg: sent %d received %d '%s' '%s'\n", n, m, ra, rb);
		fails++;
	}
	int id = shmget(IPC_PRIVATE, 8192, 0600 | IPC_CREAT);
	char *p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		printf("shmat failed\n");
		return 1;
	}
	strcpy(p + 4096, "shared");
	char *q = shmat(id, NULL, SHM_RDONLY);
	if (q == (void *)-1 || strcmp(q + 4096, "shared")) {
		printf("second attachment does not see the data\n");
		fails++;
	}
	shmdt(p);
	signal(SIGSEGV, on_segv);
	if (!sigsetjmp(jb, 1)) {
		p[0] = 1;
		printf("detached segment still writable\n");
		fails++;
	}
	if (!sigsetjmp(jb, 1)) {
		q[0] = 1;
		printf("read-only attachment writable\n");
		fails++;
	}
	shmdt(q);
	shmctl(id, IPC_RMID, NULL);
	printf("ipc %s\n", fails ? "FAILED" : "ok");
	return fails;
}
