#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CR0_VALUE 0x80050033ull /* PG AM WP NE ET MP PE */
#define CR4_VALUE ((1ull << 5) | (1ull << 9) | (1ull << 10)) /* PAE OSFXSR OSXMMEXCPT */
#define EFER_VALUE ((1ull << 0) | (1ull << 8) | (1ull << 10) | (1ull << 11)) /* SCE LME LMA NXE */
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define USER_TOP 0x7ffffffff000ull

#define CPU_AREA(i) (0x1000ull + (uint64_t)(i) * 0x2000ull)
#define TSS_OFF 0x100
#define STACK_TOP(i) (CPU_AREA(i) + 0x2000ull)

/* ---- page tables ---- */

static uint64_t *pt_alloc(struct dune_vm *vm)
{
	if (vm->arena_used + PAGE_SIZE > ARENA_SIZE)
		return NULL;
	uint64_t *p = (uint64_t *)(vm->arena + vm->arena_used);
	vm->arena_used += PAGE_SIZE;
	memset(p, 0, PAGE_SIZE);
	return p;
}

static int idx(uint64_t va, int level) { return (int)((va >> (12 + 9 * (level - 1))) & 511); }

/* Entry at level (1 = PT, 2 = PD) for va; creates missing tables when
 * create is set and splits a 2M page when a 4K entry is asked for. */
static uint64_t *pte_get(struct dune_vm *vm, uint64_t va, int level, bool create)
{
	uint64_t *table = vm->pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &table[idx(va, l)];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t *t = pt_alloc(vm);
			if (!t)
				return NULL;
			*e = (uint64_t)t | PTE_P | PTE_W | PTE_U;
		} else if (*e & PTE_PS) {
			if (!create)
				return e; /* caller sees a huge leaf */
			uint64_t *t = pt_alloc(vm);
			if (!t)
				return NULL;
			uint64_t base = *e & PTE_ADDR & ~(HUGE_SIZE - 1);
			uint64_t fl = (*e & ~PTE_ADDR) & ~PTE_PS;
			for (int i = 0; i < 512; i++)
				t[i] = (base + (uint64_t)i * PAGE_SIZE) | fl;
			*e = (uint64_t)t | PTE_P | PTE_W | PTE_U;
		}
		table = (uint64_t *)(*e & PTE_ADDR);
	}
	return &table[idx(va, level)];
}

int pt_map(struct dune_vm *vm, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *e = pte_get(vm, va + off, 1, true);
		if (!e)
			return -ENOMEM;
		*e = ((pa + off) & PTE_ADDR) | flags | PTE_P;
	}
	return 0;
}

int pt_map_huge(struct dune_vm *vm, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	if ((va | pa | len) & (HUGE_SIZE - 1))
		return -EINVAL;
	for (uint64_t off = 0; off < len; off += HUGE_SIZE) {
		uint64_t *e = pte_get(vm, va + off, 2, true);
		if (!e)
			return -ENOMEM;
		*e = ((pa + off) & PTE_ADDR) | flags | PTE_P | PTE_PS;
	}
	return 0;
}

/* Visit leaves in [start, end), skipping absent tables quickly. */
static int walk(struct dune_vm *vm, uint64_t start, uint64_t end, pt_walk_fn fn, void *arg, bool split)
{
	uint64_t va = start;
	while (va < end && va >= start) {
		uint64_t *table = vm->pml4;
		int l = 4;
		uint64_t *e = NULL;
		for (; l >= 1; l--) {
			e = &table[idx(va, l)];
			if (!(*e & PTE_P) || l == 1 || (*e & PTE_PS))
				break;
			table = (uint64_t *)(*e & PTE_ADDR);
		}
		uint64_t span = 1ull << (12 + 9 * (l - 1));
		uint64_t next = (va & ~(span - 1)) + span;
		/* Leaves parked by pt_protect(0) keep their frame and are visited. */
		bool leaf = (*e & PTE_P) || (*e && (l == 1 || (*e & PTE_PS)));
		if (leaf) {
			if (l == 2 && split && (va & (span - 1) || next > end)) {
				/* Partial 2M leaf: split it and revisit. */
				if (!pte_get(vm, va, 1, true))
					return -ENOMEM;
				continue;
			}
			int rc = fn(arg, va & ~(span - 1), e, l);
			if (rc)
				return rc;
		}
		va = next;
	}
	return 0;
}

