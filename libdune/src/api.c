/* The public API (include/dune.h) over the VM core. */
#define _GNU_SOURCE
#include "../include/dune.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loader.h"
#include "vm.h"

#define POOL_SIZE (1ull << 30)

/* Per-VM API data: the page pool. */
struct api_vm {
	uint8_t *pool;
	uint64_t pool_used;
	void **free_pages;
	size_t nfree, capfree;
};

/* Per-vCPU API data: handlers. */
struct api_vcpu {
	dune_syscall_cb sys;
	void *sys_arg;
	dune_pgflt_cb pf;
	void *pf_arg;
	dune_trap_cb trap;
	void *trap_arg;
};

static long raw_syscall(long n, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	register uint64_t r10 __asm__("r10") = d;
	register uint64_t r8 __asm__("r8") = e;
	register uint64_t r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

int dune_vm_create(struct dune_vm **out)
{
	struct api_vm *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	int rc = vm_create(out, hw_default_ops(), -1);
	if (rc) {
		free(a);
		return rc;
	}
	(*out)->user = a;
	return 0;
}

void dune_vm_destroy(struct dune_vm *vm)
{
	struct api_vm *a = vm->user;
	if (a) {
		if (a->pool)
			munmap(a->pool, POOL_SIZE);
		free(a->free_pages);
		free(a);
	}
	vm_destroy(vm);
}

static uint64_t perm_flags(int perm)
{
	uint64_t f = PTE_U | PTE_A;
	if (perm & DUNE_PERM_W)
		f |= PTE_W | PTE_D;
	if (!(perm & DUNE_PERM_X))
		f |= PTE_NX;
	return f;
}


int dune_vm_map(struct dune_vm *vm, void *va, size_t len, int perm)
{
	uint64_t a = (uint64_t)va;
	if ((a & (PAGE_SIZE - 1)) || !len)
		return -EINVAL;
	len = PAGE_UP(len);
	pthread_mutex_lock(&vm->lock);
	int rc = vm_cover(vm, a, a + len);
	if (!rc)
		rc = (perm & DUNE_PERM_BIG) ? pt_map_huge(vm, a, a, len, perm_flags(perm))
					    : pt_map(vm, a, a, len, perm_flags(perm));
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

/* Drop cached translations for [va, va+len). Where the host protection of
 * the range is known (Dune mode mirrors it), changing it and back makes the
 * kernel's MMU notifier invalidate just those pages; otherwise every
 * shadow page goes. Inside Dune mode the monitor does it (hypercall). */
#define DUNE_HC_INVALIDATE 0x444e0001

static int host_invalidate(struct dune_vm *vm, uint64_t va, uint64_t len)
{
	pthread_mutex_lock(&vm->lock);
	bool known = region_covers(&vm->owned, va, va + len, 0);
	if (known) {
		for (uint64_t at = va; at < va + len;) {
			const struct region *r = region_find(&vm->owned, at);
			uint64_t e = r->end < va + len ? r->end : va + len;
			if (r->prot) {
				raw_syscall(SYS_mprotect, at, e - at, PROT_NONE, 0, 0, 0);
				raw_syscall(SYS_mprotect, at, e - at, (uint64_t)r->prot, 0, 0, 0);
			}
			at = e;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return known ? 0 : vm->hw->flush_all(vm->hw_vm);
}

static int invalidate(struct dune_vm *vm, uint64_t va, uint64_t len)
{
	if (raw_syscall(DUNE_HC_INVALIDATE, (uint64_t)vm, va, len, 0, 0, 0) == 0)
		return 0;
	return host_invalidate(vm, va, len);
}

int dune_vm_unmap(struct dune_vm *vm, void *va, size_t len)
{
	pthread_mutex_lock(&vm->lock);
	pt_unmap(vm, (uint64_t)va, PAGE_UP(len));
	pthread_mutex_unlock(&vm->lock);
	return invalidate(vm, (uint64_t)va, PAGE_UP(len));
}

struct reduce_arg {
	uint64_t flags;
	int reduced;
};

static int reduces(void *arg, uint64_t va, uint64_t *pte, int level)
{
	(void)va, (void)level;
	struct reduce_arg *r = arg;
	if (!(r->flags & PTE_P) || ((*pte & PTE_W) && !(r->flags & PTE_W)) || (!(*pte & PTE_NX) && (r->flags & PTE_NX)))
		r->reduced = 1;
	return 0;
}

int dune_vm_protect(struct dune_vm *vm, void *va, size_t len, int perm)
{
	struct reduce_arg r = { perm ? perm_flags(perm) | PTE_P : 0, 0 };
	pthread_mutex_lock(&vm->lock);
	pt_walk(vm, (uint64_t)va, (uint64_t)va + PAGE_UP(len), reduces, &r);
	pt_protect(vm, (uint64_t)va, PAGE_UP(len), perm ? perm_flags(perm) : 0);
	pthread_mutex_unlock(&vm->lock);
	/* Wider rights need nothing: the next fault makes the hypervisor
	 * re-walk the tables. Narrower rights must drop cached translations. */
	return r.reduced ? invalidate(vm, (uint64_t)va, PAGE_UP(len)) : 0;
}

uint64_t *dune_vm_lookup(struct dune_vm *vm, const void *va, int *level)
{
	return pt_lookup(vm, (uint64_t)va, level);
}

int dune_vm_walk(struct dune_vm *vm, const void *start, const void *end, dune_walk_cb cb, void *arg)
{
	return pt_walk(vm, (uint64_t)start, (uint64_t)end, (pt_walk_fn)cb, arg);
}

int dune_vm_flush(struct dune_vm *vm)
{
	return vm->hw->flush_all(vm->hw_vm);
}

void *dune_page_alloc(struct dune_vm *vm)
{
	struct api_vm *a = vm->user;
	void *p = NULL;
	if (!a)
		return NULL;
	if (a->nfree) {
		p = a->free_pages[--a->nfree];
		memset(p, 0, PAGE_SIZE);
		if (dune_vm_map(vm, p, PAGE_SIZE, DUNE_PERM_R | DUNE_PERM_W))
			return NULL;
		return p;
	}
	if (!a->pool) {
		a->pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (a->pool == MAP_FAILED) {
			a->pool = NULL;
			return NULL;
		}
	}
	if (a->pool_used + PAGE_SIZE > POOL_SIZE)
		return NULL;
	p = a->pool + a->pool_used;
	a->pool_used += PAGE_SIZE;
	if (dune_vm_map(vm, p, PAGE_SIZE, DUNE_PERM_R | DUNE_PERM_W))
		return NULL;
	return p;
}

void dune_page_free(struct dune_vm *vm, void *page)
{
	struct api_vm *a = vm->user;
	dune_vm_unmap(vm, page, PAGE_SIZE);
	if (a->nfree == a->capfree) {
		size_t cap = a->capfree ? a->capfree * 2 : 256;
		void **n = realloc(a->free_pages, cap * sizeof *n);
		if (!n)
			return;
		a->free_pages = n;
		a->capfree = cap;
	}
	a->free_pages[a->nfree++] = page;
}

int dune_elf_load(struct dune_vm *vm, const char *path, char *const argv[], char *const envp[], struct dune_tf *tf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char why[160];
	if (elf_classify(fd, why, sizeof why) != ELF_OK) {
		close(fd);
		return -ENOEXEC;
	}
	struct elf_image img;
	char err[256];
	int rc = elf_load(vm, fd, &img, err, sizeof err);
	close(fd);
	if (rc)
		return rc;
	struct elf_stack stack;
	rc = elf_build_stack(vm, &img, argv, envp, path, &stack);
	if (rc)
		return rc;
	memset(tf, 0, sizeof *tf);
	tf->rip = img.entry;
	tf->rsp = stack.rsp;
	tf->rflags = 0x202;
	return 0;
}

int dune_vcpu_create(struct dune_vm *vm, struct dune_vcpu **out)
{
	struct api_vcpu *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	int rc = vcpu_create(vm, out);
	if (rc) {
		free(h);
		return rc;
	}
	(*out)->user = h;
	return 0;
}

void dune_vcpu_destroy(struct dune_vcpu *v)
{
	free(v->user);
	vcpu_destroy(v);
}

void dune_register_syscall_handler(struct dune_vcpu *v, dune_syscall_cb cb, void *arg)
{
	struct api_vcpu *h = v->user;
	h->sys = cb;
	h->sys_arg = arg;
}

void dune_register_pgflt_handler(struct dune_vcpu *v, dune_pgflt_cb cb, void *arg)
{
	struct api_vcpu *h = v->user;
	h->pf = cb;
	h->pf_arg = arg;
}

void dune_register_trap_handler(struct dune_vcpu *v, dune_trap_cb cb, void *arg)
{
	struct api_vcpu *h = v->user;
	h->trap = cb;
	h->trap_arg = arg;
}

struct dune_vm *dune_vcpu_vm(struct dune_vcpu *v) { return v->vm; }
uint64_t dune_vcpu_exits(struct dune_vcpu *v) { return v->exits; }

static void regs_to_tf(const struct kvm_regs *r, const struct kvm_sregs *s, struct dune_tf *tf)
{
	tf->rax = r->rax, tf->rbx = r->rbx, tf->rcx = r->rcx, tf->rdx = r->rdx;
	tf->rsi = r->rsi, tf->rdi = r->rdi, tf->rbp = r->rbp, tf->rsp = r->rsp;
	tf->r8 = r->r8, tf->r9 = r->r9, tf->r10 = r->r10, tf->r11 = r->r11;
	tf->r12 = r->r12, tf->r13 = r->r13, tf->r14 = r->r14, tf->r15 = r->r15;
	tf->rip = r->rip, tf->rflags = r->rflags;
	tf->fs_base = s->fs.base, tf->gs_base = s->gs.base;
}

static void tf_to_regs(const struct dune_tf *tf, struct kvm_regs *r, struct kvm_sregs *s, int *sregs_changed)
{
	r->rax = tf->rax, r->rbx = tf->rbx, r->rcx = tf->rcx, r->rdx = tf->rdx;
	r->rsi = tf->rsi, r->rdi = tf->rdi, r->rbp = tf->rbp, r->rsp = tf->rsp;
	r->r8 = tf->r8, r->r9 = tf->r9, r->r10 = tf->r10, r->r11 = tf->r11;
	r->r12 = tf->r12, r->r13 = tf->r13, r->r14 = tf->r14, r->r15 = tf->r15;
	r->rip = tf->rip;
	r->rflags = (tf->rflags & 0x254dd5ull) | 0x202;
	if (s->fs.base != tf->fs_base || s->gs.base != tf->gs_base) {
		s->fs.base = tf->fs_base;
		s->gs.base = tf->gs_base;
		*sregs_changed = 1;
	}
}

/* The monitor loop behind dune_jump_to_user and dune_enter. */
static int run_loop(struct dune_vcpu *v, struct dune_tf *tf, int (*sys_default)(struct dune_vcpu *, struct dune_tf *))
{
	struct api_vcpu *h = v->user;
	int sregs_changed = 0;
	struct kvm_regs *r = vcpu_regs(v);
	struct kvm_sregs *s = vcpu_sregs(v);
	tf_to_regs(tf, r, s, &sregs_changed);
	vcpu_dirty(v, 1, 1);
	for (;;) {
		enum dune_event ev = vcpu_run(v);
		r = vcpu_regs(v);
		s = vcpu_sregs(v);
		regs_to_tf(r, s, tf);
		int act = DUNE_RESUME;
		switch (ev) {
		case EV_SYSCALL:
			if (h->sys)
				act = h->sys(v, tf, h->sys_arg);
			else
				act = sys_default(v, tf);
			break;
		case EV_EXCEPTION:
			if (v->vector == 14 && h->pf)
				act = h->pf(v, tf, v->cr2, v->error_code, h->pf_arg);
			else if (h->trap)
				act = h->trap(v, tf, v->vector, v->error_code, h->trap_arg);
			else
				return -EFAULT;
			break;
		case EV_INTERRUPT:
			continue;
		default:
			return -EIO;
		}
		if (act == DUNE_STOP)
			return 0;
		sregs_changed = 0;
		tf_to_regs(tf, r, s, &sregs_changed);
		vcpu_dirty(v, 1, sregs_changed);
	}
}

static int forward_syscall(struct dune_vcpu *v, struct dune_tf *tf)
{
	(void)v;
	/* The guest's FS/GS bases live in tf, never in the host thread. */
	if (tf->rax == SYS_arch_prctl && (tf->rdi == 0x1002 || tf->rdi == 0x1001)) {
		if (tf->rdi == 0x1002)
			tf->fs_base = tf->rsi;
		else
			tf->gs_base = tf->rsi;
		tf->rax = 0;
		return DUNE_RESUME;
	}
	tf->rax = (uint64_t)raw_syscall((long)tf->rax, tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
	return DUNE_RESUME;
}

int dune_jump_to_user(struct dune_vcpu *v, struct dune_tf *tf)
{
	int rc = vcpu_enter_user(v, tf->rip, tf->rsp, tf->fs_base);
	if (rc)
		return rc;
	return run_loop(v, tf, forward_syscall);
}

/* ---- Dune mode for the calling thread ---- */

static __thread struct dune_vcpu *current_vcpu;

struct dune_vcpu *dune_current(void) { return current_vcpu; }

/* vDSO entry points: the guest cannot run the host's vDSO (its data page
 * is the host kernel's), so a fetch there becomes the system call. */
struct vdso_fn {
	uint64_t addr;
	long nr;
};

struct enter_state {
	struct dune_vcpu *v;
	struct dune_tf tf;
	struct vdso_fn vdso[5];
	uint64_t vdso_lo, vdso_hi;
	uint64_t brk;
};

static void find_vdso(struct enter_state *st)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	uint64_t load = 0;
	const Elf64_Dyn *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load)
			load = base + ph[i].p_offset - ph[i].p_vaddr;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
	}
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	const uint32_t *hash = NULL;
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const Elf64_Sym *)(load + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(load + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_HASH)
			hash = (const uint32_t *)(load + dyn->d_un.d_ptr);
	}
	if (!sym || !str || !hash)
		return;
	static const struct { const char *name; long nr; } fns[] = {
		{ "__vdso_clock_gettime", SYS_clock_gettime }, { "__vdso_gettimeofday", SYS_gettimeofday },
		{ "__vdso_time", SYS_time }, { "__vdso_getcpu", SYS_getcpu }, { "__vdso_clock_getres", SYS_clock_getres },
	};
	for (uint32_t i = 0; i < hash[1]; i++)
		for (int k = 0; k < 5; k++)
			if (sym[i].st_name && !strcmp(str + sym[i].st_name, fns[k].name)) {
				st->vdso[k].addr = load + sym[i].st_value;
				st->vdso[k].nr = fns[k].nr;
			}
	st->vdso_lo = base;
	st->vdso_hi = base + 2 * PAGE_SIZE;
}

static int mirror_maps(struct dune_vm *vm, uint64_t skip_lo, uint64_t skip_hi)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	char line[512];
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (strstr(line, "[vsyscall]") || strstr(line, "[vvar") || strstr(line, "[vdso]"))
			continue;
		if (lo >= (uint64_t)vm->arena && hi <= (uint64_t)vm->arena + ARENA_SIZE)
			continue;
		if (lo >= skip_lo && hi <= skip_hi)
			continue;
		int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			   (perms[2] == 'x' ? PROT_EXEC : 0);
		rc = vm_mirror_map(vm, lo, hi - lo, prot);
		if (rc)
			break;
	}
	fclose(f);
	return rc;
}

