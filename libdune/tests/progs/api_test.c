/* The public API: enter Dune mode, page-table edits seen by the guest,
 * fault handlers, A/D bits, the page allocator. */
#define _GNU_SOURCE
#include <dune.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int faults;
static char *prot_page;
static char *page_b, *page_c;
static int b_faults;

/* Host-side edits (the handler runs in the monitor): unmap B while
 * handling a fault on C, then remap B when the guest touches it. */
static int on_fault_bc(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t addr, uint64_t fec, void *arg)
{
	(void)tf, (void)arg, (void)fec;
	struct dune_vm *vm = dune_vcpu_vm(v);
	if (addr >= (uintptr_t)page_c && addr < (uintptr_t)page_c + 4096) {
		dune_vm_unmap(vm, page_b, 4096);
		dune_vm_map(vm, page_c, 4096, DUNE_PERM_R | DUNE_PERM_W);
		return DUNE_RESUME;
	}
	if (addr >= (uintptr_t)page_b && addr < (uintptr_t)page_b + 4096) {
		b_faults++;
		dune_vm_map(vm, page_b, 4096, DUNE_PERM_R | DUNE_PERM_W);
		return DUNE_RESUME;
	}
	fprintf(stderr, "unexpected fault at %#lx\n", (unsigned long)addr);
	exit(3);
}

static int on_fault(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t addr, uint64_t fec, void *arg)
{
	(void)tf, (void)arg;
	faults++;
	if (addr >= (uintptr_t)prot_page && addr < (uintptr_t)prot_page + 4096 && (fec & 2)) {
		dune_vm_protect(dune_vcpu_vm(v), prot_page, 4096, DUNE_PERM_R | DUNE_PERM_W);
		return DUNE_RESUME;
	}
	fprintf(stderr, "unexpected fault at %#lx (error %#lx, rip %#lx)\n", (unsigned long)addr, (unsigned long)fec,
		(unsigned long)tf->rip);
	exit(3);
}

int main(void)
{
	int rc = dune_enter();
	if (rc) {
		fprintf(stderr, "dune_enter: %s\n", strerror(-rc));
		return 2;
	}
	struct dune_vcpu *v = dune_current();
	struct dune_vm *vm = dune_vcpu_vm(v);
	uint64_t exits0 = dune_vcpu_exits(v);
	printf("in dune mode, pid %d\n", getpid());
	if (dune_vcpu_exits(v) <= exits0) {
		printf("no exits counted for printf/getpid\n");
		return 1;
	}
	char *heap = malloc(1 << 20);
	memset(heap, 1, 1 << 20);
	free(heap);
	dune_register_pgflt_handler(v, on_fault, NULL);
	prot_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	prot_page[0] = 1;
	int fails = 0;
	for (int i = 0; i < 20; i++) {
		dune_vm_protect(vm, prot_page, 4096, DUNE_PERM_R);
		prot_page[1] = (char)i; /* faults; the handler unprotects */
		__asm__ volatile("" ::: "memory"); /* the handler ran behind the compiler's back */
		if (faults != i + 1) {
			printf("round %d: %d faults\n", i, faults);
			fails++;
		}
	}
	/* Accessed/dirty bits: clear, touch, read back. */
	int level;
	uint64_t *pte = dune_vm_lookup(vm, prot_page, &level);
	if (!pte || !(*pte & DUNE_PTE_P) || level != 1) {
		printf("lookup failed\n");
		fails++;
	} else {
		*pte &= ~(DUNE_PTE_A | DUNE_PTE_D);
		dune_vm_flush(vm);
		volatile char c = prot_page[5];
		(void)c;
		__asm__ volatile("" ::: "memory");
		int a_after_read = !!(*pte & DUNE_PTE_A), d_after_read = !!(*pte & DUNE_PTE_D);
		prot_page[6] = 1;
		__asm__ volatile("" ::: "memory");
		int d_after_write = !!(*pte & DUNE_PTE_D);
		printf("A after read %d, D after read %d, D after write %d\n", a_after_read, d_after_read, d_after_write);
		if (!a_after_read || d_after_read || !d_after_write)
			fails++;
	}
	char *pg = dune_page_alloc(vm);
	if (!pg || pg[100] != 0) {
		printf("page_alloc failed\n");
		fails++;
	} else {
		strcpy(pg, "page ok");
		printf("%s\n", pg);
		dune_page_free(vm, pg);
	}
	/* map, touch, unmap (host side), touch faults, remap, touch. */
	dune_register_pgflt_handler(v, on_fault_bc, NULL);
	page_b = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page_c = page_b + 4096;
	for (int i = 0; i < 10; i++) {
		page_b[0] = 'b';
		page_c[0] = 'c';
		dune_vm_unmap(vm, page_c, 4096);
		page_c[1] = 'C'; /* fault: the handler unmaps B and maps C */
		__asm__ volatile("" ::: "memory");
		page_b[1] = 'B'; /* fault: B was unmapped from the host side */
		__asm__ volatile("" ::: "memory");
		if (b_faults != i + 1 || page_b[1] != 'B' || page_c[1] != 'C') {
			printf("host-side unmap round %d: %d faults on B\n", i, b_faults);
			fails++;
			break;
		}
	}
	printf("api %s (%d faults)\n", fails ? "FAILED" : "ok", faults);
	return fails;
}
