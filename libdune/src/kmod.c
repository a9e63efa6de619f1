/* The Dune module backend (/dev/dune, kmod/): the same hw_ops as KVM. The module binds a VM
 * to the mm that created it (as KVM does), takes register state in KVM's layouts through a
 * shared run page (as KVM_CAP_SYNC_REGS), and reports a fetch from a guest-physical address
 * in no slot as its own exit (KVM reports an emulation failure). */
#define _GNU_SOURCE
#include "backend.h"

#include <dune/dune.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

struct hw_vm {
	int dev_fd, vm_fd;
};

struct hw_vcpu {
	struct hw_vm *vm;
	int fd;
	struct dune_run *run;
};

/* Backend descriptors live at high numbers, away from the ones a program expects from open()
 * and dup() (as kvm.c does). */
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

static int kmod_vm_create(struct hw_vm **out, int dev_fd)
{
	struct hw_vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return -ENOMEM;
	vm->dev_fd = dev_fd >= 0 ? fcntl(dev_fd, F_DUPFD_CLOEXEC, 3) : open("/dev/dune", O_RDWR | O_CLOEXEC);
	int rc = vm->dev_fd < 0 ? -errno : 0;
	if (!rc) {
		vm->dev_fd = high_fd(vm->dev_fd);
		if (ioctl(vm->dev_fd, DUNE_GET_API_VERSION, 0) != DUNE_API_VERSION)
			rc = -EPROTONOSUPPORT; /* a module of another version */
	}
	if (!rc) {
		vm->vm_fd = ioctl(vm->dev_fd, DUNE_CREATE_VM, 0);
		if (vm->vm_fd < 0)
			rc = -errno;
	}
	if (rc) {
		if (vm->dev_fd >= 0)
			close(vm->dev_fd);
		free(vm);
		return rc;
	}
	vm->vm_fd = high_fd(vm->vm_fd);
	*out = vm;
	return 0;
}

static int kmod_vm_fork(const struct hw_vm *parent, struct hw_vm **out)
{
	return kmod_vm_create(out, parent->dev_fd);
}

static void kmod_vm_destroy(struct hw_vm *vm)
{
	close(vm->vm_fd);
	close(vm->dev_fd);
	free(vm);
}

static int kmod_add_slot(struct hw_vm *vm, uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct dune_slot s = { .gpa = gpa, .size = size, .hva = hva };
	return ioctl(vm->vm_fd, DUNE_SET_SLOT, &s) < 0 ? -errno : 0;
}

static int kmod_flush_all(struct hw_vm *vm)
{
	return ioctl(vm->vm_fd, DUNE_FLUSH, 0) < 0 ? -errno : 0;
}

static int kmod_vcpu_create(struct hw_vm *vm, struct hw_vcpu **out)
{
	struct hw_vcpu *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->fd = ioctl(vm->vm_fd, DUNE_CREATE_VCPU, 0);
	if (v->fd < 0) {
		int e = errno;
		free(v);
		return -e;
	}
	v->fd = high_fd(v->fd);
	v->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(v->fd);
		free(v);
		return -e;
	}
	*out = v;
	return 0;
}

static void kmod_vcpu_destroy(struct hw_vcpu *v)
{
	munmap(v->run, 4096);
	close(v->fd);
	free(v);
}

static int kmod_vcpu_setup(struct hw_vcpu *v, const struct kvm_sregs *s,
			   const struct kvm_regs *r, const struct hw_msr *msrs, int nmsrs)
{
	struct dune_msrs m;
	memset(&m, 0, sizeof m);
	if (nmsrs > DUNE_MAX_MSRS)
		return -EINVAL;
	m.nmsrs = (uint32_t)nmsrs;
	for (int i = 0; i < nmsrs; i++) {
		m.entries[i].index = msrs[i].index;
		m.entries[i].value = msrs[i].value;
	}
	if (ioctl(v->fd, DUNE_SET_MSRS, &m) < 0)
		return -errno;
	v->run->sregs = *s;
	v->run->regs = *r;
	v->run->dirty = DUNE_DIRTY_REGS | DUNE_DIRTY_SREGS;
	return 0;
}

static enum hw_exit kmod_vcpu_run(struct hw_vcpu *v)
{
	if (ioctl(v->fd, DUNE_RUN, 0) < 0) {
		/* A call performed in the kernel that a signal interrupted: DUNE_RUN was too. */
		if (errno == EINTR && v->run->exit_reason == DUNE_EXIT_SYSCALL)
			return HW_EXIT_SYSCALL;
		return errno == EINTR || errno == EAGAIN ? HW_EXIT_INTR : HW_EXIT_ERROR;
	}
	switch (v->run->exit_reason) {
	case DUNE_EXIT_SYSCALL: return HW_EXIT_SYSCALL;
	case DUNE_EXIT_FETCH: return HW_EXIT_FETCH;
	case DUNE_EXIT_MMIO: return HW_EXIT_MMIO;
	case DUNE_EXIT_IO: return HW_EXIT_IO;
	case DUNE_EXIT_SHUTDOWN: return HW_EXIT_SHUTDOWN;
	case DUNE_EXIT_EFAULT: return HW_EXIT_EFAULT;
	default: return HW_EXIT_ERROR;
	}
}