static int enter_syscall(struct dune_vcpu *v, struct dune_tf *tf)
{
	struct dune_vm *vm = v->vm;
	long nr = (long)tf->rax;
	uint64_t a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10, a4 = tf->r8, a5 = tf->r9;
	long ret;
	switch (nr) {
	case DUNE_HC_INVALIDATE:
		ret = a0 == (uint64_t)vm ? host_invalidate(vm, a1, a2) : -ENOSYS;
		break;
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
		ret = -ENOSYS;
		break;
	case SYS_exit:
	case SYS_exit_group:
		raw_syscall(SYS_exit_group, a0, 0, 0, 0, 0, 0);
		ret = 0;
		break;
	case SYS_munmap:
		vm_mirror_unmap(vm, a0, PAGE_UP(a1));
		ret = raw_syscall(nr, a0, a1, 0, 0, 0, 0);
		break;
	case SYS_mprotect:
		ret = raw_syscall(nr, a0, a1, a2, 0, 0, 0);
		if (!ret)
			vm_mirror_protect(vm, a0, PAGE_UP(a1), (int)a2);
		break;
	case SYS_mmap:
		ret = raw_syscall(nr, a0, a1, a2, a3, a4, a5);
		if (ret > 0 || ret < -4095)
			vm_mirror_map(vm, (uint64_t)ret, PAGE_UP(a1), (int)a2);
		break;
	case SYS_mremap: {
		const struct region *rg = region_find(&vm->owned, a0);
		int prot = rg ? rg->prot : PROT_READ | PROT_WRITE;
		vm_mirror_unmap(vm, a0, PAGE_UP(a1));
		ret = raw_syscall(nr, a0, a1, a2, a3, a4, 0);
		if (ret > 0 || ret < -4095)
			vm_mirror_map(vm, (uint64_t)ret, PAGE_UP(a2), prot);
		else
			vm_mirror_map(vm, a0, PAGE_UP(a1), prot);
		break;
	}
	case SYS_brk: {
		uint64_t old = (uint64_t)raw_syscall(SYS_brk, 0, 0, 0, 0, 0, 0);
		ret = raw_syscall(SYS_brk, a0, 0, 0, 0, 0, 0);
		if ((uint64_t)ret > old)
			vm_mirror_map(vm, PAGE_UP(old), PAGE_UP((uint64_t)ret) - PAGE_UP(old), PROT_READ | PROT_WRITE);
		else if ((uint64_t)ret < old)
			vm_mirror_unmap(vm, PAGE_UP((uint64_t)ret), PAGE_UP(old) - PAGE_UP((uint64_t)ret));
		break;
	}
	default:
		ret = raw_syscall(nr, a0, a1, a2, a3, a4, a5);
	}
	tf->rax = (uint64_t)ret;
	return DUNE_RESUME;
}