static int unmap_fn(void *arg, uint64_t va, uint64_t *pte, int level)
{
	(void)arg, (void)va, (void)level;
	*pte = 0;
	return 0;
}

void pt_unmap(struct dune_vm *vm, uint64_t va, uint64_t len)
{
	walk(vm, va, va + len, unmap_fn, NULL, true);
}

static int protect_fn(void *arg, uint64_t va, uint64_t *pte, int level)
{
	(void)va, (void)level;
	uint64_t flags = *(uint64_t *)arg;
	if (!flags)
		*pte &= PTE_ADDR | PTE_PS; /* not present, frame kept for a later protect */
	else
		*pte = (*pte & PTE_ADDR) | (*pte & PTE_PS) | flags | PTE_P;
	return 0;
}

void pt_protect(struct dune_vm *vm, uint64_t va, uint64_t len, uint64_t flags)
{
	walk(vm, va, va + len, protect_fn, &flags, true);
}

uint64_t *pt_lookup(struct dune_vm *vm, uint64_t va, int *level)
{
	uint64_t *table = vm->pml4;
	for (int l = 4; l >= 1; l--) {
		uint64_t *e = &table[idx(va, l)];
		if (!(*e & PTE_P))
			return NULL;
		if (l == 1 || (*e & PTE_PS)) {
			if (level)
				*level = l;
			return e;
		}
		table = (uint64_t *)(*e & PTE_ADDR);
	}
	return NULL;
}

int pt_walk(struct dune_vm *vm, uint64_t start, uint64_t end, pt_walk_fn fn, void *arg)
{
	return walk(vm, start, end, fn, arg, false);
}

/* ---- memslots and mirroring ---- */

int vm_cover(struct dune_vm *vm, uint64_t start, uint64_t end)
{
	uint64_t a = start & ~(HUGE_SIZE - 1);
	uint64_t b = (end + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
	if (b > USER_TOP)
		b = USER_TOP;
	if (a < SLOT_MIN)
		a = SLOT_MIN;
	uint64_t at = a;
	while (at < b) {
		const struct region *r = region_find(&vm->slots, at);
		if (r) {
			at = r->end;
			continue;
		}
		uint64_t gap_end = at;
		while (gap_end < b && !region_find(&vm->slots, gap_end))
			gap_end = (gap_end + HUGE_SIZE) & ~(HUGE_SIZE - 1);
		if (gap_end > b)
			gap_end = b;
		int rc = vm->hw->add_slot(vm->hw_vm, at, gap_end - at, at);
		if (rc < 0)
			return rc;
		if (region_set(&vm->slots, at, gap_end, 1) < 0)
			return -ENOMEM;
		at = gap_end;
	}
	return 0;
}

uint64_t prot_to_pte(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	uint64_t f = PTE_P | PTE_U | PTE_A | PTE_D;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC))
		f |= PTE_NX;
	return f;
}

static void pager_forget(struct dune_vm *vm, uint64_t start, uint64_t len)
{
	if (vm->pager.forget)
		vm->pager.forget(vm->pager.ctx, start, len);
}

static int mirror_map_locked(struct dune_vm *vm, uint64_t start, uint64_t len, int prot, bool lazy)
{
	pager_forget(vm, start, len);
	if (region_set(&vm->owned, start, start + len, prot) < 0)
		return -ENOMEM;
	uint64_t f = prot_to_pte(prot);
	if (!f) {
		pt_unmap(vm, start, len);
		return 0;
	}
	if (lazy)
		f &= ~(PTE_A | PTE_D); /* set by the hypervisor when the program touches a page */
	int rc = vm_cover(vm, start, start + len);
	return rc ? rc : pt_map(vm, start, start, len, f);
}

