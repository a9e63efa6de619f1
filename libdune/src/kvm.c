/* KVM backend: one VM per process, one vCPU per thread, KVM_CAP_SYNC_REGS so
 * an exit costs exactly one KVM_RUN ioctl. */
#define _GNU_SOURCE
#include "backend.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* What KVM supports (KVM_GET_SUPPORTED_CPUID, ~100 us on this host):
 * fetched once per VM, read-only afterwards, handed to a forked child's VM. */
struct cpuid_table {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[128];
};

struct hw_vm {
	int kvm_fd, vm_fd;
	int next_slot;
	int next_vcpu;
	int dummy_slot; /* slot used to force a full shadow-MMU flush */
	struct cpuid_table cpuid;
};

/* Backend descriptors live at high numbers, away from the ones a program
 * expects to get back from open() and dup(). */
static int high_fd(int fd)
{
	struct rlimit rl;
	long floor = 900;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - 100 < floor)
		floor = (long)rl.rlim_cur - 100;
	if (floor < 3)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, (int)floor);
	if (n < 0)
		return fd;
	close(fd);
	return n;
}

struct hw_vcpu {
	struct hw_vm *vm;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t cr4_osxsave; /* CR4_OSXSAVE once the guest has the host's XCR0, else 0 */
};

#define CR4_OSXSAVE (1ull << 18)

/* A ring-3 jump into the entry page (not a syscall: the program's own jmp) is a fetch in no
 * slot that KVM fails to emulate; at CPL 3 KVM makes that a #UD in the guest and goes on
 * (x86.c, handle_emulation_failure), which the monitor would deliver as SIGILL where the
 * native result is a fetch fault, SIGSEGV (seen with kvm_amd, e2e/vm/kvm.sh). Asked to, KVM
 * exits to the monitor instead, which tells that jump from a syscall (vm.c, entry_exit).
 * Kernels before 5.17 lack the capability: the #UD remains, still no way out of the guest. */
static void exit_on_emulation_failure(struct hw_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0)
		(void)ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
}

static int vm_open(struct hw_vm **out, int dev_fd)
{
	struct hw_vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = dev_fd >= 0 ? fcntl(dev_fd, F_DUPFD_CLOEXEC, 3) : open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		free(vm);
		return -e;
	}
	vm->kvm_fd = high_fd(vm->kvm_fd);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0) {
		close(vm->kvm_fd);
		free(vm);
		return -ENOTSUP;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int e = errno;
		close(vm->kvm_fd);
		free(vm);
		return -e;
	}
	vm->vm_fd = high_fd(vm->vm_fd);
	exit_on_emulation_failure(vm);
	vm->dummy_slot = -1;
	*out = vm;
	return 0;
}

static int kvm_vm_create(struct hw_vm **out, int dev_fd)
{
	int rc = vm_open(out, dev_fd);
	if (rc < 0)
		return rc;
	struct hw_vm *vm = *out;
	vm->cpuid.c.nent = 128;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &vm->cpuid) < 0) {
		rc = -errno;
		close(vm->vm_fd);
		close(vm->kvm_fd);
		free(vm);
		return rc;
	}
	return 0;
}

/* The same device answers the same CPUID: the child's VM takes the parent's. */
static int kvm_vm_fork(const struct hw_vm *parent, struct hw_vm **out)
{
	int rc = vm_open(out, parent->kvm_fd);
	if (rc < 0)
		return rc;
	(*out)->cpuid = parent->cpuid;
	return 0;
}

static void kvm_vm_destroy(struct hw_vm *vm)
{
	close(vm->vm_fd);
	close(vm->kvm_fd);
	free(vm);
}

static int kvm_add_slot(struct hw_vm *vm, uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)vm->next_slot, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = hva,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	vm->next_slot++;
	return 0;
}

/* Deleting a memslot makes x86 KVM invalidate every shadow page, so the
 * next guest access re-walks the page tables we edited from the host. */
