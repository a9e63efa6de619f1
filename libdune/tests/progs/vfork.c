/* vfork and posix_spawn as programs rely on them: the child shares the parent's memory until
 * it execs or exits. One mode per run; the output is the same natively and as a Dune process.
 *   enoent      posix_spawn of a missing program returns ENOENT in the parent
 *   spawn       posix_spawn of an existing program; waitpid gives its status
 *   store       a vfork child's stores (a variable, an mmap) are the parent's; _exit status
 *   execfail    a failed execve in a vfork child returns the error to the child
 *   sigaction   a vfork child's signal disposition and mask stay its own
 *   death       a vfork child killed by a signal; the parent goes on
 *   loop N      N posix_spawns: one in 8 of an existing program (its status), the others of a
 *               missing one (ENOENT each); memory stays bounded
 *   nested      a vfork child's own posix_spawn (ENOENT) and vfork reach it
 *   forkinside  a vfork child forks; its child's memory is a copy
 *   policykill  a vfork child killed by the policy (getpriority: SCMP_ACT_KILL_PROCESS in the test's policy)
 *   threads     vfork/posix_spawn from 4 threads at once; other threads run meanwhile
 *   cleartid    CLONE_CHILD_CLEARTID of a vfork child is cleared at its exit
 *   killed N    N vfork children killed with SIGKILL by another thread while their parent waits
 *   bench N [missing]  N posix_spawn+waitpid (or posix_spawns of a missing program), median
 *               and quartiles in us (not compared)
 *   exit CODE   (the spawned program) exits with CODE */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static const char *self;

static volatile int shared_word;
static volatile char *volatile shared_map;
static volatile int child_errno;

static int spawn_self(pid_t *pid, const char *code)
{
	char *argv[] = { (char *)"vfork", (char *)"exit", (char *)code, NULL };
	return posix_spawn(pid, self, NULL, NULL, argv, environ);
}

static int wait_code(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int mode_enoent(void)
{
	pid_t pid = 0;
	char *argv[] = { (char *)"missing", NULL };
	int rc = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
	printf("posix_spawn missing: %s\n", rc ? strerror(rc) : "0 (no error)");
	/* posix_spawnp searches PATH the same way. */
	rc = posix_spawnp(&pid, "dune-no-such-program", NULL, NULL, argv, environ);
	printf("posix_spawnp missing: %s\n", rc ? strerror(rc) : "0 (no error)");
	return 0;
}

static int mode_spawn(void)
{
	pid_t pid;
	int rc = spawn_self(&pid, "7");
	printf("posix_spawn: %d, status %d\n", rc, rc ? -1 : wait_code(pid));
	return 0;
}

static int mode_store(void)
{
	shared_word = 1;
	pid_t pid = vfork();
	if (pid == 0) {
		shared_word = 42;
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			((char *)m)[0] = 'v';
			shared_map = m;
		}
		_exit(3);
	}
	printf("vfork child stored %d, mapped %c, _exit status %d\n", shared_word,
	       shared_map ? shared_map[0] : '-', wait_code(pid));
	return 0;
}

static int mode_execfail(void)
{
	pid_t pid = vfork();
	if (pid == 0) {
		execl("/nonexistent/program", "x", (char *)NULL);
		child_errno = errno;
		_exit(9);
	}
	int code = wait_code(pid);
	printf("execve in the vfork child: %s, status %d\n", strerror(child_errno), code);
	return 0;
}

static volatile int usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen = 1; }

static int mode_sigaction(void)
{
	signal(SIGUSR1, on_usr1);
	pid_t pid = vfork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_IGN);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		sigprocmask(SIG_BLOCK, &s, NULL);
		raise(SIGUSR1); /* ignored here */
		_exit(0);
	}
	int code = wait_code(pid);
	raise(SIGUSR1);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("child status %d; parent handler %s, SIGUSR2 %s\n", code, usr1_seen ? "kept" : "lost",
	       sigismember(&cur, SIGUSR2) ? "blocked" : "not blocked");
	return 0;
}

