/* Workloads run natively and under dune-run (the "Linux" and "Dune
 * sandbox" columns). Usage: guest MODE N; prints "MODE ns_per_op". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char *pages;
static long npages;
static char *cur_prot;

/* mov (%rdi), %eax is two bytes: skip it (pure trap cost). */
static void trap_skip(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static void trap_appel1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)ucv;
	char *page = (char *)((unsigned long)si->si_addr & ~4095ul);
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
	char *other = page == pages ? pages + 4096 : pages;
	mprotect(other, 4096, PROT_NONE);
}

static void trap_unprot(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)ucv;
	mprotect((void *)((unsigned long)si->si_addr & ~4095ul), 4096, PROT_READ | PROT_WRITE);
}

static void on_segv(void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
}

static inline void load(const void *p)
{
	int v;
	__asm__ volatile("mov (%1), %0" : "=a"(v) : "D"(p) : "memory");
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mode = argv[1];
	long n = atol(argv[2]);
	double t0 = 0, t1 = 0;
	(void)cur_prot;
	if (!strcmp(mode, "exit0")) {
		return 0; /* the program forkexec runs */
	} else if (!strcmp(mode, "forkexec")) {
		/* fork + execve of this same static program (mode exit0) + exit + wait4. */
		char *const args[] = { argv[0], (char *)"exit0", (char *)"0", NULL };
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				execv(argv[0], args);
				_exit(127);
			}
			int st;
			if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "forkexec: child %d failed\n", (int)pid);
				return 1;
			}
		}
		t1 = now_ns();
	} else if (!strcmp(mode, "spawnexec")) {
		/* posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), the child shares memory until it
		 * execs) of this same static program (mode exit0) + exit + wait4. */
		char *const args[] = { argv[0], (char *)"exit0", (char *)"0", NULL };
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pid_t pid;
			int st;
			if (posix_spawn(&pid, argv[0], NULL, NULL, args, environ) ||
			    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "spawnexec: child %ld failed\n", i);
				return 1;
			}
		}
		t1 = now_ns();
	} else if (!strcmp(mode, "getpid")) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
		t1 = now_ns();
	} else if (!strcmp(mode, "getpid-libc")) {
		/* glibc's wrapper (mov $39,%eax; syscall): a site dune-run rewrites (fast calls). */
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			getpid();
		t1 = now_ns();
	} else if (!strcmp(mode, "fcntl")) {
		/* A cheap call no fast path answers: fcntl(0, F_GETFD). */
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			fcntl(0, F_GETFD);
		t1 = now_ns();
	} else if (!strcmp(mode, "read0")) {
		char c;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (read(0, &c, 0) < 0)
				return 1;
		t1 = now_ns();
	} else if (!strcmp(mode, "openclose")) {
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			close(open("/dev/null", O_RDONLY));
		t1 = now_ns();
	} else if (!strcmp(mode, "fault")) {
		char *m = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			m[i * 4096] = 1;
		t1 = now_ns();
	} else if (!strcmp(mode, "fault-random")) {
		/* n pages touched once each in a random order (no address-ordered run). */
		char *m = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long *order = malloc((size_t)n * sizeof *order);
		for (long i = 0; i < n; i++)
			order[i] = i;
		unsigned long x = 88172645463325252ul;
		for (long i = n - 1; i > 0; i--) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			long j = (long)(x % (unsigned long)(i + 1)), t = order[i];
			order[i] = order[j], order[j] = t;
		}
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			m[order[i] * 4096] = 1;
		t1 = now_ns();
	} else if (!strcmp(mode, "fault-sparse")) {
		/* One page per 64 KiB, in order. */
		char *m = mmap(NULL, (size_t)n << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			m[i << 16] = 1;
		t1 = now_ns();
	} else if (!strcmp(mode, "trap")) {
		pages = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		on_segv(trap_skip);
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			load(pages);
		t1 = now_ns();
	} else if (!strcmp(mode, "appel1")) {
		pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mprotect(pages, 4096, PROT_NONE);
		on_segv(trap_appel1);
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			load(pages + ((i & 1) ? 4096 : 0));
		t1 = now_ns();
	} else if (!strcmp(mode, "appel2")) {
		npages = 100;
		pages = mmap(NULL, (size_t)npages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(pages, 1, (size_t)npages * 4096);
		on_segv(trap_unprot);
		long rounds = n / npages + 1;
		t0 = now_ns();
		for (long r = 0; r < rounds; r++) {
			mprotect(pages, (size_t)npages * 4096, PROT_NONE);
			for (long i = 0; i < npages; i++)
				load(pages + i * 4096);
		}
		t1 = now_ns();
		n = rounds * npages;
	} else if (!strcmp(mode, "cpu")) {
		volatile unsigned long x = 1;
		unsigned long y = 1;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			y = y * 6364136223846793005ul + 1442695040888963407ul;
		x = y;
		(void)x;
		t1 = now_ns();
	} else if (!strcmp(mode, "mem")) {
		/* n MiB: touch every page, then a second pass over the data. */
		size_t len = (size_t)n << 20;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		t0 = now_ns();
		for (size_t i = 0; i < len; i += 4096)
			m[i] = (char)i;
		unsigned long sum = 0;
		for (size_t i = 0; i < len; i += 64)
			sum += (unsigned char)m[i];
		t1 = now_ns();
		if (sum == 42)
			puts("");
		n = 1;
	} else {
		return 2;
	}
	printf("%s %.3f\n", mode, (t1 - t0) / (double)n); /* the CPU loop is about 1.4 ns per iteration */
	return 0;
}