static int kvm_flush_all(struct hw_vm *vm)
{
	static const uint64_t dummy_gpa = 0xe00000000000ull;
	struct kvm_userspace_memory_region r = { .guest_phys_addr = dummy_gpa, .memory_size = 4096 };
	void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -errno;
	if (vm->dummy_slot < 0)
		vm->dummy_slot = vm->next_slot++;
	r.slot = (uint32_t)vm->dummy_slot;
	r.userspace_addr = (uint64_t)page;
	int rc = ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
	r.memory_size = 0;
	if (rc == 0)
		rc = ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
	int e = errno;
	munmap(page, 4096);
	return rc < 0 ? -e : 0;
}

static const struct kvm_cpuid_entry2 *cpuid_entry(const struct hw_vm *vm, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < vm->cpuid.c.nent; i++)
		if (vm->cpuid.e[i].function == fn && vm->cpuid.e[i].index == idx)
			return &vm->cpuid.e[i];
	return NULL;
}

/* The guest gets the host's XSAVE state (CR4.OSXSAVE, XCR0 within what KVM supports), as the
 * Dune module gives it: the monitor's glibc chose XSAVE/AVX code natively, which the Dune API's
 * guest then runs, and a program sees AVX as natively. Without it KVM with nested paging (which
 * enforces CR4) makes those instructions #UD. XCR0 is set when the vCPU is made (a forked VM's
 * vCPUs take their registers without vcpu_setup), CR4.OSXSAVE at every register write. Nothing
 * changes when the host has no OSXSAVE, KVM no XSAVE, or KVM refuses the XCR0. */
static void kvm_set_host_xcr0(struct hw_vcpu *v)
{
	unsigned int a, b, c, d;
	const struct kvm_cpuid_entry2 *f1 = cpuid_entry(v->vm, 1, 0);
	const struct kvm_cpuid_entry2 *fd = cpuid_entry(v->vm, 0xd, 0);
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !f1 || !(f1->ecx & bit_XSAVE) || !fd)
		return;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	struct kvm_xcrs x = { .nr_xcrs = 1 };
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = (((uint64_t)hi << 32) | lo) & (((uint64_t)fd->edx << 32) | fd->eax);
	v->cr4_osxsave = ioctl(v->fd, KVM_SET_XCRS, &x) == 0 ? CR4_OSXSAVE : 0;
}

static int kvm_vcpu_create(struct hw_vm *vm, struct hw_vcpu **out)
{
	struct hw_vcpu *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	/* vCPUs are made by several threads at once (new threads, vfork children): each takes
	 * its own id (KVM_CREATE_VCPU of an id in use fails with EEXIST). */
	int id = __atomic_fetch_add(&vm->next_vcpu, 1, __ATOMIC_SEQ_CST);
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		int e = errno;
		free(v);
		return -e;
	}
	v->fd = high_fd(v->fd);
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run_size = (size_t)sz;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(v->fd);
		free(v);
		return -e;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, &vm->cpuid) < 0) {
		int e = errno;
		munmap(v->run, v->run_size);
		close(v->fd);
		free(v);
		return -e;
	}
	kvm_set_host_xcr0(v);
	*out = v;
	return 0;
}

static void kvm_vcpu_destroy(struct hw_vcpu *v)
{
	munmap(v->run, v->run_size);
	close(v->fd);
	free(v);
}

static int kvm_vcpu_setup(struct hw_vcpu *v, const struct kvm_sregs *s,
			  const struct kvm_regs *r, const struct hw_msr *msrs, int nmsrs)
{
	struct kvm_sregs sregs = *s;
	sregs.cr4 |= v->cr4_osxsave;
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[16];
	} m;
	memset(&m, 0, sizeof m);
	if (nmsrs > 16)
		return -EINVAL;
	m.m.nmsrs = (uint32_t)nmsrs;
	for (int i = 0; i < nmsrs; i++) {
		m.e[i].index = msrs[i].index;
		m.e[i].data = msrs[i].value;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != nmsrs)
		return -EIO;
	if (ioctl(v->fd, KVM_SET_REGS, r) < 0)
		return -errno;
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	v->run->kvm_dirty_regs = 0;
	return 0;
}

