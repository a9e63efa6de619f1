/* Thread life cycle under dune-run: what the program relies on at thread
 * exit (clear_child_tid for pthread_join, robust futexes) and that ended
 * threads give their resources back.
 *   threadlife join      many threads joined, results checked
 *   threadlife robust    robust mutex of an ended thread: EOWNERDEAD (with and without a waiter)
 *   threadlife lists     set_tid_address / get_robust_list answers
 *   threadlife shared    process-shared robust mutex: child exit_group / child killed by SIGSEGV
 *   threadlife ctid-remap clear_child_tid whose page was unmapped: cleared on a new page mapped there, no error on none
 *   threadlife cycles N  N create/join cycles after a 50-cycle warm-up; prints and bounds the growth */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...) do { printf(__VA_ARGS__); printf("\n"); exit(1); } while (0)

static void *ret_arg(void *arg) { return (void *)((long)arg * 3 + 1); }

static void *outlive(void *arg)
{
	pthread_join(*(pthread_t *)arg, NULL); /* the forking thread ended first */
	exit(7);
}

/* Forks from a second thread: in the child that thread ends while a
 * thread it started carries on and exits the process. */
static void *fork_from_thread(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0) {
		static pthread_t self, u;
		self = pthread_self();
		pthread_create(&u, NULL, outlive, &self);
		pthread_exit(NULL);
	}
	int st;
	waitpid(pid, &st, 0);
	return (void *)(long)st;
}

static int join_test(void)
{
	for (int round = 0; round < 100; round++) {
		pthread_t t[8];
		for (long i = 0; i < 8; i++)
			if (pthread_create(&t[i], NULL, ret_arg, (void *)(round * 8 + i)))
				FAIL("pthread_create failed in round %d", round);
		for (long i = 0; i < 8; i++) {
			void *r;
			if (pthread_join(t[i], &r) || (long)r != (round * 8 + i) * 3 + 1)
				FAIL("join %ld of round %d: bad result", i, round);
		}
	}
	/* A forked child starts over with its own vCPUs (the parent's idle
	 * ones belong to the parent's VM) and its own thread records. */
	pid_t pid = fork();
	if (pid == 0) {
		for (long i = 0; i < 50; i++) {
			pthread_t c;
			void *r;
			if (pthread_create(&c, NULL, ret_arg, (void *)i) || pthread_join(c, &r) || (long)r != i * 3 + 1)
				_exit(3);
		}
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		FAIL("threads in a forked child: status %#x", st);
	pthread_t f;
	void *fst;
	pthread_create(&f, NULL, fork_from_thread, NULL);
	pthread_join(f, &fst);
	if (!WIFEXITED((long)fst) || WEXITSTATUS((long)fst) != 7)
		FAIL("child forked from a thread: status %#lx, wanted exit 7", (long)fst);
	printf("joined 800 threads, 50 more in a forked child\n");
	return 0;
}

static pthread_mutex_t rm;
static pthread_mutex_t step = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t step_cv = PTHREAD_COND_INITIALIZER;
static int locked;

static void *lock_and_leave(void *arg)
{
	pthread_mutex_lock(&rm);
	pthread_mutex_lock(&step);
	locked = 1;
	pthread_cond_signal(&step_cv);
	pthread_mutex_unlock(&step);
	if (arg) {
		/* Let the main thread block on rm first (FUTEX_WAITERS set). */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL; /* exits holding rm */
}

static int robust_once(int with_waiter)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&rm, &a);
	locked = 0;
	pthread_t t;
	pthread_create(&t, NULL, lock_and_leave, with_waiter ? (void *)1 : NULL);
	pthread_mutex_lock(&step);
	while (!locked)
		pthread_cond_wait(&step_cv, &step);
	pthread_mutex_unlock(&step);
	if (!with_waiter)
		pthread_join(t, NULL);
	int rc = pthread_mutex_lock(&rm); /* blocks until the owner is gone when with_waiter */
	if (rc != EOWNERDEAD)
		FAIL("robust mutex of an ended thread (%s): %s, expected EOWNERDEAD",
		     with_waiter ? "waiter" : "after join", strerror(rc));
	pthread_mutex_consistent(&rm);
	pthread_mutex_unlock(&rm);
	if (pthread_mutex_lock(&rm) != 0)
		FAIL("robust mutex not usable after pthread_mutex_consistent");
	pthread_mutex_unlock(&rm);
	if (with_waiter)
		pthread_join(t, NULL);
	return 0;
}

