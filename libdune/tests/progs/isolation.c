/* Isolation probes: each mode tries something a Dune process must not be
 * able to do and prints what happened. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* An address of the monitor (dune-run's own image), from /proc/self/maps. */
static void *monitor_address(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	void *found = NULL;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && strstr(line, "dune-run") && perms[1] == 'w') {
			found = (void *)lo;
			break;
		}
	}
	if (f)
		fclose(f);
	if (!found) {
		fprintf(stderr, "no monitor mapping found in /proc/self/maps\n");
		exit(2);
	}
	return found;
}

static sigjmp_buf jb;
static void on_sig(int sig)
{
	siglongjmp(jb, sig);
}

static int expect_errno(const char *what, long rc, int want)
{
	if (rc == -1 && errno == want) {
		printf("%s: %s\n", what, strerror(errno));
		return 0;
	}
	printf("%s: rc %ld errno %d (wanted %s)\n", what, rc, errno, strerror(want));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *m = argv[1];
	if (!strcmp(m, "monitor-read") || !strcmp(m, "monitor-write")) {
		volatile char *p = monitor_address();
		signal(SIGSEGV, on_sig);
		int sig = sigsetjmp(jb, 1);
		if (!sig) {
			if (m[8] == 'r')
				printf("read %d\n", *p);
			else
				*p = 1;
			printf("monitor memory accessible!\n");
			return 1;
		}
		printf("SIGSEGV\n");
		return 0;
	}
	if (!strcmp(m, "read-efault")) {
		int fd = open("/dev/zero", O_RDONLY);
		return expect_errno("read into monitor", read(fd, monitor_address(), 64), EFAULT);
	}
	if (!strcmp(m, "writev-efault")) {
		struct iovec iov[2] = { { "ok", 2 }, { monitor_address(), 16 } };
		int fd = open("/dev/null", O_WRONLY);
		return expect_errno("writev from monitor", writev(fd, iov, 2), EFAULT);
	}
	if (!strcmp(m, "sendmsg-efault")) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return 2;
		struct iovec iov = { monitor_address(), 32 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		return expect_errno("sendmsg from monitor", sendmsg(sv[0], &mh, 0), EFAULT);
	}
	if (!strcmp(m, "nx")) {
		unsigned char *buf = malloc(64);
		buf[0] = 0xc3; /* ret */
		((void (*)(void))buf)();
		printf("data executed!\n");
		return 1;
	}
	if (!strcmp(m, "hlt")) {
		__asm__ volatile("hlt");
	} else if (!strcmp(m, "cr3")) {
		unsigned long v;
		__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	} else if (!strcmp(m, "wrmsr")) {
		__asm__ volatile("wrmsr" ::"c"(0xc0000082), "a"(0), "d"(0));
	} else if (!strcmp(m, "lgdt")) {
		struct __attribute__((packed)) { uint16_t l; uint64_t b; } d = { 0, 0 };
		__asm__ volatile("lgdt %0" ::"m"(d));
	} else if (!strcmp(m, "out")) {
		__asm__ volatile("outb %%al, $0x80" ::"a"(0));
	} else if (!strcmp(m, "ud2")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(m, "div0")) {
		int q;
		__asm__ volatile("xor %%edx, %%edx; mov $7, %%eax; xor %%ecx, %%ecx; div %%ecx" : "=a"(q) : : "ecx", "edx");
		printf("%d\n", q);
	} else if (!strcmp(m, "int3")) {
		__asm__ volatile("int3");
	} else if (!strcmp(m, "entry-jump")) {
		/* Jump at the exception entry page itself. */
		((void (*)(void))0xffffff8040000070ull)();
	} else if (!strcmp(m, "ioctl")) {
		int fd = open("/proc/self/exe", O_RDONLY);
		int flags = 0;
		int fails = expect_errno("unvetted ioctl FS_IOC_GETFLAGS", ioctl(fd, FS_IOC_GETFLAGS, &flags), EPERM);
		fails += expect_errno("vetted ioctl TCGETS on a file", ioctl(fd, TCGETS, &flags), ENOTTY);
		return fails;
	} else {
		return 2;
	}
	printf("privileged instruction %s executed!\n", m);
	return 1;
}