/* Page faults and traps nobody handles end the process as Linux would. */
static _Noreturn void die(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

_Noreturn void dune_enter_monitor(struct enter_state *st);
_Noreturn void dune_enter_monitor(struct enter_state *st)
{
	struct dune_vcpu *v = st->v;
	struct api_vcpu *h = v->user;
	struct kvm_regs *r = vcpu_regs(v);
	struct kvm_sregs *s = vcpu_sregs(v);
	struct dune_tf *tf = &st->tf;
	int sc = 0;
	tf_to_regs(tf, r, s, &sc);
	vcpu_dirty(v, 1, 1);
	for (;;) {
		enum dune_event ev = vcpu_run(v);
		r = vcpu_regs(v);
		s = vcpu_sregs(v);
		regs_to_tf(r, s, tf);
		switch (ev) {
		case EV_SYSCALL:
			if (h->sys)
				h->sys(v, tf, h->sys_arg);
			else
				enter_syscall(v, tf);
			break;
		case EV_EXCEPTION: {
			int done = 0;
			if (v->vector == 14) {
				for (int k = 0; k < 5 && !done; k++)
					if (st->vdso[k].addr && v->cr2 == st->vdso[k].addr && tf->rip == v->cr2) {
						tf->rax = (uint64_t)raw_syscall(st->vdso[k].nr, tf->rdi, tf->rsi, 0, 0, 0, 0);
						tf->rip = *(uint64_t *)tf->rsp; /* emulate ret */
						tf->rsp += 8;
						done = 1;
					}
				if (!done && h->pf) {
					h->pf(v, tf, v->cr2, v->error_code, h->pf_arg);
					done = 1;
				}
			}
			if (!done && h->trap) {
				h->trap(v, tf, v->vector, v->error_code, h->trap_arg);
				done = 1;
			}
			if (!done)
				die(v->vector == 6 ? SIGILL : v->vector == 0 ? SIGFPE : SIGSEGV);
			break;
		}
		case EV_INTERRUPT:
			continue;
		default:
			die(SIGBUS);
		}
		sc = 0;
		tf_to_regs(tf, r, s, &sc);
		vcpu_dirty(v, 1, sc);
	}
}

/* dune_enter: save the caller's callee-saved registers, then
 * dune_enter_switch(ctx) builds the VM and never returns on success; the
 * guest resumes at dune_enter_resume with rsp = ctx. */
__asm__(".text\n"
	".globl dune_enter\n"
	".type dune_enter,@function\n"
	"dune_enter:\n"
	"	push %rbp\n	push %rbx\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	mov %rsp, %rdi\n"
	"	sub $8, %rsp\n"
	"	call dune_enter_switch\n"
	"	add $8, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbx\n	pop %rbp\n"
	"	ret\n"
	".globl dune_enter_resume\n"
	"dune_enter_resume:\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbx\n	pop %rbp\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	".globl dune_enter_jump\n"
	"dune_enter_jump:\n" /* (state, new stack top) */
	"	mov %rsi, %rsp\n"
	"	call dune_enter_monitor\n"
	"	ud2\n");

void dune_enter_resume(void);
_Noreturn void dune_enter_jump(struct enter_state *st, void *stack_top);
long dune_enter_switch(uint64_t ctx);

long dune_enter_switch(uint64_t ctx)
{
	struct dune_vm *vm;
	int rc = dune_vm_create(&vm);
	if (rc)
		return rc;
	struct enter_state *st = calloc(1, sizeof *st);
	size_t stack_size = 1 << 20;
	uint8_t *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!st || stack == MAP_FAILED)
		return -ENOMEM;
	/* Everything mapped now, except the monitor's own stack and the VM's
	 * system area (both are monitor memory the guest must not reach). */
	rc = mirror_maps(vm, (uint64_t)stack, (uint64_t)stack + stack_size);
	/* As in the paper, the application may read and edit its own page
	 * tables (A/D bits...): the pool is mapped, the system area is not.
	 * Guest writes there are seen by the shadow MMU. */
	if (!rc)
		rc = vm_mirror_map(vm, (uint64_t)vm->arena + SYS_AREA_SIZE, ARENA_SIZE - SYS_AREA_SIZE,
				   PROT_READ | PROT_WRITE);
	if (rc)
		return rc;
	rc = dune_vcpu_create(vm, &st->v);
	if (rc)
		return rc;
	find_vdso(st);
	uint64_t fs = 0;
	raw_syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, (uint64_t)&fs, 0, 0, 0, 0);
	rc = vcpu_enter_user(st->v, (uint64_t)dune_enter_resume, ctx, fs);
	if (rc)
		return rc;
	memset(&st->tf, 0, sizeof st->tf);
	st->tf.rip = (uint64_t)dune_enter_resume;
	st->tf.rsp = ctx;
	st->tf.rflags = 0x202;
	st->tf.fs_base = fs;
	current_vcpu = st->v;
	dune_enter_jump(st, stack + stack_size);
}
