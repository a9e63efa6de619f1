/*
 * opsbench: the cost of single operations inside a container (make bench, e2e/bench/ops.sh).
 *
 *   opsbench [-t MS] OP...   runs each OP for about MS milliseconds (default 300) in batches
 *                            and prints "OP MEDIAN_NS BATCHES": the median over the batches
 *                            of the nanoseconds one operation took.
 *   opsbench -r R OP:N...    fixed counts instead (make bench's VM part, e2e/bench/vm.sh): one
 *                            warm-up batch, then R batches of N operations each (touch: one
 *                            fresh mapping of N pages per batch); prints the same line
 *   opsbench nop             exits 0 at once (the program fork+exec and the shell loop run)
 *
 * OPs: getpid (the raw system call, no libc cache), getpidlibc (libc's getpid()), openclose (open+close of /etc/passwd),
 * forkexec (fork, execve of this program with "nop", waitpid), pipe (one byte to a child
 * and back over two pipes: one round trip), touch (first write to each page of a fresh
 * 16 MiB anonymous mapping, pages in a random order: ns per page), shell200 (/bin/sh running
 * a loop of 200 fork+execs of this program: ns per loop), gcc (gcc -O0 of a hello world into
 * /tmp, then running it: ns per compile+run; needs a writable /tmp and gcc on the PATH).
 *
 * A batch runs N operations, N sized by a warm-up (doubling until one batch takes 10 ms) so
 * that a batch takes about 2 ms (heavy operations run one per batch, after one warm-up run);
 * batches repeat until the time is spent, at least MIN_BATCHES of them (MIN_HEAVY_BATCHES
 * of heavy ones). Static (runs in any root filesystem); exits 1 with a message when an operation fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_BATCHES 5
#define MIN_HEAVY_BATCHES 3
#define MAX_BATCHES 4096
#define TOUCH_PAGES 4096
#define PAGE 4096

struct bench {
	const char *self;   /* absolute path of this program */
	int to_child, from_child;
	pid_t child;
	char *map;
	uint32_t pages;     /* touch: pages of one fresh mapping (TOUCH_PAGES, or N of touch:N) */
	uint32_t order[TOUCH_PAGES];
};

static void die(const char *what)
{
	fprintf(stderr, "opsbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* run ARGV (PATH lookup), wait; exits the benchmark unless it exits 0 */
static void run_wait(char *const argv[])
{
	int status;
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "opsbench: %s exited with status 0x%x\n", argv[0], status);
		exit(1);
	}
}

static void op_getpid(struct bench *b, long n)
{
	(void)b;
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
}

/* libc's getpid(): the call site Dune mode's fast calls rewrite (libdune/README.md). */
static void op_getpid_libc(struct bench *b, long n)
{
	(void)b;
	for (long i = 0; i < n; i++)
		__asm__ volatile("" : : "r"(getpid()) : "memory");
}

static void op_openclose(struct bench *b, long n)
{
	(void)b;
	for (long i = 0; i < n; i++) {
		int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open /etc/passwd");
		close(fd);
	}
}

static void op_forkexec(struct bench *b, long n)
{
	char *argv[] = {(char *)b->self, "nop", NULL};
	for (long i = 0; i < n; i++)
		run_wait(argv);
}

static void pipe_child(int in, int out)
{
	char c;
	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			_exit(1);
	_exit(0);
}

