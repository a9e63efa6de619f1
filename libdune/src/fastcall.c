/* Fast calls: getpid sites rewritten to guest-side stubs (fastcall.h). */
#define _GNU_SOURCE
#include "fastcall.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define AREA_SIZE (3 * PAGE_SIZE)
#define ANSWERS_OFF PAGE_SIZE     /* uint32_t pid, then uint32_t held (stubs take the exit path) */
#define HELD_OFF (ANSWERS_OFF + 4)
#define COUNTER_OFF (2 * PAGE_SIZE) /* uint64_t calls answered since the last fold */
#define STUBS_PER_AREA (PAGE_SIZE / FC_STUB_SIZE)
#define REACH 0x7ff00000ll        /* what a rel32 reaches, with margin */

/* The site glibc's and musl's getpid compile to: mov $39,%eax; syscall. */
static const uint8_t getpid_site[7] = { 0xb8, SYS_getpid, 0, 0, 0, 0x0f, 0x05 };

void fc_init(struct fc_state *s, bool enabled, bool getpid_always)
{
	memset(s, 0, sizeof *s);
	s->enabled = enabled;
	s->getpid_always = getpid_always;
}

static void put32(uint8_t *at, int64_t v)
{
	int32_t x = (int32_t)v;
	memcpy(at, &x, 4);
}

static bool in_reach(uint64_t base, uint64_t site)
{
	int64_t lo = (int64_t)base - (int64_t)site, hi = (int64_t)(base + AREA_SIZE) - (int64_t)site;
	return lo > -REACH && lo < REACH && hi > -REACH && hi < REACH;
}

static void set_answers(uint64_t base)
{
	uint32_t pid = (uint32_t)host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	memcpy((void *)(base + ANSWERS_OFF), &pid, sizeof pid);
}

static void set_held(const struct fc_state *s, uint32_t held)
{
	for (int i = 0; i < s->nareas; i++)
		__atomic_store_n((uint32_t *)(s->area[i].base + HELD_OFF), held, __ATOMIC_SEQ_CST);
}

/* Three fresh pages below the site (never above: a static program's brk grows there),
 * mapped into the guest as stubs R+X, answers R, counter R+W; not program memory. */
static struct fc_area *new_area(struct sb_proc *p, uint64_t site)
{
	struct fc_state *s = &p->mm->fc;
	if (s->nareas == FC_AREAS)
		return NULL;
	static const uint64_t below[] = { 1ull << 20, 16ull << 20, 256ull << 20, 1ull << 30 };
	for (size_t i = 0; i < sizeof below / sizeof *below; i++) {
		if (PAGE_DOWN(site) < below[i] + (1ull << 20))
			continue;
		uint64_t hint = PAGE_DOWN(site) - below[i];
		void *m = mmap((void *)hint, AREA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == MAP_FAILED)
			continue;
		uint64_t base = (uint64_t)m;
		if (!in_reach(base, site)) {
			munmap(m, AREA_SIZE);
			continue;
		}
		memset(m, 0xcc, PAGE_SIZE); /* int3 between stubs */
		set_answers(base);
		struct dune_vm *vm = p->vm;
		pthread_mutex_lock(&vm->lock);
		int rc = vm_cover(vm, base, base + AREA_SIZE);
		if (!rc)
			rc = pt_map(vm, base, base, PAGE_SIZE, PTE_U | PTE_A | PTE_MONITOR);
		if (!rc)
			rc = pt_map(vm, base + ANSWERS_OFF, base + ANSWERS_OFF, PAGE_SIZE, PTE_U | PTE_A | PTE_NX | PTE_MONITOR);
		if (!rc)
			rc = pt_map(vm, base + COUNTER_OFF, base + COUNTER_OFF, PAGE_SIZE,
				    PTE_U | PTE_A | PTE_D | PTE_W | PTE_NX | PTE_MONITOR);
		pthread_mutex_unlock(&vm->lock);
		if (rc) {
			/* Left mapped: a guest entry may exist; it holds only int3s and the pid. */
			return NULL;
		}
		s->area[s->nareas] = (struct fc_area){ .base = base };
		return &s->area[s->nareas++];
	}
	return NULL;
}

static struct fc_area *area_near(struct sb_proc *p, uint64_t site)
{
	for (int i = 0; i < p->mm->fc.nareas; i++) {
		struct fc_area *a = &p->mm->fc.area[i];
		if (a->used < STUBS_PER_AREA && in_reach(a->base, site))
			return a;
	}
	return new_area(p, site);
}

/* seto %al; lahf (the flags in al/ah); cmpb $0, held(%rip); jne 1f; lock incq counter(%rip);
 * add $0x7f,%al (OF back); sahf (SF ZF AF PF CF back); mov answer(%rip),%eax; jmp site+7;
 * 1: add $0x7f,%al; sahf; mov $39,%eax; jmp site+5 (the syscall: the exit path). RFLAGS as
 * the syscall left them either way. */