static int mode_death(void)
{
	pid_t pid = vfork();
	if (pid == 0) {
		volatile int *bad = (volatile int *)8;
		__asm__("" : "+r"(bad));
		*bad = 1;
		_exit(0);
	}
	int code = wait_code(pid);
	pid_t p2;
	int rc = spawn_self(&p2, "5");
	printf("vfork child death %d; then posix_spawn %d, status %d\n", code, rc, rc ? -1 : wait_code(p2));
	return 0;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

static int mode_loop(int n)
{
	int bad = 0;
	long warm = 0;
	char *argv[] = { (char *)"missing", NULL };
	for (int i = 0; i < n && bad < 4; i++) {
		if (i == 50)
			warm = rss_kib();
		pid_t pid;
		if (i % 8 == 0) {
			int rc = spawn_self(&pid, "0");
			if (rc || wait_code(pid) != 0) {
				printf("spawn %d: %s\n", i, rc ? strerror(rc) : "bad status");
				bad++;
			}
			continue;
		}
		int rc = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
		if (rc != ENOENT) {
			printf("spawn %d of a missing program: %s\n", i, rc ? strerror(rc) : "0");
			bad++;
		}
	}
	long grew = rss_kib() - warm;
	printf("%d posix_spawns: %s, memory %s\n", n, bad ? "FAILED" : "ok", grew < 2048 ? "bounded" : "grew");
	if (grew >= 2048)
		printf("VmRSS grew by %ld KiB\n", grew);
	return 0;
}

static int mode_nested(void)
{
	volatile int inner_rc = -1, inner_store = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		pid_t p2;
		char *argv[] = { (char *)"missing", NULL };
		inner_rc = posix_spawn(&p2, "/nonexistent/program", NULL, NULL, argv, environ);
		pid_t p3 = vfork();
		if (p3 == 0) {
			inner_store = 7;
			_exit(2);
		}
		int code = wait_code(p3);
		_exit(code == 2 ? 0 : 1);
	}
	int code = wait_code(pid);
	printf("nested: posix_spawn %s, store %d, status %d\n", strerror(inner_rc), inner_store, code);
	return 0;
}

static int mode_forkinside(void)
{
	shared_word = 1;
	pid_t pid = vfork();
	if (pid == 0) {
		pid_t f = fork();
		if (f == 0) {
			shared_word = 99; /* a copy: neither the vfork child nor the parent sees it */
			void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				_exit(1);
			memset(m, 1, 1 << 20);
			_exit(6);
		}
		int code = wait_code(f);
		shared_word = code == 6 ? 2 : 3;
		_exit(0);
	}
	int code = wait_code(pid);
	printf("fork inside vfork: word %d, status %d\n", shared_word, code);
	return 0;
}

static int mode_policykill(void)
{
	pid_t pid = vfork();
	if (pid == 0) {
		syscall(SYS_getpriority, 0, 0);
		_exit(0);
	}
	int code = wait_code(pid);
	shared_word = 5;
	pid_t p2;
	int rc = spawn_self(&p2, "8");
	printf("policy-killed vfork child %d; parent goes on: %d, posix_spawn %d, status %d\n", code,
	       shared_word, rc, rc ? -1 : wait_code(p2));
	return 0;
}

static volatile int ticks, stop_ticking;
static void *ticker(void *arg)
{
	(void)arg;
	while (!stop_ticking) {
		ticks++;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *spawner(void *arg)
{
	long bad = 0;
	for (int i = 0; i < 25; i++) {
		pid_t pid;
		char *argv[] = { (char *)"missing", NULL };
		int rc = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
		if (rc != ENOENT) {
			fprintf(stderr, "posix_spawn of a missing program: %d\n", rc);
			bad++;
		}
		rc = spawn_self(&pid, "4");
		int code = rc ? -1 : wait_code(pid);
		if (code != 4) {
			fprintf(stderr, "posix_spawn: %d, status %d\n", rc, code);
			bad++;
		}
	}
	(void)arg;
	return (void *)bad;
}

static int mode_threads(void)
{
	pthread_t tick, sp[4];
	pthread_create(&tick, NULL, ticker, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&sp[i], NULL, spawner, NULL);
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(sp[i], &r);
		bad += (long)r;
	}
	/* The vforking thread waits, the others run: the ticker goes on while a child sleeps. */
	int before = ticks;
	pid_t pid = vfork();
	if (pid == 0) {
		struct timespec ts = { 0, 200000000 };
		nanosleep(&ts, NULL);
		_exit(0);
	}
	int during = ticks - before;
	wait_code(pid);
	stop_ticking = 1;
	pthread_join(tick, NULL);
	printf("4 threads x 25 posix_spawn pairs: %ld wrong; ticker ran during vfork: %s\n", bad,
	       during > 20 ? "yes" : "no");
	return 0;
}

/* The killer thread ends each vfork child from outside with SIGKILL while its parent waits. */
static volatile pid_t to_kill;
static volatile int killer_stop;
static void *killer(void *arg)
{
	(void)arg;
	while (!killer_stop) {
		pid_t pid = __atomic_exchange_n(&to_kill, 0, __ATOMIC_SEQ_CST);
		if (pid > 0)
			kill(pid, SIGKILL);
		else
			sched_yield();
	}
	return NULL;
}

static int mode_killed(int n)
{
	pthread_t k;
	pthread_create(&k, NULL, killer, NULL);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			__atomic_store_n(&to_kill, getpid(), __ATOMIC_SEQ_CST);
			for (;;)
				pause();
		}
		if (pid < 0 || wait_code(pid) != 1000 + SIGKILL)
			bad++;
	}
	killer_stop = 1;
	pthread_join(k, NULL);
	pid_t p2;
	int rc = spawn_self(&p2, "6");
	printf("%d vfork children killed from outside: %d wrong; then posix_spawn %d, status %d\n", n, bad, rc,
	       rc ? -1 : wait_code(p2));
	return 0;
}