static void pipe_start(struct bench *b)
{
	int down[2], up[2];
	if (pipe(down) < 0 || pipe(up) < 0)
		die("pipe");
	b->child = fork();
	if (b->child < 0)
		die("fork");
	if (b->child == 0) {
		close(down[1]);
		close(up[0]);
		pipe_child(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	b->to_child = down[1];
	b->from_child = up[0];
}

static void op_pipe(struct bench *b, long n)
{
	char c = 'x';
	for (long i = 0; i < n; i++)
		if (write(b->to_child, &c, 1) != 1 || read(b->from_child, &c, 1) != 1)
			die("pipe round trip");
}

static void pipe_stop(struct bench *b)
{
	close(b->to_child);
	close(b->from_child);
	waitpid(b->child, NULL, 0);
}

static void touch_start(struct bench *b)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (uint32_t i = 0; i < b->pages; i++)
		b->order[i] = i;
	for (uint32_t i = b->pages - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t j = (uint32_t)(x % (i + 1)), t = b->order[i];
		b->order[i] = b->order[j];
		b->order[j] = t;
	}
}

/* one batch = one fresh mapping; n is always 1 (see heavy), the cost is per page */
static void op_touch(struct bench *b, long n)
{
	for (long k = 0; k < n; k++) {
		char *m = mmap(NULL, (size_t)b->pages * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			die("mmap");
		for (uint32_t i = 0; i < b->pages; i++)
			m[(size_t)b->order[i] * PAGE] = 1;
		munmap(m, (size_t)b->pages * PAGE);
	}
}

static void op_shell200(struct bench *b, long n)
{
	char script[512];
	snprintf(script, sizeof script,
		 "i=0; while [ $i -lt 200 ]; do %s nop; i=$((i+1)); done", b->self);
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	for (long i = 0; i < n; i++)
		run_wait(argv);
}

static void gcc_start(struct bench *b)
{
	(void)b;
	FILE *f = fopen("/tmp/opsbench-hello.c", "w");
	if (!f)
		die("/tmp/opsbench-hello.c");
	fputs("#include <stdio.h>\nint main(void) { puts(\"hello, world\"); return 0; }\n", f);
	if (fclose(f) != 0)
		die("/tmp/opsbench-hello.c");
}

static void op_gcc(struct bench *b, long n)
{
	(void)b;
	char *cc[] = {"gcc", "-O0", "-o", "/tmp/opsbench-hello", "/tmp/opsbench-hello.c", NULL};
	char *run[] = {"/tmp/opsbench-hello", NULL};
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), out = dup(1);
	if (null < 0 || out < 0)
		die("/dev/null");
	dup2(null, 1); /* hello's line is not part of our output */
	for (long i = 0; i < n; i++) {
		run_wait(cc);
		run_wait(run);
	}
	dup2(out, 1);
	close(out);
	close(null);
}

struct op {
	const char *name;
	void (*run)(struct bench *, long);
	void (*start)(struct bench *);
	void (*stop)(struct bench *);
	int heavy;     /* one operation per batch */
	int per_page;  /* the cost is per page of one mapping (touch): divided by b->pages */
};

static const struct op ops[] = {
	{"getpid", op_getpid, NULL, NULL, 0, 0},
	{"getpidlibc", op_getpid_libc, NULL, NULL, 0, 0},
	{"openclose", op_openclose, NULL, NULL, 0, 0},
	{"forkexec", op_forkexec, NULL, NULL, 0, 0},
	{"pipe", op_pipe, pipe_start, pipe_stop, 0, 0},
	{"touch", op_touch, touch_start, NULL, 1, 1},
	{"shell200", op_shell200, NULL, NULL, 1, 0},
	{"gcc", op_gcc, gcc_start, NULL, 1, 0},
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t batch_ns(struct bench *b, const struct op *op, long n)
{
	uint64_t t0 = now_ns();
	op->run(b, n);
	return now_ns() - t0;
}

/* median of the K per-operation times in PER (sorted here), printed as "OP MEDIAN_NS K" */
static void report(const struct op *op, uint64_t *per, int k)
{
	qsort(per, (size_t)k, sizeof per[0], cmp_u64);
	uint64_t med = (k % 2) ? per[k / 2] : (per[k / 2 - 1] + per[k / 2]) / 2;
	printf("%s %llu %d\n", op->name, (unsigned long long)med, k);
	fflush(stdout);
}

/* fixed counts (-r R OP:N): one warm-up batch, then R batches of N operations (touch: one
 * mapping of N pages) */
static void measure_fixed(struct bench *b, const struct op *op, long n, int rounds)
{
	static uint64_t per[MAX_BATCHES];
	if (op->per_page) {
		b->pages = (uint32_t)n;
		n = 1;
	}
	if (op->start)
		op->start(b);
	batch_ns(b, op, n);
	for (int k = 0; k < rounds; k++)
		per[k] = batch_ns(b, op, n) / (uint64_t)(n * (op->per_page ? b->pages : 1));
	if (op->stop)
		op->stop(b);
	report(op, per, rounds);
}

static void measure(struct bench *b, const struct op *op, uint64_t budget_ns)
{
	static uint64_t per[MAX_BATCHES];
	long n = 1;
	int k = 0;
	uint64_t spent = 0, t;
	if (op->start)
		op->start(b);
	if (!op->heavy) {
		/* warm up while sizing the batch: double until one batch takes 10 ms (a stall
		 * of a loaded host is then small against it), then scale to 2 ms batches */
		while ((t = batch_ns(b, op, n)) < 10000000 && n < (1L << 30))
			n *= 2;
		n = (long)((double)n * 2000000.0 / (double)t);
		if (n < 1)
			n = 1;
	} else {
		batch_ns(b, op, 1);
	}
	int min = op->heavy ? MIN_HEAVY_BATCHES : MIN_BATCHES;
	while (k < MAX_BATCHES && (k < min || spent < budget_ns)) {
		t = batch_ns(b, op, n);
		spent += t;
		per[k++] = t / (uint64_t)(n * (op->per_page ? b->pages : 1));
	}
	if (op->stop)
		op->stop(b);
	report(op, per, k);
}

/* OP or OP:N (N after the colon, 0 when none); NULL when OP is not an operation */
static const struct op *find_op(const char *arg, long *n)
{
	size_t len = strcspn(arg, ":");
	char *end = NULL;
	*n = 0;
	if (arg[len] == ':') {
		*n = strtol(arg + len + 1, &end, 10);
		if (*end || *n < 1)
			return NULL;
	}
	for (size_t j = 0; j < sizeof ops / sizeof ops[0]; j++)
		if (strlen(ops[j].name) == len && strncmp(arg, ops[j].name, len) == 0)
			return &ops[j];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: opsbench [-t MS] OP... | opsbench -r ROUNDS OP:N... | opsbench nop\n"
			"  OP: getpid getpidlibc openclose forkexec pipe touch shell200 gcc\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct bench b = {.self = argv[0], .pages = TOUCH_PAGES};
	uint64_t budget_ms = 300;
	int i = 1, rounds = 0;
	if (argc == 2 && strcmp(argv[1], "nop") == 0)
		return 0;
	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		budget_ms = strtoull(argv[2], NULL, 10);
		i = 3;
	} else if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		rounds = atoi(argv[2]);
		if (rounds < 1 || rounds > MAX_BATCHES)
			return usage();
		i = 3;
	}
	if (argv[0][0] != '/') {
		fprintf(stderr, "opsbench: run it by its absolute path (fork+exec runs it again)\n");
		return 2;
	}
	if (i >= argc)
		return usage();
	for (; i < argc; i++) {
		long n;
		const struct op *op = find_op(argv[i], &n);
		if (!op || !n != !rounds || (op->per_page && n > TOUCH_PAGES)) {
			fprintf(stderr, "opsbench: %s: not an operation%s\n", argv[i],
				rounds ? " with a count (OP:N after -r; touch: N <= 4096 pages)" : " (OP:N needs -r)");
			return 2;
		}
		if (rounds)
			measure_fixed(&b, op, n, rounds);
		else
			measure(&b, op, budget_ms * 1000000u);
	}
	return 0;
}