static void write_stub(const struct fc_area *a, uint64_t stub, uint64_t site)
{
	uint8_t *c = (uint8_t *)stub;
	static const uint8_t head[6] = { 0x0f, 0x90, 0xc0, 0x9f, 0x80, 0x3d };
	memcpy(c, head, sizeof head);
	put32(c + 6, (int64_t)(a->base + HELD_OFF) - (int64_t)(stub + 11));
	static const uint8_t test[7] = { 0x00, 0x75, 0x16, 0xf0, 0x48, 0xff, 0x05 };
	memcpy(c + 10, test, sizeof test);
	put32(c + 17, (int64_t)(a->base + COUNTER_OFF) - (int64_t)(stub + 21));
	static const uint8_t mid[5] = { 0x04, 0x7f, 0x9e, 0x8b, 0x05 };
	memcpy(c + 21, mid, sizeof mid);
	put32(c + 26, (int64_t)(a->base + ANSWERS_OFF) - (int64_t)(stub + 30));
	c[30] = 0xe9;
	put32(c + 31, (int64_t)(site + 7) - (int64_t)(stub + 35));
	static const uint8_t slow[9] = { 0x04, 0x7f, 0x9e, 0xb8, SYS_getpid, 0, 0, 0, 0xe9 };
	memcpy(c + 35, slow, sizeof slow);
	put32(c + 44, (int64_t)(site + 5) - (int64_t)(stub + 48));
}

/* Bytes that, just before b8, would make it part of another instruction (REX, operand or
 * address size, segment, lock/rep): `41 b8 imm32` writes r8d, not eax. Such a site (or an
 * instruction whose last byte merely looks like one) is left on the exit path. */
static bool prefix_like(uint8_t b)
{
	return (b >= 0x40 && b <= 0x4f) || b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
	       b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

/* The site is the program's: private, readable and executable, not writable (code a JIT
 * rewrites is left alone), its 5 bytes in one page, the byte before it no prefix. Returns
 * its protection, or -1. */
static int site_prot(struct sb_proc *p, uint64_t site)
{
	if (PAGE_DOWN(site) != PAGE_DOWN(site + 4) ||
	    !sb_range_ok(p, site - 1, sizeof getpid_site + 1, PROT_READ | PROT_EXEC) || prefix_like(*(const uint8_t *)(site - 1)))
		return -1;
	pthread_mutex_lock(&p->vm->lock);
	const struct region *r = region_find(&p->vm->owned, site);
	int prot = r ? r->prot : -1;
	pthread_mutex_unlock(&p->vm->lock);
	if (prot < 0 || (prot & PROT_WRITE) || memcmp((const void *)site, getpid_site, sizeof getpid_site))
		return -1;
	struct host_mapping m;
	return sb_host_mapping(site, &m) && m.private_ ? prot : -1;
}

/* mov $39,%eax becomes jmp stub (the syscall after it stays). The host page is made
 * writable for the copy (a private page: copy-on-write) and given its protection back,
 * which also drops the hypervisor's translations of the old page. */
static bool rewrite_site(uint64_t site, uint64_t stub, int prot)
{
	uint64_t page = PAGE_DOWN(site);
	if (host_syscall(SYS_mprotect, page, PAGE_SIZE, (uint64_t)(prot | PROT_WRITE), 0, 0, 0))
		return false;
	uint8_t jmp[5] = { 0xe9 };
	put32(jmp + 1, (int64_t)stub - (int64_t)(site + 5));
	memcpy((void *)site, jmp, sizeof jmp);
	host_syscall(SYS_mprotect, page, PAGE_SIZE, (uint64_t)prot, 0, 0, 0);
	return true;
}

void fc_after_call(struct sb_thread *t, int nr, long ret)
{
	struct sb_proc *p = t->p;
	struct fc_state *s = &p->mm->fc;
	/* Not from a vfork child (the memory is its parent's), nor while one runs. */
	if (!s->enabled || nr != SYS_getpid || !s->getpid_always || ret < 0 || p->mm != p ||
	    __atomic_load_n(&s->holds, __ATOMIC_SEQ_CST))
		return;
	uint64_t site = vcpu_regs(t->vcpu)->rip - sizeof getpid_site;
	pthread_mutex_lock(&p->lock);
	bool alone = p->nthreads == 1;
	pthread_mutex_unlock(&p->lock);
	int prot = alone ? site_prot(p, site) : -1;
	if (prot < 0)
		return;
	struct fc_area *a = area_near(p, site);
	if (!a)
		return;
	uint64_t stub = a->base + a->used * FC_STUB_SIZE;
	write_stub(a, stub, site);
	if (rewrite_site(site, stub, prot)) {
		a->used++;
		__atomic_fetch_add(&p->stats->fastcall_sites, 1, __ATOMIC_RELAXED);
	}
}

void fc_fold(struct fc_state *s, struct sb_stats *stats)
{
	for (int i = 0; i < s->nareas; i++) {
		uint64_t n = __atomic_exchange_n((uint64_t *)(s->area[i].base + COUNTER_OFF), 0, __ATOMIC_RELAXED);
		if (n)
			__atomic_fetch_add(&stats->fastcalls, n, __ATOMIC_RELAXED);
	}
}

void fc_after_fork(struct fc_state *s)
{
	s->holds = 0; /* this process has no vfork child yet */
	set_held(s, 0);
	for (int i = 0; i < s->nareas; i++) {
		set_answers(s->area[i].base);
		__atomic_store_n((uint64_t *)(s->area[i].base + COUNTER_OFF), 0, __ATOMIC_RELAXED);
	}
}

void fc_hold(struct fc_state *s)
{
	if (__atomic_add_fetch(&s->holds, 1, __ATOMIC_SEQ_CST) == 1)
		set_held(s, 1);
}

void fc_release(struct fc_state *s)
{
	if (__atomic_sub_fetch(&s->holds, 1, __ATOMIC_SEQ_CST) == 0)
		set_held(s, 0);
}