static int robust_test(void)
{
	robust_once(0);
	robust_once(1);
	printf("robust: EOWNERDEAD after join and for a waiter\n");
	return 0;
}

struct head_report {
	long tid;
	void *head;
	size_t len;
	pthread_mutex_t go;
};

static void *report_head(void *arg)
{
	struct head_report *h = arg;
	h->tid = syscall(SYS_gettid);
	syscall(SYS_get_robust_list, 0, &h->head, &h->len);
	pthread_mutex_unlock(&h->go); /* main may look now */
	pthread_mutex_lock(&step);   /* stay alive until main is done */
	pthread_mutex_unlock(&step);
	return NULL;
}

static int lists_test(void)
{
	long tid = syscall(SYS_gettid);
	int dummy;
	long r = syscall(SYS_set_tid_address, &dummy);
	if (r != tid)
		FAIL("set_tid_address returned %ld, tid is %ld", r, tid);
	void *head = NULL;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, 0, &head, &len) || len != 24 || !head)
		FAIL("get_robust_list(0): head %p len %zu", head, len);
	struct { void *next; long off; void *pending; } mine = { &mine, 0, NULL };
	if (syscall(SYS_set_robust_list, &mine, 23) != -1 || errno != EINVAL)
		FAIL("set_robust_list with a bad size accepted");
	if (syscall(SYS_set_robust_list, &mine, sizeof mine))
		FAIL("set_robust_list: %s", strerror(errno));
	void *now = NULL;
	syscall(SYS_get_robust_list, 0, &now, &len);
	if (now != &mine)
		FAIL("get_robust_list after set: %p, expected %p", now, (void *)&mine);
	syscall(SYS_set_robust_list, head, 24); /* glibc's own list back */

	struct head_report h = { .go = PTHREAD_MUTEX_INITIALIZER };
	pthread_mutex_lock(&h.go);
	pthread_mutex_lock(&step);
	pthread_t t;
	pthread_create(&t, NULL, report_head, &h);
	pthread_mutex_lock(&h.go);
	void *other = NULL;
	size_t olen = 0;
	if (syscall(SYS_get_robust_list, h.tid, &other, &olen) || other != h.head || olen != 24)
		FAIL("get_robust_list(%ld) = %p, the thread says %p", h.tid, other, h.head);
	if (other == head)
		FAIL("two threads report the same robust list head");
	pthread_mutex_unlock(&step);
	pthread_join(t, NULL);
	/* join returns once clear_child_tid is cleared, which is before the
	 * thread is gone (natively too): give it a moment. */
	int tries = 0;
	while (syscall(SYS_get_robust_list, h.tid, &other, &olen) != -1 && tries++ < 1000)
		usleep(1000);
	if (errno != ESRCH)
		FAIL("get_robust_list of an ended thread did not fail with ESRCH: %s", strerror(errno));
	if (syscall(SYS_get_robust_list, 0, (void *)8, &olen) != -1 || errno != EFAULT)
		FAIL("get_robust_list to a bad pointer did not fail with EFAULT");
	printf("lists: set_tid_address, set/get_robust_list ok\n");
	return 0;
}

/* clear_child_tid is written at the thread's exit to whatever the program has at that
 * address then, as on Linux: a page mapped anew there is cleared, no page is no error. */
static int ctid_pipe[2];
static volatile pid_t ctid_tid;