static int cleartid_child(void *arg)
{
	(void)arg;
	_exit(0);
}

/* clone(CLONE_VM|CLONE_VFORK|CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID): the kernel writes the
 * child's tid, and clears it when the child's exit releases the memory it shares. */
static int mode_cleartid(void)
{
	static char stack[64 << 10] __attribute__((aligned(16)));
	static volatile pid_t ctid = 12345;
	pid_t pid = clone(cleartid_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_CHILD_SETTID |
			  CLONE_CHILD_CLEARTID | SIGCHLD, NULL, NULL, NULL, (pid_t *)&ctid);
	pid_t seen = ctid;
	int code = pid > 0 ? wait_code(pid) : -1;
	printf("clear_child_tid after the vfork child's exit: %s, status %d\n",
	       seen == 0 ? "cleared" : seen == pid ? "still the tid" : "never set", code);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* posix_spawn of a missing program: the vfork, the failed exec and the child's exit alone.
 * A monitor that gives the vfork child a copy returns 0 with a child exiting 127: timed too. */
static int spawn_missing(void)
{
	char *argv[] = { (char *)"missing", NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
	return rc == ENOENT || (rc == 0 && wait_code(pid) == 127) ? 0 : -1;
}

static int mode_bench(int n, bool missing)
{
	double *us = calloc((size_t)n, sizeof *us);
	if (!us)
		return 1;
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		pid_t pid;
		if (missing ? spawn_missing() : spawn_self(&pid, "0") || wait_code(pid) != 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof *us, cmp_double);
	printf("%s: n=%d median %.0f us (p25 %.0f, p75 %.0f)\n",
	       missing ? "posix_spawn of a missing program" : "posix_spawn+waitpid", n, us[n / 2], us[n / 4], us[3 * n / 4]);
	return 0;
}

int main(int argc, char **argv)
{
	self = "/proc/self/exe";
	static char path[4096];
	ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
	if (len > 0) {
		path[len] = 0;
		self = path;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *m = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 0;
	if (!strcmp(m, "exit"))
		return n;
	if (!strcmp(m, "enoent"))
		return mode_enoent();
	if (!strcmp(m, "spawn"))
		return mode_spawn();
	if (!strcmp(m, "store"))
		return mode_store();
	if (!strcmp(m, "execfail"))
		return mode_execfail();
	if (!strcmp(m, "sigaction"))
		return mode_sigaction();
	if (!strcmp(m, "death"))
		return mode_death();
	if (!strcmp(m, "loop"))
		return mode_loop(n);
	if (!strcmp(m, "nested"))
		return mode_nested();
	if (!strcmp(m, "forkinside"))
		return mode_forkinside();
	if (!strcmp(m, "policykill"))
		return mode_policykill();
	if (!strcmp(m, "cleartid"))
		return mode_cleartid();
	if (!strcmp(m, "killed"))
		return mode_killed(n);
	if (!strcmp(m, "threads"))
		return mode_threads();
	if (!strcmp(m, "bench"))
		return mode_bench(n, argc > 3 && !strcmp(argv[3], "missing"));
	fprintf(stderr, "usage: vfork enoent|spawn|store|execfail|sigaction|death|loop N|nested|forkinside|policykill|threads|cleartid|killed N|bench N\n");
	return 2;
}