static enum hw_exit kvm_vcpu_run(struct hw_vcpu *v)
{
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		v->run->kvm_dirty_regs = 0;
		if (errno == EINTR || errno == EAGAIN)
			return HW_EXIT_INTR;
		if (errno == EFAULT)
			return HW_EXIT_EFAULT;
		return HW_EXIT_ERROR;
	}
	v->run->kvm_dirty_regs = 0;
	switch (v->run->exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		if (v->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
			return HW_EXIT_FETCH;
		return HW_EXIT_ERROR;
	case KVM_EXIT_INTR:
		return HW_EXIT_INTR;
	case KVM_EXIT_SHUTDOWN:
		return HW_EXIT_SHUTDOWN;
	case KVM_EXIT_IO:
		return HW_EXIT_IO;
	case KVM_EXIT_MMIO:
		return HW_EXIT_MMIO;
#ifdef KVM_EXIT_MEMORY_FAULT
	case KVM_EXIT_MEMORY_FAULT:
		return HW_EXIT_EFAULT;
#endif
	default:
		return HW_EXIT_ERROR;
	}
}

static struct kvm_regs *kvm_regs(struct hw_vcpu *v) { return &v->run->s.regs.regs; }
static struct kvm_sregs *kvm_sregs(struct hw_vcpu *v) { return &v->run->s.regs.sregs; }

static void kvm_mark_dirty(struct hw_vcpu *v, int regs, int sregs)
{
	if (regs)
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (sregs) {
		v->run->s.regs.sregs.cr4 |= v->cr4_osxsave;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
}

static void kvm_kick(struct hw_vcpu *v) { v->run->immediate_exit = 1; }
static void kvm_unkick(struct hw_vcpu *v) { v->run->immediate_exit = 0; }

static int kvm_get_xsave(struct hw_vcpu *v, void *buf)
{
	return ioctl(v->fd, KVM_GET_XSAVE, buf) < 0 ? -errno : 0;
}

static int kvm_set_xsave(struct hw_vcpu *v, const void *buf)
{
	return ioctl(v->fd, KVM_SET_XSAVE, buf) < 0 ? -errno : 0;
}

static uint64_t kvm_exit_addr(struct hw_vcpu *v)
{
	if (v->run->exit_reason == KVM_EXIT_IO)
		return v->run->io.port;
	if (v->run->exit_reason == KVM_EXIT_MMIO)
		return v->run->mmio.phys_addr;
	return 0;
}

static int kvm_fds(struct hw_vm *vm, int *out, int max)
{
	int n = 0;
	if (n < max)
		out[n++] = vm->kvm_fd;
	if (n < max)
		out[n++] = vm->vm_fd;
	return n;
}

static int kvm_vcpu_fd(struct hw_vcpu *v) { return v->fd; }

const struct hw_ops hw_kvm_ops = {
	.name = "kvm",
	.vm_create = kvm_vm_create,
	.vm_fork = kvm_vm_fork,
	.vm_destroy = kvm_vm_destroy,
	.add_slot = kvm_add_slot,
	.flush_all = kvm_flush_all,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_setup = kvm_vcpu_setup,
	.vcpu_run = kvm_vcpu_run,
	.regs = kvm_regs,
	.sregs = kvm_sregs,
	.mark_dirty = kvm_mark_dirty,
	.kick = kvm_kick,
	.unkick = kvm_unkick,
	.get_xsave = kvm_get_xsave,
	.set_xsave = kvm_set_xsave,
	.exit_addr = kvm_exit_addr,
	.fds = kvm_fds,
	.vcpu_fd = kvm_vcpu_fd,
};
