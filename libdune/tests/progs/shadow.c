/* The shadow-paging trap: map, touch, unmap, touch faults, remap, touch;
 * and protection changes seen by the guest immediately. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

static int touch(volatile char *p, char v)
{
	if (sigsetjmp(jb, 1))
		return -1;
	*p = v;
	return *p == v ? 0 : 1;
}

static int peek(volatile char *p)
{
	if (sigsetjmp(jb, 1))
		return -1;
	return *p;
}

int main(void)
{
	signal(SIGSEGV, on_segv);
	int fails = 0;
	for (int round = 0; round < 50; round++) {
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (touch(p, 'a') != 0) { printf("round %d: first touch failed\n", round); fails++; }
		munmap(p, 8192);
		if (touch(p, 'b') != -1) { printf("round %d: touch after unmap did not fault\n", round); fails++; }
		char *q = mmap(p, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != p) { printf("remap moved\n"); fails++; }
		if (peek(q) != 0) { printf("round %d: remapped page not fresh (%d)\n", round, peek(q)); fails++; }
		if (touch(q, 'c') != 0) { printf("round %d: touch after remap failed\n", round); fails++; }
		mprotect(q, 8192, PROT_READ);
		if (touch(q, 'd') != -1) { printf("round %d: write to read-only page did not fault\n", round); fails++; }
		if (peek(q) != 'c') { printf("round %d: read-only page lost data\n", round); fails++; }
		mprotect(q, 8192, PROT_READ | PROT_WRITE);
		if (touch(q, 'e') != 0) { printf("round %d: write after re-enable failed\n", round); fails++; }
		munmap(q, 8192);
	}
	/* mremap moves the contents and the mapping. */
	char *r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(r, "moved");
	char *s = mremap(r, 4096, 1 << 20, MREMAP_MAYMOVE);
	if (s == MAP_FAILED || strcmp(s, "moved") || touch(s + (1 << 20) - 1, 'z')) { printf("mremap failed\n"); fails++; }
	if (s != r && touch(r, 'x') != -1) { printf("old mremap range still mapped\n"); fails++; }
	/* brk grows and shrinks. */
	char *b0 = sbrk(0);
	if (sbrk(1 << 16) == (void *)-1 || touch(b0 + 100, 'q')) { printf("brk failed\n"); fails++; }
	sbrk(-(1 << 16));
	printf("shadow %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}