static struct kvm_regs *kmod_regs(struct hw_vcpu *v) { return &v->run->regs; }
static struct kvm_sregs *kmod_sregs(struct hw_vcpu *v) { return &v->run->sregs; }

static void kmod_mark_dirty(struct hw_vcpu *v, int regs, int sregs)
{
	if (regs)
		v->run->dirty |= DUNE_DIRTY_REGS;
	if (sregs)
		v->run->dirty |= DUNE_DIRTY_SREGS;
}

static void kmod_kick(struct hw_vcpu *v) { v->run->immediate_exit = 1; }
static void kmod_unkick(struct hw_vcpu *v) { v->run->immediate_exit = 0; }

static int kmod_get_xsave(struct hw_vcpu *v, void *buf)
{
	return ioctl(v->fd, DUNE_GET_XSAVE, buf) < 0 ? -errno : 0;
}

static int kmod_set_xsave(struct hw_vcpu *v, const void *buf)
{
	return ioctl(v->fd, DUNE_SET_XSAVE, buf) < 0 ? -errno : 0;
}

static uint64_t kmod_exit_addr(struct hw_vcpu *v) { return v->run->exit_addr; }

static int kmod_fds(struct hw_vm *vm, int *out, int max)
{
	int n = 0;
	if (n < max)
		out[n++] = vm->dev_fd;
	if (n < max)
		out[n++] = vm->vm_fd;
	return n;
}

static int kmod_vcpu_fd(struct hw_vcpu *v) { return v->fd; }

static int kmod_set_kernel_calls(struct hw_vm *vm, const struct hw_kernel_calls *t)
{
	struct dune_syscalls s;
	memset(&s, 0, sizeof s);
	memcpy(s.allow, t->allow, sizeof s.allow);
	s.entry = t->entry;
	s.flags = t->getpid_sites ? DUNE_SC_GETPID_SITES : 0;
	s.cs = t->cs;
	s.ss = t->ss;
	memcpy(s.monitor_fds, t->monitor_fds, sizeof s.monitor_fds);
	return ioctl(vm->vm_fd, DUNE_SET_SYSCALLS, &s) < 0 ? -errno : 0;
}

static void kmod_allow_kernel_calls(struct hw_vcpu *v, int on) { v->run->kernel_calls = on ? 1 : 0; }

static uint64_t kmod_take_kernel_calls(struct hw_vcpu *v)
{
	/* The module adds only during DUNE_RUN, which this vCPU's own thread makes. */
	uint64_t n = v->run->kernel_syscalls;
	v->run->kernel_syscalls = 0;
	return n;
}

static long kmod_syscall_result(struct hw_vcpu *v) { return (long)v->run->syscall_ret; }

const struct hw_ops *hw_default_ops(void)
{
	/* faccessat, not access: the monitor's host calls are a fixed list (monitor-calls.txt). */
	return faccessat(AT_FDCWD, "/dev/dune", F_OK, 0) == 0 ? &hw_kmod_ops : &hw_kvm_ops;
}

const struct hw_ops hw_kmod_ops = {
	.name = "dune",
	.vm_create = kmod_vm_create,
	.vm_fork = kmod_vm_fork,
	.vm_destroy = kmod_vm_destroy,
	.add_slot = kmod_add_slot,
	.flush_all = kmod_flush_all,
	.vcpu_create = kmod_vcpu_create,
	.vcpu_destroy = kmod_vcpu_destroy,
	.vcpu_setup = kmod_vcpu_setup,
	.vcpu_run = kmod_vcpu_run,
	.regs = kmod_regs,
	.sregs = kmod_sregs,
	.mark_dirty = kmod_mark_dirty,
	.kick = kmod_kick,
	.unkick = kmod_unkick,
	.get_xsave = kmod_get_xsave,
	.set_xsave = kmod_set_xsave,
	.exit_addr = kmod_exit_addr,
	.fds = kmod_fds,
	.vcpu_fd = kmod_vcpu_fd,
	.set_kernel_calls = kmod_set_kernel_calls,
	.allow_kernel_calls = kmod_allow_kernel_calls,
	.take_kernel_calls = kmod_take_kernel_calls,
	.syscall_result = kmod_syscall_result,
};
