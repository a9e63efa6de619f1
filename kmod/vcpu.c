// SPDX-License-Identifier: GPL-2.0
/* A Dune vCPU: its descriptor, the shared run page, the guest FPU state and the run loop.
 * DUNE_RUN enters the guest until something user space must see: a nested page fault outside
 * every slot (an instruction fetch there is libdune's syscall/exception exit), a page the
 * process cannot back, port I/O, a triple fault, or a pending signal (EINTR). Host interrupts
 * and faults on slot pages are handled here without returning. Only the process (mm) that
 * created the VM can run it. */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/xcr.h>
#include "dune.h"
#include "syscall.h"

/* The guest runs with the host's XCR0: neither backend switches it and XSETBV is intercepted.
 * Its CR4.OSXSAVE is therefore the host's, whatever user space asked for: with it clear, XSAVE,
 * XGETBV and every VEX-encoded instruction raise #UD although the state they use is enabled
 * (code whose C library chose them natively, like the Dune API's dune_enter, where glibc's lazy
 * binding saves registers with XSAVE, dies of SIGILL), and CPUID tells a program started in
 * the guest that AVX cannot be used on a CPU that runs it. */
static u64 vcpu_guest_cr4(u64 cr4)
{
	if (cpu_feature_enabled(X86_FEATURE_OSXSAVE))
		return cr4 | X86_CR4_OSXSAVE;
	return cr4 & ~(u64)X86_CR4_OSXSAVE;
}

static int vcpu_load_state(struct dune_vcpu *v)
{
	struct dune_run *run = v->run;
	struct kvm_regs r;
	struct kvm_sregs s;
	int rc = 0;

	if (!run->dirty)
		return 0;
	dune_backend()->get_state(v, &r, &s);
	if (run->dirty & DUNE_DIRTY_REGS)
		memcpy(&r, &run->regs, sizeof(r)); /* a snapshot: checked, then used */
	if (run->dirty & DUNE_DIRTY_SREGS)
		memcpy(&s, &run->sregs, sizeof(s));
	s.cr4 = vcpu_guest_cr4(s.cr4);
	rc = dune_backend()->set_state(v, &r, &s);
	if (!rc) {
		dune_backend()->cancel_event(v);
		run->dirty = 0;
	}
	return rc;
}

/* One guest entry with interrupts off; in_guest tells invalidations to kick this CPU. False,
 * with nothing entered, once the host is rebooting (the check and the entry are one
 * preemption-off section, which the reboot notifier waits out before switching off). */
static bool vcpu_enter(struct dune_vcpu *v, struct dune_exit *x)
{
	int cpu;

	preempt_disable();
	if (dune_rebooting()) {
		preempt_enable();
		return false;
	}
	if (dune_backend()->load)
		dune_backend()->load(v);
	local_irq_disable();
	/* The guest's FPU registers must be live: a reschedule or a kernel FPU user since the
	 * swap (or the last exit) left them to be restored on the way to user space, which a
	 * VMRUN is not (KVM does the same before each entry). */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	cpu = smp_processor_id();
	WRITE_ONCE(v->in_guest, cpu);
	smp_mb(); /* in_guest before the nested table is read (pairs with vm_kick_all) */
	dune_backend()->enter(v, x);
	WRITE_ONCE(v->in_guest, -1);
	v->last_cpu = cpu;
	local_irq_enable();
	preempt_enable();
	return true;
}

