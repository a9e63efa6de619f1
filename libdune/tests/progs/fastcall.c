/* Fast calls (src/fastcall.h) as a program sees them: getpid() (glibc's wrapper, a site
 * the monitor rewrites) must always give what the exit path gives (syscall(SYS_getpid),
 * never rewritten), in the initial process, a forked child, after exec, after the program
 * rewrites its own text, in threads and in signal handlers that interrupt the stub; the
 * stub's pages must stay out of the program's reach. Usage: fastcall MODE [N]. Prints
 * "MODE ok" or why not (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static long raw_getpid(void) { return syscall(SYS_getpid); }

static int bad(const char *what, long got, long want)
{
	printf("%s: got %ld, want %ld\n", what, got, want);
	return 1;
}

/* n calls through the wrapper, each checked against the exit path's answer. */
static int loop(const char *what, long n)
{
	long want = raw_getpid();
	for (long i = 0; i < n; i++) {
		long got = getpid();
		if (got != want)
			return bad(what, got, want);
	}
	return 0;
}

/* Where glibc's getpid jumps once rewritten (0: not rewritten). */
static uint64_t stub_of_getpid(void)
{
	const uint8_t *f = (const uint8_t *)(uintptr_t)&getpid;
	if (f[0] != 0xe9)
		return 0;
	int32_t rel;
	memcpy(&rel, f + 1, 4);
	return (uint64_t)(uintptr_t)f + 5 + (int64_t)rel;
}

static int m_fork(long n)
{
	if (loop("parent", n))
		return 1;
	pid_t c = fork();
	if (c == 0)
		_exit(loop("child", n) || getpid() == getppid() ? 1 : 0);
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return bad("child status", st, 0);
	return loop("parent after fork", n);
}

static int m_exec(long n, char **argv)
{
	if (loop("before exec", n))
		return 1;
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	execl("/proc/self/exe", argv[0], "after-exec", pid, (char *)NULL);
	return bad("execl", errno, 0);
}

static int m_after_exec(const char *before, long n)
{
	if (atol(before) != getpid())
		return bad("pid across exec", getpid(), atol(before));
	return loop("after exec", n);
}

/* The program makes its own text writable, puts glibc's original mov back and calls again:
 * the answer stays right whatever the bytes are. */
static int m_mprotect(long n)
{
	if (loop("before mprotect", n))
		return 1;
	uint8_t *f = (uint8_t *)(uintptr_t)&getpid;
	uintptr_t page = (uintptr_t)f & ~(uintptr_t)4095;
	if (mprotect((void *)page, 8192, PROT_READ | PROT_WRITE | PROT_EXEC))
		return bad("mprotect rwx", errno, 0);
	static const uint8_t mov[5] = { 0xb8, SYS_getpid, 0, 0, 0 };
	memcpy(f, mov, sizeof mov);
	if (loop("own text restored (writable)", n))
		return 1;
	if (mprotect((void *)page, 8192, PROT_READ | PROT_EXEC))
		return bad("mprotect rx", errno, 0);
	return loop("own text restored (read-only again)", n);
}

static void *thread_loop(void *arg)
{
	return (void *)(intptr_t)loop("thread", (long)(intptr_t)arg);
}

static int m_threads(long n)
{
	if (loop("main before threads", n))
		return 1;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thread_loop, (void *)(intptr_t)n))
			return bad("pthread_create", i, 0);
	int fails = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		fails += (int)(intptr_t)r;
	}
	return fails;
}

/* Every instruction of the stub single-stepped (TF): SIGTRAP is delivered with RIP inside
 * it, the handler calls getpid itself, sigreturn resumes the stub. */
static volatile uint64_t stub_lo, in_stub, traps;
static volatile long handler_bad;
static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	traps++;
	if (rip >= stub_lo && rip < stub_lo + 32)
		in_stub++;
	if (getpid() != raw_getpid())
		handler_bad++;
}

