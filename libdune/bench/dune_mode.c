/* The paper's Dune column: the same primitives through the libdune API in
 * Dune mode (dune_enter), with faults handled by registered handlers.
 * Usage: dune_mode MODE N; prints "MODE ns_per_op". */
#define _GNU_SOURCE
#include <dune.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static char *pages;
static long npages;
static char *fresh;
static long fresh_used;

static int pf_skip(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t a, uint64_t fec, void *arg)
{
	(void)v, (void)a, (void)fec, (void)arg;
	tf->rip += 2;
	return DUNE_RESUME;
}

static int pf_map(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t a, uint64_t fec, void *arg)
{
	(void)tf, (void)fec, (void)arg;
	dune_vm_map(dune_vcpu_vm(v), (void *)(a & ~4095ul), 4096, DUNE_PERM_R | DUNE_PERM_W);
	return DUNE_RESUME;
}

static int pf_appel1(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t a, uint64_t fec, void *arg)
{
	(void)tf, (void)fec, (void)arg;
	char *page = (char *)(a & ~4095ul);
	struct dune_vm *vm = dune_vcpu_vm(v);
	dune_vm_protect(vm, page, 4096, DUNE_PERM_R | DUNE_PERM_W);
	dune_vm_protect(vm, page == pages ? pages + 4096 : pages, 4096, 0);
	return DUNE_RESUME;
}

static int pf_unprot(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t a, uint64_t fec, void *arg)
{
	(void)tf, (void)fec, (void)arg;
	dune_vm_protect(dune_vcpu_vm(v), (void *)(a & ~4095ul), 4096, DUNE_PERM_R | DUNE_PERM_W);
	return DUNE_RESUME;
}

static inline void load(const void *p)
{
	int x;
	__asm__ volatile("mov (%1), %0" : "=a"(x) : "D"(p) : "memory");
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *mode = argv[1];
	long n = atol(argv[2]);
	double ghz = atof(argv[3]); /* TSC GHz, measured by the driver */
	/* Memory prepared before entering, so only the measured path runs. */
	pages = mmap(NULL, 100 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fresh = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	(void)fresh_used;
	int rc = dune_enter();
	if (rc) {
		fprintf(stderr, "dune_enter: %s\n", strerror(-rc));
		return 1;
	}
	struct dune_vcpu *v = dune_current();
	struct dune_vm *vm = dune_vcpu_vm(v);
	uint64_t t0 = 0, t1 = 0;
	if (!strcmp(mode, "getpid")) {
		t0 = rdtsc();
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
		t1 = rdtsc();
	} else if (!strcmp(mode, "fault")) {
		dune_vm_unmap(vm, fresh, (size_t)n * 4096);
		dune_register_pgflt_handler(v, pf_map, NULL);
		t0 = rdtsc();
		for (long i = 0; i < n; i++)
			fresh[i * 4096] = 1;
		t1 = rdtsc();
	} else if (!strcmp(mode, "trap")) {
		dune_vm_protect(vm, pages, 4096, 0);
		dune_register_pgflt_handler(v, pf_skip, NULL);
		t0 = rdtsc();
		for (long i = 0; i < n; i++)
			load(pages);
		t1 = rdtsc();
	} else if (!strcmp(mode, "appel1")) {
		dune_vm_protect(vm, pages, 4096, 0);
		dune_register_pgflt_handler(v, pf_appel1, NULL);
		t0 = rdtsc();
		for (long i = 0; i < n; i++)
			load(pages + ((i & 1) ? 4096 : 0));
		t1 = rdtsc();
	} else if (!strcmp(mode, "appel2")) {
		npages = 100;
		dune_register_pgflt_handler(v, pf_unprot, NULL);
		long rounds = n / npages + 1;
		t0 = rdtsc();
		for (long r = 0; r < rounds; r++) {
			dune_vm_protect(vm, pages, (size_t)npages * 4096, 0);
			for (long i = 0; i < npages; i++)
				load(pages + i * 4096);
		}
		t1 = rdtsc();
		n = rounds * npages;
	} else if (!strcmp(mode, "walk")) {
		uint64_t acc = 0;
		t0 = rdtsc();
		for (long i = 0; i < n; i++) {
			int level;
			uint64_t *pte = dune_vm_lookup(vm, pages + (i % 100) * 4096, &level);
			acc += pte ? (*pte & DUNE_PTE_A) : 0;
		}
		t1 = rdtsc();
		if (acc == 1)
			puts("");
	} else {
		return 2;
	}
	printf("%s %.1f\n", mode, (double)(t1 - t0) / ghz / (double)n);
	return 0;
}