/* 1: back to user space with run->exit_reason set; 0: enter again; <0: the ioctl's error. */
static int vcpu_handle(struct dune_vcpu *v, const struct dune_exit *x)
{
	struct dune_run *run = v->run;
	int rc;

	run->exit_code = x->code;
	run->exit_info1 = x->info1;
	run->exit_info2 = x->info2;
	switch (x->kind) {
	case DUNE_X_INTR:
		return 0;
	case DUNE_X_NPF:
		rc = dune_vm_fault(v->vm, x->gpa, x->write);
		if (rc == 0)
			return 0;
		if (rc == -ENOENT && x->fetch) {
			/* Perhaps a syscall the fast path performs (syscall.c). */
			int sc = dune_syscall_fast(v);

			if (sc == DUNE_SC_RESUMED)
				return 0;
			if (sc == DUNE_SC_EXIT)
				return 1;
			if (sc < 0)
				return sc;
		}
		run->exit_addr = x->gpa;
		if (rc == -ENOENT)
			run->exit_reason = x->fetch ? DUNE_EXIT_FETCH : DUNE_EXIT_MMIO;
		else if (rc == -EFAULT)
			run->exit_reason = DUNE_EXIT_EFAULT;
		else
			return rc;
		return 1;
	case DUNE_X_IO:
		run->exit_addr = x->port;
		run->exit_reason = DUNE_EXIT_IO;
		return 1;
	case DUNE_X_SHUTDOWN:
		run->exit_reason = DUNE_EXIT_SHUTDOWN;
		return 1;
	default:
		run->exit_reason = DUNE_EXIT_ERROR;
		return 1;
	}
}

static long vcpu_run(struct dune_vcpu *v)
{
	struct dune_run *run = v->run;
	struct dune_exit x;
	long rc;

	if (current->mm != v->vm->mm || READ_ONCE(v->vm->dead))
		return -EIO;
	rc = vcpu_load_state(v);
	if (rc)
		return rc;
	run->exit_reason = DUNE_EXIT_NONE;
	if (READ_ONCE(run->immediate_exit))
		return -EINTR;
	fpu_swap_kvm_fpstate(&v->fpu, true);
	for (;;) {
		if (signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
		if (!vcpu_enter(v, &x)) {
			rc = -EIO;
			break;
		}
		rc = vcpu_handle(v, &x);
		if (rc)
			break;
	}
	fpu_swap_kvm_fpstate(&v->fpu, false);
	dune_backend()->get_state(v, &run->regs, &run->sregs);
	return rc < 0 ? rc : 0;
}

static long vcpu_set_msrs(struct dune_vcpu *v, void __user *arg)
{
	struct dune_msrs m;
	u32 i;
	int rc;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	if (m.nmsrs > DUNE_MAX_MSRS || m.pad)
		return -EINVAL;
	for (i = 0; i < m.nmsrs; i++) {
		rc = dune_backend()->set_msr(v, m.entries[i].index, m.entries[i].value);
		if (rc)
			return rc;
	}
	return 0;
}

static long vcpu_xsave(struct dune_vcpu *v, void __user *arg, bool set)
{
	struct kvm_xsave *xs = kzalloc(sizeof(*xs), GFP_KERNEL_ACCOUNT);
	long rc = 0;

	if (!xs)
		return -ENOMEM;
	if (set) {
		if (copy_from_user(xs, arg, sizeof(*xs)))
			rc = -EFAULT;
		else
			rc = fpu_copy_uabi_to_guest_fpstate(&v->fpu, xs, xgetbv(XCR_XFEATURE_ENABLED_MASK),
							    &v->pkru);
	} else {
		fpu_copy_guest_fpstate_to_uabi(&v->fpu, xs, sizeof(*xs),
					       xgetbv(XCR_XFEATURE_ENABLED_MASK), v->pkru);
		if (copy_to_user(arg, xs, sizeof(*xs)))
			rc = -EFAULT;
	}
	kfree(xs);
	return rc;
}

static long dune_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dune_vcpu *v = file->private_data;
	long rc;

	if (current->mm != v->vm->mm)
		return -EIO;
	if (mutex_lock_killable(&v->run_lock))
		return -EINTR;
	switch (cmd) {
	case DUNE_RUN:
		rc = arg ? -EINVAL : vcpu_run(v);
		break;
	case DUNE_SET_MSRS:
		rc = vcpu_set_msrs(v, (void __user *)arg);
		break;
	case DUNE_GET_XSAVE:
	case DUNE_SET_XSAVE:
		rc = vcpu_xsave(v, (void __user *)arg, cmd == DUNE_SET_XSAVE);
		break;
	default:
		rc = -ENOTTY;
	}
	mutex_unlock(&v->run_lock);
	return rc;
}