static void *leave_with_ctid(void *arg)
{
	syscall(SYS_set_tid_address, arg);
	ctid_tid = (pid_t)syscall(SYS_gettid);
	char c;
	while (read(ctid_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	syscall(SYS_exit, 0); /* raw: the kernel (here the monitor) clears clear_child_tid */
	return NULL;
}

static void ctid_once(int remap)
{
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		FAIL("mmap: %s", strerror(errno));
	volatile uint32_t *w = (uint32_t *)(m + 64);
	pthread_t t;
	ctid_tid = 0;
	if (pthread_create(&t, NULL, leave_with_ctid, (void *)w) || pthread_detach(t))
		FAIL("pthread_create");
	while (!ctid_tid)
		usleep(1000);
	if (munmap(m, 4096))
		FAIL("munmap: %s", strerror(errno));
	if (remap) {
		if (mmap(m, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != m)
			FAIL("mapping the page again: %s", strerror(errno));
		*w = 0x1234;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d", ctid_tid);
	if (write(ctid_pipe[1], "x", 1) != 1)
		FAIL("write");
	for (int i = 0; i < 1000 && access(path, F_OK) == 0; i++)
		usleep(1000);
	if (access(path, F_OK) == 0)
		FAIL("thread %d did not end", ctid_tid);
	if (remap && *w != 0)
		FAIL("clear_child_tid on the page mapped anew: %#x, not cleared", *w);
}

static int ctid_remap_test(void)
{
	if (pipe(ctid_pipe))
		FAIL("pipe");
	ctid_once(0);
	ctid_once(1);
	printf("ctid-remap: unmapped no error, mapped anew cleared\n");
	return 0;
}

/* A process-shared robust mutex whose owner process ends (exit_group or a
 * fault the monitor turns into death by SIGSEGV) while holding it. */
static int shared_once(pthread_mutex_t *m, int crash)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(m);
		if (crash) {
			volatile int *nul = NULL;
			__asm__("" : "+r"(nul));
			*nul = 1;
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (crash ? !(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) : !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		FAIL("child status %#x", st);
	int rc = pthread_mutex_trylock(m);
	if (rc != EOWNERDEAD)
		FAIL("shared robust mutex after the owner %s: %s, expected EOWNERDEAD",
		     crash ? "died of SIGSEGV" : "called exit_group", strerror(rc));
	pthread_mutex_consistent(m);
	pthread_mutex_unlock(m);
	return 0;
}

static int shared_test(void)
{
	pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	shared_once(m, 0);
	shared_once(m, 1);
	printf("shared: EOWNERDEAD after exit_group and after SIGSEGV\n");
	return 0;
}

static void status_kb(long *size, long *rss)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	*size = *rss = -1;
	while (f && fgets(line, sizeof line, f)) {
		sscanf(line, "VmSize: %ld", size);
		sscanf(line, "VmRSS: %ld", rss);
	}
	if (f)
		fclose(f);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void cycle(int i)
{
	pthread_t t;
	void *r;
	if (pthread_create(&t, NULL, ret_arg, (void *)(long)i))
		FAIL("pthread_create failed at cycle %d", i);
	if (pthread_join(t, &r) || (long)r != (long)i * 3 + 1)
		FAIL("join failed at cycle %d", i);
}

static int cycles_test(int n)
{
	for (int i = 0; i < 50; i++)
		cycle(i);
	long s0, r0, s1, r1;
	status_kb(&s0, &r0);
	double t0 = now();
	for (int i = 0; i < n; i++)
		cycle(i);
	double dt = now() - t0;
	status_kb(&s1, &r1);
	printf("cycles=%d VmSize %ld -> %ld kB VmRSS %ld -> %ld kB %.1f us/cycle\n", n, s0, s1, r0, r1,
	       dt * 1e6 / n);
	if (r1 - r0 >= 8 * 1024 || s1 - s0 >= 64 * 1024)
		FAIL("grew too much");
	printf("bounded\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "join"))
		return join_test();
	if (!strcmp(m, "robust"))
		return robust_test();
	if (!strcmp(m, "lists"))
		return lists_test();
	if (!strcmp(m, "shared"))
		return shared_test();
	if (!strcmp(m, "ctid-remap"))
		return ctid_remap_test();
	if (!strcmp(m, "cycles"))
		return cycles_test(argc > 2 ? atoi(argv[2]) : 1100);
	fprintf(stderr, "usage: threadlife join|robust|lists|shared|ctid-remap|cycles [N]\n");
	return 2;
}
