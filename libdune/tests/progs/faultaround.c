/* Anonymous memory as programs use it, for dune-run's fault-around:
 *   faultaround correct      data written in every order reads back; protection,
 *                            fork and threads see the right pages ("faultaround ok")
 *   faultaround sparse       one byte per MiB of 256 MiB: prints the RssAnon growth (KiB)
 *   faultaround stride       every 16th page of 64 MiB in order (1024 pages): same
 *   faultaround partial      the first 4 MiB of 64 MiB in order: same
 *   faultaround seq MIB      writes MIB MiB in order ("seq ok") */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096ul
#define MIB (1ul << 20)

static int fails;
#define CHECK(c, ...) do { if (!(c)) { printf(__VA_ARGS__); putchar('\n'); fails++; } } while (0)

static long rss_anon_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static char *anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static unsigned char val(size_t page, int salt) { return (unsigned char)(page * 7 + (size_t)salt); }

static void fill_up(char *m, size_t len, int salt)
{
	for (size_t i = 0; i < len; i += PG)
		m[i + 100] = (char)val(i / PG, salt);
}

static void fill_down(char *m, size_t len, int salt)
{
	for (size_t i = len; i > 0; i -= PG)
		m[i - PG + 200] = (char)val((i - PG) / PG, salt);
}

static size_t bad_pages(const char *m, size_t len, size_t off, int salt)
{
	size_t bad = 0;
	for (size_t i = 0; i < len; i += PG)
		if ((unsigned char)m[i + off] != val(i / PG, salt))
			bad++;
	return bad;
}

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

static int try_write(volatile char *p)
{
	if (sigsetjmp(jb, 1))
		return -1;
	*p = 1;
	return 0;
}

struct half { char *m; size_t len; int salt; size_t bad; };

static void *thread_fill(void *arg)
{
	struct half *h = arg;
	fill_up(h->m, h->len, h->salt);
	h->bad = bad_pages(h->m, h->len, 100, h->salt);
	return NULL;
}

static int correct(void)
{
	/* Ascending and descending streams, then everything reads back. */
	size_t len = 16 * MIB;
	char *a = anon(len), *d = anon(len);
	fill_up(a, len, 1);
	fill_down(d, len, 2);
	CHECK(!bad_pages(a, len, 100, 1), "ascending: wrong data");
	CHECK(!bad_pages(d, len, 200, 2), "descending: wrong data");
	/* Untouched pages of a partly written mapping read as zero, including
	 * the ones a stream populated ahead. */
	char *z = anon(4 * MIB);
	fill_up(z, MIB, 3);
	size_t nonzero = 0;
	for (size_t i = MIB; i < 4 * MIB; i += 512)
		nonzero += z[i] != 0;
	CHECK(!nonzero, "untouched pages not zero (%zu)", nonzero);
	/* Read first, then write. */
	char *r = anon(MIB);
	unsigned long sum = 0;
	for (size_t i = 0; i < MIB; i += PG)
		sum += (unsigned char)r[i];
	fill_up(r, MIB, 4);
	CHECK(!sum && !bad_pages(r, MIB, 100, 4), "read-then-write: wrong data");
	/* Protection changes on a half-touched mapping. */
	signal(SIGSEGV, on_segv);
	char *p = anon(2 * MIB);
	fill_up(p, MIB / 2, 5);
	mprotect(p, 2 * MIB, PROT_READ);
	CHECK(try_write(p + MIB) == -1, "write to read-only untouched page did not fault");
	CHECK(try_write(p + 64 * 1024) == -1, "write to read-only touched page did not fault");
	CHECK(p[MIB + 64 * 1024] == 0, "read-only untouched page not zero");
	mprotect(p, 2 * MIB, PROT_READ | PROT_WRITE);
	fill_up(p, 2 * MIB, 6);
	CHECK(!bad_pages(p, 2 * MIB, 100, 6), "after mprotect: wrong data");
	munmap(p + MIB, MIB);
	CHECK(try_write(p + MIB + 64 * 1024) == -1, "write to unmapped half did not fault");
	/* fork: the child streams over the parent's half-touched mapping. */
	char *f = anon(8 * MIB);
	fill_up(f, 2 * MIB, 7);
	pid_t pid = fork();
	if (pid == 0) {
		fill_up(f, 8 * MIB, 8);
		_exit(bad_pages(f, 8 * MIB, 100, 8) ? 1 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork: child saw wrong data (status %#x)", st);
	CHECK(!bad_pages(f, 2 * MIB, 100, 7), "fork: parent's pages changed");
	CHECK(f[4 * MIB + 100] == 0, "fork: parent sees the child's page");
	/* Two threads stream over the two halves of one mapping at once. */
	char *t = anon(32 * MIB);
	struct half h[2] = { { t, 16 * MIB, 9, 0 }, { t + 16 * MIB, 16 * MIB, 10, 0 } };
	pthread_t th;
	pthread_create(&th, NULL, thread_fill, &h[1]);
	thread_fill(&h[0]);
	pthread_join(th, NULL);
	CHECK(!h[0].bad && !h[1].bad, "threads: wrong data (%zu, %zu)", h[0].bad, h[1].bad);
	/* brk grows in order too. */
	char *b = sbrk(0);
	if (sbrk((long)(4 * MIB)) != (void *)-1) {
		fill_up(b, 4 * MIB, 11);
		CHECK(!bad_pages(b, 4 * MIB, 100, 11), "brk: wrong data");
		sbrk(-(long)(4 * MIB));
	}
	printf("faultaround %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "correct";
	if (!strcmp(mode, "correct"))
		return correct();
	if (!strcmp(mode, "sparse") || !strcmp(mode, "stride") || !strcmp(mode, "partial")) {
		size_t len = !strcmp(mode, "sparse") ? 256 * MIB : 64 * MIB;
		char *m = anon(len);
		long before = rss_anon_kib();
		if (!strcmp(mode, "sparse"))
			for (size_t i = 0; i < len; i += MIB)
				m[i] = 1;
		else if (!strcmp(mode, "stride")) /* every 16th page, in order, 7 pages into each 64 KiB */
			for (size_t i = 7 * PG; i < len; i += 16 * PG)
				m[i] = 1;
		else
			fill_up(m, 4 * MIB, 1);
		long after = rss_anon_kib();
		printf("rss_delta_kib %ld\n", after - before);
		return before < 0 ? 1 : 0;
	}
	if (!strcmp(mode, "seq") && argc > 2) {
		size_t len = (size_t)atol(argv[2]) * MIB;
		char *m = anon(len);
		fill_up(m, len, 1);
		printf("seq %s\n", bad_pages(m, len, 100, 1) ? "FAILED" : "ok");
		return 0;
	}
	return 2;
}
