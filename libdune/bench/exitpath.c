/* Candidate exit paths from guest ring 3 to the host monitor and back, on
 * the VM core directly (no sandbox work): the floor under every syscall.
 * Usage: exitpath N [fetch|switchless]; prints one "name ns_per_round_trip" line per path
 * (fetch, switchless: stop after that one). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "vm.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct guest {
	struct dune_vm *vm;
	struct dune_vcpu *v;
	uint8_t *code, *stack;
};

static void setup(struct guest *g, const uint8_t *code, size_t len)
{
	if (vm_create(&g->vm, &hw_kvm_ops, -1)) {
		fprintf(stderr, "exitpath: cannot create a VM\n");
		exit(1);
	}
	g->code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g->stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(g->code, code, len);
	vm_mirror_map(g->vm, (uint64_t)g->code, 4096, PROT_READ | PROT_EXEC);
	vm_mirror_map(g->vm, (uint64_t)g->stack, 65536, PROT_READ | PROT_WRITE);
	vcpu_create(g->vm, &g->v);
	vcpu_enter_user(g->v, (uint64_t)g->code, (uint64_t)g->stack + 65536, 0);
}

static void done(struct guest *g)
{
	vcpu_destroy(g->v);
	vm_destroy(g->vm);
	munmap(g->code, 4096);
	munmap(g->stack, 65536);
}

/* Raw backend runs; counts round trips until n. */
static double loop_raw(struct guest *g, long n, enum hw_exit want)
{
	const struct hw_ops *hw = g->vm->hw;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		enum hw_exit e = hw->vcpu_run(g->v->hw);
		if (e != want) {
			fprintf(stderr, "exitpath: unexpected exit %d (wanted %d), rip %#llx\n", e, want, hw->regs(g->v->hw)->rip);
			return -1;
		}
		if (e == HW_EXIT_FETCH) {
			/* sysret done from the host */
			struct kvm_regs *r = hw->regs(g->v->hw);
			struct kvm_sregs *s = hw->sregs(g->v->hw);
			r->rip = r->rcx;
			r->rflags = r->r11;
			s->cs.selector = SEL_UCODE, s->cs.dpl = 3, s->cs.type = 11, s->cs.l = 1, s->cs.db = 0;
			s->ss.selector = SEL_UDATA, s->ss.dpl = 3, s->ss.type = 3, s->ss.db = 1;
			hw->mark_dirty(g->v->hw, 1, 1);
		}
	}
	return (now_ns() - t0) / (double)n;
}

/* Switchless: the guest posts a request word to a page it shares with a host thread and
 * spins until the answer comes back, no exit (the ring a switchless design would use; the
 * host thread makes a getpid per request). The guest does n round trips, then one syscall
 * (the exit that ends the measurement). */
struct ring { _Atomic uint64_t req, resp; _Atomic int stop; };
static void *ring_server(void *arg)
{
	struct ring *q = arg;
	uint64_t last = 0;
	while (!atomic_load_explicit(&q->stop, memory_order_relaxed)) {
		uint64_t r = atomic_load_explicit(&q->req, memory_order_acquire);
		if (r != last) {
			getpid();
			atomic_store_explicit(&q->resp, r, memory_order_release);
			last = r;
		} else {
			__builtin_ia32_pause();
		}
	}
	return NULL;
}
static double switchless(struct guest *g, long n)
{
	/* xor %ecx,%ecx; 1: inc %rcx; mov %rcx,(%rdi); 2: cmp %rcx,8(%rdi); jne 2b;
	 * cmp %rcx,%rsi; jne 1b; syscall; jmp . */
	struct ring *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	vm_mirror_map(g->vm, (uint64_t)q, 4096, PROT_READ | PROT_WRITE);
	struct kvm_regs *r = vcpu_regs(g->v);
	r->rdi = (uint64_t)q;
	r->rsi = (uint64_t)n;
	vcpu_dirty(g->v, 1, 0);
	pthread_t th;
	pthread_create(&th, NULL, ring_server, q);
	double t0 = now_ns();
	enum hw_exit e = g->vm->hw->vcpu_run(g->v->hw);
	double ns = (now_ns() - t0) / (double)n;
	atomic_store(&q->stop, 1);
	pthread_join(th, NULL);
	bool ok = e == HW_EXIT_FETCH && atomic_load(&q->resp) == (uint64_t)n;
	munmap(q, 4096);
	return ok ? ns : -1;
}