static vm_fault_t dune_run_fault(struct vm_fault *vmf)
{
	struct dune_vcpu *v = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(v->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct dune_run_vm_ops = {
	.fault = dune_run_fault,
};

static int dune_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff != 0 || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	vma->vm_ops = &dune_run_vm_ops;
	return 0;
}

static int dune_vcpu_release(struct inode *inode, struct file *file)
{
	struct dune_vcpu *v = file->private_data;
	struct dune_vm *vm = v->vm;

	spin_lock(&vm->lock);
	list_del(&v->node);
	spin_unlock(&vm->lock);
	dune_backend()->vcpu_free(v);
	fpu_free_guest_fpstate(&v->fpu);
	free_page((unsigned long)v->run);
	atomic64_dec(&vm->stats->vcpu_pages);
	atomic64_dec(&vm->stats->vcpus);
	fput(v->vm_file);
	kfree(v);
	return 0;
}

static const struct file_operations dune_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = dune_vcpu_release,
	.unlocked_ioctl = dune_vcpu_ioctl,
	.mmap = dune_vcpu_mmap,
	.llseek = noop_llseek,
};

int dune_vcpu_create(struct dune_vm *vm, struct file *vm_file)
{
	struct dune_vcpu *v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	int rc = -ENOMEM, fd;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->in_guest = -1;
	v->last_cpu = -1;
	mutex_init(&v->run_lock);
	v->run = (struct dune_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!v->run)
		goto out_v;
	if (!fpu_alloc_guest_fpstate(&v->fpu))
		goto out_run;
	rc = dune_backend()->vcpu_init(v);
	if (rc)
		goto out_fpu;
	get_file(vm_file);
	v->vm_file = vm_file;
	spin_lock(&vm->lock);
	list_add(&v->node, &vm->vcpus);
	spin_unlock(&vm->lock);
	atomic64_inc(&vm->stats->vcpus);
	atomic64_inc(&vm->stats->vcpu_pages);
	fd = anon_inode_getfd("dune-vcpu", &dune_vcpu_fops, v, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	spin_lock(&vm->lock);
	list_del(&v->node);
	spin_unlock(&vm->lock);
	atomic64_dec(&vm->stats->vcpus);
	atomic64_dec(&vm->stats->vcpu_pages);
	fput(vm_file);
	dune_backend()->vcpu_free(v);
	rc = fd;
out_fpu:
	fpu_free_guest_fpstate(&v->fpu);
out_run:
	free_page((unsigned long)v->run);
out_v:
	kfree(v);
	return rc;
}

void dune_gprs_set(struct dune_vcpu *v, const struct kvm_regs *r)
{
	v->gprs[DUNE_GPR_RAX] = r->rax;
	v->gprs[DUNE_GPR_RCX] = r->rcx;
	v->gprs[DUNE_GPR_RDX] = r->rdx;
	v->gprs[DUNE_GPR_RBX] = r->rbx;
	v->gprs[DUNE_GPR_RBP] = r->rbp;
	v->gprs[DUNE_GPR_RSI] = r->rsi;
	v->gprs[DUNE_GPR_RDI] = r->rdi;
	v->gprs[8] = r->r8;
	v->gprs[9] = r->r9;
	v->gprs[10] = r->r10;
	v->gprs[11] = r->r11;
	v->gprs[12] = r->r12;
	v->gprs[13] = r->r13;
	v->gprs[14] = r->r14;
	v->gprs[15] = r->r15;
}

void dune_gprs_get(const struct dune_vcpu *v, struct kvm_regs *r)
{
	r->rax = v->gprs[DUNE_GPR_RAX];
	r->rcx = v->gprs[DUNE_GPR_RCX];
	r->rdx = v->gprs[DUNE_GPR_RDX];
	r->rbx = v->gprs[DUNE_GPR_RBX];
	r->rbp = v->gprs[DUNE_GPR_RBP];
	r->rsi = v->gprs[DUNE_GPR_RSI];
	r->rdi = v->gprs[DUNE_GPR_RDI];
	r->r8 = v->gprs[8];
	r->r9 = v->gprs[9];
	r->r10 = v->gprs[10];
	r->r11 = v->gprs[11];
	r->r12 = v->gprs[12];
	r->r13 = v->gprs[13];
	r->r14 = v->gprs[14];
	r->r15 = v->gprs[15];
}
