/* Probes of the module's in-kernel syscall fast path (kmod/syscall.c); every mode also runs
 * natively or under KVM (no fast path), where its output must be the same.
 *   kcalls loop N     N rounds of the calls the module may perform, each result checked
 *   kcalls monfd      the monitor's descriptors (listed in /proc/self/fd but refused by fstat)
 *                     refuse read/write/pread64/pwrite64/lseek/fstat too: prints their count
 *   kcalls denied     pwrite64, refused by the policy (EPERM), writes nothing
 *   kcalls restart    a read blocked on a pipe, interrupted by SIGALRM with SA_RESTART
 *   kcalls norestart  the same without SA_RESTART
 *   kcalls block      prints "blocking", then reads stdin forever */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int bad(const char *what, long rc)
{
	printf("%s: rc %ld errno %d\n", what, rc, errno);
	return 1;
}

static int one_round(int zero, int null, int file, long pid)
{
	char buf[256];
	struct stat st;
	struct timespec ts;
	memset(buf, 0xff, sizeof buf);
	long rc = syscall(SYS_read, zero, buf, sizeof buf);
	if (rc != (long)sizeof buf || buf[0] || buf[255])
		return bad("read /dev/zero", rc);
	if ((rc = syscall(SYS_write, null, buf, 100)) != 100)
		return bad("write /dev/null", rc);
	if ((rc = syscall(SYS_pwrite64, file, "abcdef", 6, 10)) != 6)
		return bad("pwrite64", rc);
	memset(buf, 0, 8);
	if ((rc = syscall(SYS_pread64, file, buf, 3, 12)) != 3 || memcmp(buf, "cde", 3))
		return bad("pread64", rc);
	if ((rc = syscall(SYS_lseek, file, 0, SEEK_END)) != 16)
		return bad("lseek", rc);
	if ((rc = syscall(SYS_fstat, file, &st)) != 0 || st.st_size != 16)
		return bad("fstat", rc);
	if ((rc = syscall(SYS_getpid)) != pid || (rc = syscall(SYS_gettid)) != pid)
		return bad("getpid/gettid", rc);
	if ((rc = syscall(SYS_getuid)) != (long)getuid() || (rc = syscall(SYS_getegid)) != (long)getegid())
		return bad("getuid/getegid", rc);
	if ((rc = syscall(SYS_getrandom, buf, 16, 0)) != 16)
		return bad("getrandom", rc);
	if ((rc = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts)) != 0 || ts.tv_nsec >= 1000000000)
		return bad("clock_gettime", rc);
	/* Buffers the kernel must not use: a read-only page for read, an unmapped one for write. */
	if ((rc = syscall(SYS_read, zero, (void *)"const", 4)) != -1 || errno != EFAULT)
		return bad("read into read-only memory", rc);
	if ((rc = syscall(SYS_write, file, (void *)8, 4)) != -1 || errno != EFAULT)
		return bad("write from page 0", rc);
	return 0;
}

static int loop(long n)
{
	char path[] = "/tmp/kcalls-XXXXXX";
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY), file = mkstemp(path);
	if (zero < 0 || null < 0 || file < 0)
		return bad("open", -1);
	unlink(path);
	long pid = getpid();
	for (long i = 0; i < n; i++)
		if (one_round(zero, null, file, pid))
			return 1;
	printf("ok\n");
	return 0;
}

/* Every descriptor the process has (/proc/self/fd) that fstat refuses is the monitor's. */
static int monfd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int refused = 0, own = 0, me = d ? dirfd(d) : -1;
	char buf[16];
	struct stat st;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == me)
			continue;
		if (syscall(SYS_fstat, fd, &st) == 0) {
			own++;
			continue;
		}
		if (errno != EBADF)
			return bad("fstat of a listed descriptor", -1);
		refused++;
		if (syscall(SYS_read, fd, buf, sizeof buf) != -1 || errno != EBADF ||
		    syscall(SYS_write, fd, buf, 1) != -1 || errno != EBADF ||
		    syscall(SYS_pread64, fd, buf, sizeof buf, 0) != -1 || errno != EBADF ||
		    syscall(SYS_pwrite64, fd, buf, 1, 0) != -1 || errno != EBADF ||
		    syscall(SYS_lseek, fd, 0, SEEK_SET) != -1 || errno != EBADF) {
			printf("monitor descriptor %d reachable\n", fd);
			return 1;
		}
	}
	if (d)
		closedir(d);
	printf("own %d, monitor's refused %d\n", own, refused);
	return 0;
}

static int denied(void)
{
	char path[] = "/tmp/kcalls-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;
	if (fd < 0)
		return bad("mkstemp", -1);
	unlink(path);
	long rc = syscall(SYS_pwrite64, fd, "x", 1, 0);
	int e = errno;
	if (fstat(fd, &st))
		return bad("fstat", -1);
	printf("pwrite64: %ld %s, size %ld\n", rc, rc < 0 ? strerror(e) : "", (long)st.st_size);
	return 0;
}

static volatile sig_atomic_t handled;
static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

/* A child writes into the pipe after 400 ms; SIGALRM comes after 100 ms. */
static int restart(int flags)
{
	int p[2];
	char buf[8];
	if (pipe(p))
		return bad("pipe", -1);
	pid_t c = fork();
	if (c == 0) {
		struct timespec ts = { 0, 400000000 };
		nanosleep(&ts, NULL);
		if (write(p[1], "hello", 5) != 5)
			_exit(1);
		_exit(0);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long rc = syscall(SYS_read, p[0], buf, 5);
	int e = errno;
	printf("read: %ld%s%s, handler ran %d\n", rc, rc < 0 ? " " : "", rc < 0 ? strerrorname_np(e) : "", (int)handled);
	waitpid(c, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "loop"))
		return loop(atol(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "monfd"))
		return monfd();
	if (argc == 2 && !strcmp(argv[1], "denied"))
		return denied();
	if (argc == 2 && !strcmp(argv[1], "restart"))
		return restart(SA_RESTART);
	if (argc == 2 && !strcmp(argv[1], "norestart"))
		return restart(0);
	if (argc == 2 && !strcmp(argv[1], "block")) {
		char c;
		printf("blocking\n");
		return (int)read(0, &c, 1);
	}
	fprintf(stderr, "usage: kcalls loop N | monfd | denied | restart | norestart | block\n");
	return 2;
}