/* A path the hypervisor does not allow shows as n/a (the guest got #GP). */
static void report(const char *name, double ns)
{
	if (ns < 0)
		printf("%s n/a\n", name);
	else
		printf("%s %.1f\n", name, ns);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	struct guest g;

	/* 1. syscall with LSTAR on a page backed by no memslot: the fetch exits. */
	static const uint8_t sys_loop[] = { 0x0f, 0x05, 0xeb, 0xfc };
	setup(&g, sys_loop, sizeof sys_loop);
	report("fetch-fault-syscall", loop_raw(&g, n, HW_EXIT_FETCH));
	done(&g);
	if (argc > 2 && !strcmp(argv[2], "fetch"))
		return 0;

	/* 1b. switchless round trip through a shared page (no exit per call). */
	static const uint8_t ring_loop[] = { 0x31, 0xc9, 0x48, 0xff, 0xc1, 0x48, 0x89, 0x0f, 0x48, 0x39, 0x4f, 0x08,
					     0x75, 0xfa, 0x48, 0x39, 0xce, 0x75, 0xef, 0x0f, 0x05, 0xeb, 0xfe };
	setup(&g, ring_loop, sizeof ring_loop);
	report("switchless-ring-getpid", switchless(&g, n * 10));
	done(&g);
	if (argc > 2 && !strcmp(argv[2], "switchless"))
		return 0;

	/* 2. ring-3 port I/O (IOPL 3): out %al, $0x80 */
	static const uint8_t out_loop[] = { 0xe6, 0x80, 0xeb, 0xfc };
	setup(&g, out_loop, sizeof out_loop);
	struct kvm_regs *r = vcpu_regs(g.v);
	r->rflags |= 3ull << 12;
	vcpu_dirty(g.v, 1, 0);
	report("ring3-out", loop_raw(&g, n, HW_EXIT_IO));
	done(&g);

	/* 3. ring-3 store to a page whose guest-physical address has no slot. */
	static const uint8_t mmio_loop[] = { 0x89, 0x07, 0xeb, 0xfc }; /* mov %eax,(%rdi) */
	setup(&g, mmio_loop, sizeof mmio_loop);
	uint64_t mmio_va = (uint64_t)g.stack; /* remap the first stack page to gpa 0x2000 */
	pthread_mutex_lock(&g.vm->lock);
	pt_map(g.vm, mmio_va, 0x2000, 4096, PTE_U | PTE_W | PTE_NX | PTE_A | PTE_D);
	pthread_mutex_unlock(&g.vm->lock);
	g.vm->hw->flush_all(g.vm->hw_vm);
	r = vcpu_regs(g.v);
	r->rdi = mmio_va;
	vcpu_dirty(g.v, 1, 0);
	report("ring3-mmio-write", loop_raw(&g, n, HW_EXIT_MMIO));
	done(&g);

	/* 4. syscall into a ring-0 stub that exits with out and returns with
	 *    iretq: mov %rsp,%rax; out; push ss; push rax; push r11; push cs;
	 *    push rcx; iretq (7 emulated instructions per call here). */
	static const uint8_t stub_user[] = { 0x0f, 0x05, 0xeb, 0xfc };
	setup(&g, stub_user, sizeof stub_user);
	uint8_t *stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const uint8_t stub_code[] = {
		0x48, 0x89, 0xe0,       /* mov %rsp,%rax */
		0xe6, 0x81,             /* out %al,$0x81 */
		0x6a, 0x1b,             /* push $0x1b */
		0x50,                   /* push %rax */
		0x41, 0x53,             /* push %r11 */
		0x6a, 0x23,             /* push $0x23 */
		0x51,                   /* push %rcx */
		0x48, 0xcf,             /* iretq */
	};
	memcpy(stub, stub_code, sizeof stub_code);
	pthread_mutex_lock(&g.vm->lock);
	vm_cover(g.vm, (uint64_t)stub, (uint64_t)stub + 4096);
	/* User bit: this hypervisor faults supervisor-only fetches (see vm.c). */
	pt_map(g.vm, (uint64_t)stub, (uint64_t)stub, 4096, PTE_A | PTE_U);
	pthread_mutex_unlock(&g.vm->lock);
	struct kvm_regs regs = *vcpu_regs(g.v);
	struct kvm_sregs sregs = *vcpu_sregs(g.v);
	struct hw_msr msrs[] = {
		{ 0xc0000081, ((uint64_t)0x10 << 48) | ((uint64_t)SEL_KCODE << 32) },
		{ 0xc0000082, (uint64_t)stub },
		{ 0xc0000084, 0x47700 },
	};
	g.vm->hw->vcpu_setup(g.v->hw, &sregs, &regs, msrs, 3);
	report("ring0-stub-out-iretq", loop_raw(&g, n / 4, HW_EXIT_IO));
	done(&g);

	/* 5. VM lifecycle: create, one run, destroy. */
	double t0 = now_ns();
	int k = 20;
	for (int i = 0; i < k; i++) {
		setup(&g, sys_loop, sizeof sys_loop);
		loop_raw(&g, 1, HW_EXIT_FETCH);
		done(&g);
	}
	printf("vm-create-run-destroy %.1f\n", (now_ns() - t0) / k);
	return 0;
}