int vm_mirror_map(struct dune_vm *vm, uint64_t start, uint64_t len, int prot)
{
	pthread_mutex_lock(&vm->lock);
	int rc = mirror_map_locked(vm, start, len, prot, false);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

int vm_mirror_map_anon(struct dune_vm *vm, uint64_t start, uint64_t len, int prot)
{
	pthread_mutex_lock(&vm->lock);
	bool lazy = vm->pager.wants && vm->pager.wants(vm->pager.ctx, len, prot);
	int rc = mirror_map_locked(vm, start, len, prot, lazy);
	if (!rc && lazy && vm->pager.plant)
		vm->pager.plant(vm->pager.ctx, vm, start, len);
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void vm_mirror_unmap(struct dune_vm *vm, uint64_t start, uint64_t len)
{
	pthread_mutex_lock(&vm->lock);
	pt_unmap(vm, start, len);
	pager_forget(vm, start, len);
	region_set(&vm->owned, start, start + len, -1);
	pthread_mutex_unlock(&vm->lock);
}

struct protect_arg {
	struct dune_vm *vm;
	int prot;
	int rc;
};

void vm_mirror_protect(struct dune_vm *vm, uint64_t start, uint64_t len, int prot)
{
	pthread_mutex_lock(&vm->lock);
	uint64_t end = start + len, at = start;
	uint64_t f = prot_to_pte(prot);
	/* Only the program's own pages change; holes stay holes. */
	while (at < end) {
		const struct region *r = region_find(&vm->owned, at);
		if (!r) {
			at += PAGE_SIZE;
			continue;
		}
		uint64_t e = r->end < end ? r->end : end;
		region_set(&vm->owned, at, e, prot);
		pager_forget(vm, at, e - at); /* every page of it is mapped below */
		if (f) {
			if (vm_cover(vm, at, e) == 0)
				pt_map(vm, at, at, e - at, f);
		} else {
			pt_unmap(vm, at, e - at);
		}
		at = e;
	}
	pthread_mutex_unlock(&vm->lock);
}

/* ---- system area: IDT, GDT, TSS ---- */

static void write_idt(struct dune_vm *vm)
{
	uint64_t *idt = (uint64_t *)vm->arena;
	for (int v = 0; v < 256; v++) {
		uint64_t h = EXIT_VA + (uint64_t)v * 8;
		/* int3 and into are allowed from ring 3, as on Linux. */
		uint64_t dpl = (v == 3 || v == 4) ? 3 : 0;
		idt[2 * v] = (h & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
			     ((0x8eull | (dpl << 5)) << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
}

static void write_cpu_area(struct dune_vm *vm, int i)
{
	uint8_t *area = vm->arena + CPU_AREA(i);
	memset(area, 0, 0x2000);
	uint64_t *gdt = (uint64_t *)area;
	gdt[1] = 0x00af9b000000ffffull; /* kernel code 64 */
	gdt[2] = 0x00cf93000000ffffull; /* kernel data */
	gdt[3] = 0x00cff3000000ffffull; /* user data */
	gdt[4] = 0x00affb000000ffffull; /* user code 64 */
	uint64_t tss = SYS_VA + CPU_AREA(i) + TSS_OFF;
	gdt[5] = 0x67 | ((tss & 0xffffff) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xff) << 56);
	gdt[6] = tss >> 32;
	uint8_t *t = area + TSS_OFF;
	uint64_t rsp0 = SYS_VA + STACK_TOP(i);
	memcpy(t + 4, &rsp0, 8);
	uint16_t iomap = 104;
	memcpy(t + 102, &iomap, 2);
}

static int build_system_area(struct dune_vm *vm)
{
	write_idt(vm);
	vm->pml4 = pt_alloc(vm);
	if (!vm->pml4)
		return -ENOMEM;
	int rc = pt_map_huge(vm, SYS_VA, (uint64_t)vm->arena, SYS_AREA_SIZE, PTE_W | PTE_NX | PTE_A | PTE_D);
	if (rc)
		return rc;
	/* Entry points: executable, backed by nothing. This hypervisor turns a
	 * supervisor-only fetch outside every slot into a reserved-bit #PF
	 * instead of an exit, so the page carries the user bit. A ring-3 jump
	 * to the syscall entry is just a syscall; to an exception entry,
	 * vcpu_run sees no stack switch and reports a fault. */
	return pt_map(vm, EXIT_VA, EXIT_GPA, PAGE_SIZE, PTE_A | PTE_U);
}

static int add_arena_slot(struct dune_vm *vm)
{
	int rc = vm->hw->add_slot(vm->hw_vm, (uint64_t)vm->arena, ARENA_SIZE, (uint64_t)vm->arena);
	if (rc < 0)
		return rc;
	return region_set(&vm->slots, (uint64_t)vm->arena, (uint64_t)vm->arena + ARENA_SIZE, 2);
}

int vm_create(struct dune_vm **out, const struct hw_ops *hw, int dev_fd)
{
	struct dune_vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return -ENOMEM;
	vm->hw = hw;
	pthread_mutex_init(&vm->lock, NULL);
	int rc = hw->vm_create(&vm->hw_vm, dev_fd);
	if (rc < 0) {
		free(vm);
		return rc;
	}
	/* 2M-aligned so the arena's slot never shares a chunk with program slots. */
	uint8_t *raw = mmap(NULL, ARENA_SIZE + HUGE_SIZE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	uint8_t *al = (uint8_t *)(((uint64_t)raw + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	if (al > raw)
		munmap(raw, (size_t)(al - raw));
	munmap(al + ARENA_SIZE, (size_t)(raw + ARENA_SIZE + HUGE_SIZE - (al + ARENA_SIZE)));
	if (mmap(al, ARENA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	vm->arena = al;
	vm->arena_used = SYS_AREA_SIZE;
	rc = add_arena_slot(vm);
	if (!rc)
		rc = build_system_area(vm);
	if (rc)
		goto fail;
	*out = vm;
	return 0;
fail:
	hw->vm_destroy(vm->hw_vm);
	free(vm);
	return rc;
}

static void free_vcpus(struct dune_vm *vm);

void vm_destroy(struct dune_vm *vm)
{
	free_vcpus(vm);
	vm->hw->vm_destroy(vm->hw_vm);
	munmap(vm->arena, ARENA_SIZE);
	region_free(&vm->owned);
	region_free(&vm->slots);
	if (vm->pager.release)
		vm->pager.release(vm->pager.ctx);
	free(vm);
}

int vm_rebuild_after_fork(struct dune_vm *vm)
{
	/* The inherited VM descriptors belong to the parent's mm; its device
	 * descriptor is reused (no path needed after pivot_root). */
	struct hw_vm *fresh;
	int rc = vm->hw->vm_fork(vm->hw_vm, &fresh);
	if (rc < 0)
		return rc;
	/* Leaking the parent's small struct is fine; closing its fds is not
	 * optional. The parent's vCPUs (every thread's, busy or idle) go too:
	 * the caller makes the one it needs anew. */
	free_vcpus(vm);
	vm->hw->vm_destroy(vm->hw_vm);
	vm->hw_vm = fresh;
	pthread_mutex_init(&vm->lock, NULL);
	for (size_t i = 0; i < vm->slots.n; i++) {
		const struct region *r = &vm->slots.r[i];
		rc = vm->hw->add_slot(vm->hw_vm, r->start, r->end - r->start, r->start);
		if (rc < 0)
			return rc;
	}
	memset(vm->cpu_used, 0, sizeof vm->cpu_used);
	return 0;
}

/* ---- vCPUs ---- */

static struct kvm_segment user_cs(void)
{
	struct kvm_segment s = { .base = 0, .limit = 0xffffffff, .selector = SEL_UCODE,
				 .type = 11, .present = 1, .dpl = 3, .s = 1, .l = 1, .g = 1 };
	return s;
}

static struct kvm_segment user_ds(void)
{
	struct kvm_segment s = { .base = 0, .limit = 0xffffffff, .selector = SEL_UDATA,
				 .type = 3, .present = 1, .dpl = 3, .s = 1, .db = 1, .g = 1 };
	return s;
}

void vm_user_segments(struct kvm_segment *cs, struct kvm_segment *ss)
{
	*cs = user_cs();
	*ss = user_ds();
}

static void initial_sregs(struct dune_vcpu *v, struct kvm_sregs *s, uint64_t fs_base)
{
	memset(s, 0, sizeof *s);
	s->cs = user_cs();
	s->ss = user_ds();
	s->ds = s->es = s->ss;
	s->fs = s->gs = s->ss;
	s->fs.selector = s->gs.selector = 0;
	s->fs.base = fs_base;
	s->tr = (struct kvm_segment){ .base = SYS_VA + CPU_AREA(v->index) + TSS_OFF, .limit = 0x67,
				      .selector = SEL_TSS, .type = 11, .present = 1 };
	s->ldt = (struct kvm_segment){ .type = 2, .present = 1, .limit = 0xffff, .unusable = 1 };
	s->gdt.base = SYS_VA + CPU_AREA(v->index);
	s->gdt.limit = 7 * 8 - 1;
	s->idt.base = SYS_VA;
	s->idt.limit = 256 * 16 - 1;
	s->cr0 = CR0_VALUE;
	s->cr3 = (uint64_t)v->vm->pml4;
	s->cr4 = CR4_VALUE;
	s->efer = EFER_VALUE;
	s->apic_base = 0xfee00900;
}

static int setup_hw(struct dune_vcpu *v, const struct kvm_sregs *s, const struct kvm_regs *r)
{
	struct hw_msr msrs[] = {
		{ MSR_STAR, ((uint64_t)0x10 << 48) | ((uint64_t)SEL_KCODE << 32) },
		{ MSR_LSTAR, EXIT_VA + EXIT_SYSCALL_OFF },
		{ MSR_SFMASK, 0x47700 },
	};
	return v->vm->hw->vcpu_setup(v->hw, s, r, msrs, 3);
}

int vcpu_create(struct dune_vm *vm, struct dune_vcpu **out)
{
	pthread_mutex_lock(&vm->lock);
	int fresh = -1;
	for (int i = 0; i < MAX_VCPUS; i++) {
		struct dune_vcpu *idle = vm->vcpus[i];
		if (idle && !vm->cpu_used[i]) {
			/* An ended thread's vCPU: KVM could not free it anyway. */
			vm->cpu_used[i] = true;
			pthread_mutex_unlock(&vm->lock);
			vm->hw->unkick(idle->hw); /* a late kick of the old thread */
			idle->user = NULL;
			idle->vector = 0;
			idle->error_code = idle->cr2 = 0;
			*out = idle;
			return 0;
		}
		if (!idle && !vm->cpu_used[i] && fresh < 0)
			fresh = i;
	}
	if (fresh >= 0)
		vm->cpu_used[fresh] = true;
	pthread_mutex_unlock(&vm->lock);
	if (fresh < 0)
		return -EAGAIN;
	struct dune_vcpu *v = calloc(1, sizeof *v);
	int rc = v ? 0 : -ENOMEM;
	if (v) {
		v->vm = vm;
		v->index = fresh;
		write_cpu_area(vm, v->index);
		rc = vm->hw->vcpu_create(vm->hw_vm, &v->hw);
	}
	pthread_mutex_lock(&vm->lock);
	if (rc < 0)
		vm->cpu_used[fresh] = false;
	else
		vm->vcpus[fresh] = v;
	pthread_mutex_unlock(&vm->lock);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int vcpu_recreate(struct dune_vcpu *v)
{
	struct kvm_regs r = *v->vm->hw->regs(v->hw);
	struct kvm_sregs s = *v->vm->hw->sregs(v->hw);
	/* The old vCPU belongs to the parent's VM; its run page is shared with
	 * the parent, so the caller copied the state before fork. */
	int rc = v->vm->hw->vcpu_create(v->vm->hw_vm, &v->hw);
	if (rc < 0)
		return rc;
	v->vm->cpu_used[v->index] = true;
	v->vm->vcpus[v->index] = v;
	return setup_hw(v, &s, &r);
}

void vcpu_destroy(struct dune_vcpu *v)
{
	/* Kept for the next thread (vm->vcpus): KVM frees vCPUs only with the VM. */
	pthread_mutex_lock(&v->vm->lock);
	v->vm->cpu_used[v->index] = false;
	pthread_mutex_unlock(&v->vm->lock);
}

bool vm_is_vcpu_fd(struct dune_vm *vm, int fd)
{
	bool hit = false;
	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < MAX_VCPUS && !hit; i++)
		hit = vm->vcpus[i] && vm->hw->vcpu_fd(vm->vcpus[i]->hw) == fd;
	pthread_mutex_unlock(&vm->lock);
	return hit;
}

/* Close every vCPU (before the VM: a vCPU descriptor keeps its VM alive). */
static void free_vcpus(struct dune_vm *vm)
{
	for (int i = 0; i < MAX_VCPUS; i++) {
		if (!vm->vcpus[i])
			continue;
		vm->hw->vcpu_destroy(vm->vcpus[i]->hw);
		free(vm->vcpus[i]);
		vm->vcpus[i] = NULL;
	}
}

int vcpu_enter_user(struct dune_vcpu *v, uint64_t rip, uint64_t rsp, uint64_t fs_base)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	memset(&r, 0, sizeof r);
	initial_sregs(v, &s, fs_base);
	r.rip = rip;
	r.rsp = rsp;
	r.rflags = 0x202;
	int rc = setup_hw(v, &s, &r);
	v->dirty = true; /* rip, rsp and fs_base come from the caller */
	/* Seed the sync-register views so edits before the first run start
	 * from this state. */
	*v->vm->hw->regs(v->hw) = r;
	*v->vm->hw->sregs(v->hw) = s;
	return rc;
}

struct kvm_regs *vcpu_regs(struct dune_vcpu *v) { return v->vm->hw->regs(v->hw); }
struct kvm_sregs *vcpu_sregs(struct dune_vcpu *v) { return v->vm->hw->sregs(v->hw); }
void vcpu_dirty(struct dune_vcpu *v, int regs, int sregs)
{
	v->vm->hw->mark_dirty(v->hw, regs, sregs);
	v->dirty = true;
}

static bool has_error_code(int vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30;
}

#define USER_RFLAGS_MASK 0x254dd5ull /* CF PF AF ZF SF TF DF OF NT AC ID, as the kernel allows */
#define RFLAGS_FIXED 0x202ull         /* IF and the always-one bit 1 */

static bool canonical(uint64_t a) { return a < USER_VA_END || a >= 0xffff800000000000ull; }

bool vcpu_user_state_ok(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	return r->rip < USER_VA_END && canonical(r->rsp) && s->fs.base < USER_VA_END && s->gs.base < USER_VA_END &&
	       (r->rflags & ~(USER_RFLAGS_MASK | RFLAGS_FIXED)) == 0 && (r->rflags & RFLAGS_FIXED) == RFLAGS_FIXED &&
	       s->cs.selector == SEL_UCODE && s->cs.dpl == 3 && s->cs.l && s->cs.present &&
	       s->ss.selector == SEL_UDATA && s->ss.dpl == 3 && s->ss.present;
}

/* The monitor asked for state no ring-3 program can have (a forged sigreturn
 * frame, a handler address above user space...): do what the CPU does on the
 * iret that would load it, a #GP (or the #PF of the fetch at a canonical
 * kernel address), without entering the guest. Selectors,
 * flags and segment bases are made valid for the signal handler; RIP and RSP
 * stay, so the frame shows them as Linux's would. */
static enum dune_event refuse_state(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	s->cs = user_cs();
	s->ss = user_ds();
	r->rflags = (r->rflags & USER_RFLAGS_MASK) | RFLAGS_FIXED;
	if (s->fs.base >= USER_VA_END)
		s->fs.base = 0;
	if (s->gs.base >= USER_VA_END)
		s->gs.base = 0;
	v->vm->hw->mark_dirty(v->hw, 1, 1);
	if (canonical(r->rip) && r->rip >= USER_VA_END && canonical(r->rsp)) {
		/* The iret works natively; the fetch at a kernel address faults. */
		v->vector = 14;
		v->error_code = 0x14; /* not present, user, instruction fetch */
		v->cr2 = r->rip;
		return EV_EXCEPTION;
	}
	v->vector = 13;
	v->error_code = 0;
	v->cr2 = 0;
	return EV_EXCEPTION;
}

/* A ring-3 jump into the entry page (no syscall or exception delivery got
 * there): the fetch fault it is natively. */
static enum dune_event entry_jump(struct dune_vcpu *v, const struct kvm_regs *r)
{
	v->vector = 14;
	v->error_code = 0x15; /* present, user, instruction fetch */
	v->cr2 = r->rip;
	return EV_EXCEPTION;
}

/* The vCPU stopped at the entry page: decode the syscall or exception. */
static enum dune_event entry_exit(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	const struct hw_ops *hw = v->vm->hw;
	if (r->rip == EXIT_VA + EXIT_SYSCALL_OFF) {
		/* syscall leaves the next user RIP in RCX: any other value means a jump. */
		if (r->rcx >= USER_VA_END)
			return entry_jump(v, r);
		/* What sysretq would do, done from the host. */
		r->rip = r->rcx;
		r->rflags = (r->r11 & USER_RFLAGS_MASK) | RFLAGS_FIXED;
		s->cs = user_cs();
		s->ss = user_ds();
		hw->mark_dirty(v->hw, 1, 1);
		return EV_SYSCALL;
	}
	if (r->rip < EXIT_VA + 256 * 8 && (r->rip & 7) == 0) {
		int vec = (int)((r->rip - EXIT_VA) / 8);
		uint64_t *top = (uint64_t *)(v->vm->arena + STACK_TOP(v->index));
		uint64_t *f = top - (has_error_code(vec) ? 6 : 5);
		int k = 0;
		/* This hypervisor reports ring-3 CS even here, so a real
		 * delivery is recognised by the stack switch to RSP0. */
		if (r->rsp != SYS_VA + STACK_TOP(v->index) - (uint64_t)((uint8_t *)top - (uint8_t *)f))
			return entry_jump(v, r);
		v->error_code = has_error_code(vec) ? f[k++] : 0;
		uint64_t rip = f[k], cs = f[k + 1], fl = f[k + 2], rsp = f[k + 3];
		if ((cs & 3) != 3)
			return EV_FATAL;
		v->vector = vec;
		v->cr2 = s->cr2;
		r->rip = rip;
		r->rsp = rsp;
		r->rflags = (fl & USER_RFLAGS_MASK) | RFLAGS_FIXED;
		s->cs = user_cs();
		s->ss = user_ds();
		hw->mark_dirty(v->hw, 1, 1);
		return EV_EXCEPTION;
	}
	return entry_jump(v, r);
}

static bool in_entry_page(uint64_t rip) { return rip >= EXIT_VA && rip < EXIT_VA + PAGE_SIZE; }

enum dune_event vcpu_run(struct dune_vcpu *v)
{
	const struct hw_ops *hw = v->vm->hw;
	struct kvm_regs *r = hw->regs(v->hw);
	struct kvm_sregs *s = hw->sregs(v->hw);
	/* Every writer of guest state passes here before the guest sees it. */
	if (v->dirty && !vcpu_user_state_ok(r, s))
		return refuse_state(v, r, s);
	enum hw_exit e = hw->vcpu_run(v->hw);
	v->dirty = false;
	v->exits++;
	r = hw->regs(v->hw);
	s = hw->sregs(v->hw);
	switch (e) {
	case HW_EXIT_FETCH:
		if (in_entry_page(r->rip))
			return entry_exit(v, r, s);
		return EV_FATAL;
	case HW_EXIT_INTR:
		hw->unkick(v->hw);
		/* Stopped after a syscall or exception delivery, before the entry
		 * page's fetch: finish it, the monitor must not edit that state. */
		if (in_entry_page(r->rip))
			return entry_exit(v, r, s);
		return EV_INTERRUPT;
	case HW_EXIT_EFAULT:
		return EV_MEMFAULT;
	case HW_EXIT_SYSCALL: {
		/* The backend performed the call the guest stopped at (the fast path) and a signal
		 * interrupted it: the monitor finishes it as it finishes its own calls. */
		hw->unkick(v->hw);
		enum dune_event ev = in_entry_page(r->rip) ? entry_exit(v, r, s) : EV_FATAL;
		if (ev != EV_SYSCALL)
			return EV_FATAL;
		v->kernel_ret = hw->syscall_result(v->hw);
		return EV_SYSCALL_DONE;
	}
	default:
		return EV_FATAL;
	}
}