static int m_signals(long n)
{
	if (loop("before signals", n))
		return 1;
	stub_lo = stub_of_getpid();
	if (!stub_lo)
		return bad("getpid was not rewritten (no stub)", 0, 1);
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	sigaction(SIGTRAP, &sa, NULL);
	long want = raw_getpid(), got;
	uint64_t flags_after;
	__asm__ volatile("pushf; orq $0x100, (%%rsp); popf\n\t"
			 "call getpid\n\t"
			 "pushf; andq $~0x100, (%%rsp); popf\n\t"
			 "pushf; pop %1"
			 : "=a"(got), "=r"(flags_after)
			 :
			 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	signal(SIGTRAP, SIG_DFL);
	if (got != want)
		return bad("getpid single-stepped", got, want);
	if (in_stub < 5)
		return bad("traps with RIP in the stub", (long)in_stub, 7);
	if (handler_bad)
		return bad("getpid in the handler wrong", handler_bad, 0);
	return 0;
}

/* The stub's pages are not the program's: no call takes a pointer into them, no memory
 * call changes them, a write faults. */
static int m_isolation(long n)
{
	if (loop("before isolation", n))
		return 1;
	uint64_t stub = stub_of_getpid();
	if (!stub)
		return bad("getpid was not rewritten (no stub)", 0, 1);
	uint64_t page = stub & ~4095ull;
	if (write(1, (void *)stub, 8) != -1 || errno != EFAULT)
		return bad("write() from the stub page: errno", errno, EFAULT);
	if (read(0, (void *)(page + 8192), 1) != -1 || errno != EFAULT)
		return bad("read() into the counter page: errno", errno, EFAULT);
	if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE) == 0)
		return bad("mprotect of the stub page succeeded", 0, -1);
	void *m = mmap((void *)page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m != MAP_FAILED)
		return bad("MAP_FIXED over the stub page succeeded", 0, -1);
	munmap((void *)page, 3 * 4096); /* not the program's: nothing happens */
	pid_t c = fork();
	if (c == 0) {
		*(volatile uint8_t *)stub = 0xc3;
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
		return bad("writing the stub: status", st, SIGSEGV);
	return loop("after isolation", n);
}

/* Under a policy that refuses getpid with EACCES: refused every time (glibc's wrapper
 * returns the kernel's -EACCES as it is), never rewritten. */
static int m_denied(long n)
{
	for (long i = 0; i < n; i++) {
		long got = getpid();
		if (got != -EACCES)
			return bad("denied getpid()", got, -EACCES);
		errno = 0;
		if (raw_getpid() != -1 || errno != EACCES)
			return bad("denied syscall(SYS_getpid): errno", errno, EACCES);
	}
	return stub_of_getpid() ? bad("denied getpid was rewritten", 1, 0) : 0;
}

/* A vfork child runs on its parent's memory, rewritten sites included: its getpid() must be
 * its own pid, not the parent's the stubs answer; the parent's stubs answer again after. */
static int m_vfork(long n)
{
	if (loop("parent before vfork", n))
		return 1;
	long parent = getpid();
	pid_t c = vfork();
	if (c == 0) {
		long mine = getpid();
		_exit(mine == parent ? 1 : mine != raw_getpid() ? 2 : 0);
	}
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return bad("vfork child's getpid (1: the parent's pid, 2: not its own)", WEXITSTATUS(st), 0);
	return loop("parent after vfork", n);
}

/* `mov $39,%eax` hidden in `41 b8 27 00 00 00` (mov $39,%r8d): the 7 bytes before the
 * syscall match a getpid site, but rewriting them would skip the write of r8d. */
static int m_prefixed(long n)
{
	long want = raw_getpid();
	for (long i = 0; i < n; i++) {
		long got;
		uint64_t r8;
		__asm__ volatile("xor %%r8d, %%r8d\n\tmov $39, %%eax\n\t.byte 0x41, 0xb8, 0x27, 0, 0, 0\n\tsyscall\n\tmov %%r8, %1"
				 : "=a"(got), "=r"(r8)
				 :
				 : "rcx", "r8", "r11", "memory");
		if (got != want || (uint32_t)r8 != 39)
			return bad("mov $39,%r8d; syscall: r8d", (long)(uint32_t)r8, 39);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "loop";
	long n = argc > 2 ? atol(argv[2]) : 1000;
	int rc;
	if (!strcmp(mode, "loop"))
		rc = loop("loop", n);
	else if (!strcmp(mode, "fork"))
		rc = m_fork(n);
	else if (!strcmp(mode, "exec"))
		rc = m_exec(n, argv);
	else if (!strcmp(mode, "after-exec"))
		rc = m_after_exec(argv[2], 1000), mode = "exec";
	else if (!strcmp(mode, "mprotect"))
		rc = m_mprotect(n);
	else if (!strcmp(mode, "threads"))
		rc = m_threads(n);
	else if (!strcmp(mode, "signals"))
		rc = m_signals(n);
	else if (!strcmp(mode, "isolation"))
		rc = m_isolation(n);
	else if (!strcmp(mode, "vfork"))
		rc = m_vfork(n);
	else if (!strcmp(mode, "prefixed"))
		rc = m_prefixed(n);
	else if (!strcmp(mode, "denied"))
		rc = m_denied(n);
	else if (!strcmp(mode, "rewritten"))
		rc = loop("rewritten", n) || !stub_of_getpid();
	else
		return printf("unknown mode %s\n", mode), 2;
	if (!rc)
		printf("%s ok\n", mode);
	return rc ? 1 : 0;
}
