// SPDX-License-Identifier: GPL-2.0
/* AMD SVM backend. Per CPU: EFER.SVME, the host save area named by MSR_VM_HSAVE_PA and a host
 * VMCB for VMSAVE/VMLOAD; a CPU whose EFER.SVME is already set belongs to another hypervisor
 * and the module refuses to load rather than share (or clear) it. Per VM: an ASID and a
 * nested page table (NPT, built by vm.c). Per vCPU: a VMCB.
 *
 * What the guest can do is what libdune's guest needs and no more: every I/O port and MSR
 * access, INVD, XSETBV, the SVM instructions (VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT,
 * INVLPGA), host interrupts, NMIs, SMIs, INIT, #MC and shutdown are intercepted; exceptions
 * are delivered through the guest's own IDT (libdune's entry page at guest-physical 0x1000 is
 * in no slot, so the handler fetch becomes a FETCH exit). Nothing depends on NRIP save,
 * decode assists or VMCB clean bits (QEMU's emulation lacks some): the whole VMCB is marked
 * dirty and the guest TLB is flushed at every entry. */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/idr.h>
#include <linux/slab.h>
#include <asm/apicdef.h>
#include <asm/trap_pf.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/svm.h>
#include "dune.h"

struct svm_cpu {
	struct page *hsave;     /* the host save area VMRUN writes on this CPU */
	struct page *host_vmcb; /* VMSAVE/VMLOAD target for the host's state */
	bool on;                /* this module set EFER.SVME here */
};

struct svm_state {
	struct svm_cpu __percpu *cpus;
	struct dune_stats *stats;
	struct page *iopm;  /* every bit set: every port intercepts (12 KiB) */
	struct page *msrpm; /* every bit set: every MSR access intercepts (8 KiB) */
	struct ida asids;
	u32 nasids;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	bool event_pending; /* control.event_inj holds an event to re-deliver */
};

void dune_svm_enter(u64 vmcb_pa, u64 host_vmcb_pa, u64 *gprs);

static struct svm_state svm;

static int svm_probe(void)
{
	u64 vm_cr;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("dune: svm: the CPU has no SVM\n");
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_err("dune: svm: the CPU has SVM but no nested paging (NPT): not supported\n");
		return -ENODEV;
	}
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & (1ULL << SVM_VM_CR_SVM_DISABLE)) {
		pr_err("dune: svm: SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -ENODEV;
	}
	return 0;
}

static int svm_cpu_on(unsigned int cpu)
{
	struct svm_cpu *c = per_cpu_ptr(svm.cpus, cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("dune: svm: EFER.SVME is already set on CPU %u\n", cpu);
		return -EBUSY;
	}
	if (!c->hsave) {
		c->hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!c->hsave)
			return -ENOMEM;
		atomic64_inc(&svm.stats->cpu_pages);
	}
	if (!c->host_vmcb) {
		c->host_vmcb = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!c->host_vmcb)
			return -ENOMEM;
		atomic64_inc(&svm.stats->cpu_pages);
	}
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(c->hsave));
	c->on = true;
	atomic64_inc(&svm.stats->cpus_enabled);
	return 0;
}

static int svm_cpu_off(unsigned int cpu)
{
	struct svm_cpu *c = per_cpu_ptr(svm.cpus, cpu);
	u64 efer;

	if (c->on) {
		wrmsrl(MSR_VM_HSAVE_PA, 0);
		rdmsrl(MSR_EFER, efer);
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
		c->on = false;
		atomic64_dec(&svm.stats->cpus_enabled);
	}
	return 0;
}

static int svm_init(struct dune_stats *stats)
{
	svm.stats = stats;
	/* ASIDs 1 .. nasids-1 (0 is the host's). */
	svm.nasids = cpuid_ebx(SVM_CPUID_FUNC);
	ida_init(&svm.asids);
	svm.iopm = alloc_pages(GFP_KERNEL, 2);
	svm.msrpm = alloc_pages(GFP_KERNEL, 1);
	svm.cpus = alloc_percpu(struct svm_cpu);
	if (!svm.iopm || !svm.msrpm || !svm.cpus || svm.nasids < 2) {
		if (svm.iopm)
			__free_pages(svm.iopm, 2);
		if (svm.msrpm)
			__free_pages(svm.msrpm, 1);
		free_percpu(svm.cpus);
		svm.cpus = NULL;
		return -ENOMEM;
	}
	memset(page_address(svm.iopm), 0xff, PAGE_SIZE << 2);
	memset(page_address(svm.msrpm), 0xff, PAGE_SIZE << 1);
	return 0;
}

static void svm_exit(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *c = per_cpu_ptr(svm.cpus, cpu);

		if (c->hsave) {
			__free_page(c->hsave);
			atomic64_dec(&svm.stats->cpu_pages);
		}
		if (c->host_vmcb) {
			__free_page(c->host_vmcb);
			atomic64_dec(&svm.stats->cpu_pages);
		}
	}
	free_percpu(svm.cpus);
	svm.cpus = NULL;
	__free_pages(svm.iopm, 2);
	__free_pages(svm.msrpm, 1);
	ida_destroy(&svm.asids);
}


/* Nested page-table entries: the long-mode format, with the user bit on every level (a
 * nested walk is a user access). Leaves are write-back (PAT index 0); the guest's own page
 * tables decide execute permission. */
/* NPT walks in the host's paging mode: 5 levels when the host runs with CR4.LA57 (QEMU's
 * "-cpu max" has LA57 and Debian's kernel uses it). */
static int svm_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

static u64 svm_pte_table(phys_addr_t pa)
{
	return pa | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
}

static u64 svm_pte_leaf(phys_addr_t pa, bool writable)
{
	return pa | _PAGE_PRESENT | _PAGE_USER | (writable ? _PAGE_RW : 0);
}

static bool svm_pte_present(u64 pte)
{
	return pte & _PAGE_PRESENT;
}

static bool svm_pte_writable(u64 pte)
{
	return pte & _PAGE_RW;
}

static int svm_vm_init(struct dune_vm *vm)
{
	int asid = ida_alloc_range(&svm.asids, 1, svm.nasids - 1, GFP_KERNEL);

	if (asid < 0)
		return asid == -ENOSPC ? -EAGAIN : asid;
	vm->asid = asid;
	atomic64_inc(&svm.stats->asids);
	return 0;
}

static void svm_vm_free(struct dune_vm *vm)
{
	if (vm->asid) {
		ida_free(&svm.asids, vm->asid);
		atomic64_dec(&svm.stats->asids);
		vm->asid = 0;
	}
}

static void svm_intercept(struct vmcb *vmcb, unsigned int bit)
{
	vmcb->control.intercepts[bit / 32] |= 1U << (bit % 32);
}

static const unsigned int svm_intercepts[] = {
	INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_INIT, INTERCEPT_INVD,
	INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN,
	INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI, INTERCEPT_SKINIT,
	INTERCEPT_INVLPGA, INTERCEPT_XSETBV, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
	INTERCEPT_EXCEPTION_OFFSET + MC_VECTOR,
};

static int svm_vcpu_init(struct dune_vcpu *v)
{
	struct svm_vcpu *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	struct vmcb *vmcb;
	unsigned int i;
	u64 pat;

	if (!s)
		return -ENOMEM;
	s->vmcb = (struct vmcb *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!s->vmcb) {
		kfree(s);
		return -ENOMEM;
	}
	atomic64_inc(&svm.stats->vcpu_pages);
	vmcb = s->vmcb;
	for (i = 0; i < ARRAY_SIZE(svm_intercepts); i++)
		svm_intercept(vmcb, svm_intercepts[i]);
	vmcb->control.iopm_base_pa = page_to_phys(svm.iopm);
	vmcb->control.msrpm_base_pa = page_to_phys(svm.msrpm);
	vmcb->control.asid = v->vm->asid;
	vmcb->control.int_ctl = V_INTR_MASKING_MASK;
	vmcb->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	vmcb->control.nested_cr3 = __pa(v->vm->root);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcb->save.g_pat = pat;
	vmcb->save.efer = EFER_SVME;
	vmcb->save.dr6 = 0xffff0ff0; /* the reset values */
	vmcb->save.dr7 = 0x400;
	v->arch = s;
	return 0;
}

static void svm_vcpu_free(struct dune_vcpu *v)
{
	struct svm_vcpu *s = v->arch;

	if (!s)
		return;
	free_page((unsigned long)s->vmcb);
	atomic64_dec(&svm.stats->vcpu_pages);
	kfree(s);
	v->arch = NULL;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct kvm_segment *k)
{
	d->selector = k->selector;
	d->base = k->base;
	d->limit = k->limit;
	d->attrib = k->unusable ? 0 :
		(k->type & SVM_SELECTOR_TYPE_MASK) | (k->s ? SVM_SELECTOR_S_MASK : 0) |
		((k->dpl & 3) << SVM_SELECTOR_DPL_SHIFT) | (k->present ? SVM_SELECTOR_P_MASK : 0) |
		(k->avl ? SVM_SELECTOR_AVL_MASK : 0) | (k->l ? SVM_SELECTOR_L_MASK : 0) |
		(k->db ? SVM_SELECTOR_DB_MASK : 0) | (k->g ? SVM_SELECTOR_G_MASK : 0);
}

static void seg_from_vmcb(struct kvm_segment *k, const struct vmcb_seg *d)
{
	memset(k, 0, sizeof(*k));
	k->selector = d->selector;
	k->base = d->base;
	k->limit = d->limit;
	k->type = d->attrib & SVM_SELECTOR_TYPE_MASK;
	k->s = !!(d->attrib & SVM_SELECTOR_S_MASK);
	k->dpl = (d->attrib & SVM_SELECTOR_DPL_MASK) >> SVM_SELECTOR_DPL_SHIFT;
	k->present = !!(d->attrib & SVM_SELECTOR_P_MASK);
	k->avl = !!(d->attrib & SVM_SELECTOR_AVL_MASK);
	k->l = !!(d->attrib & SVM_SELECTOR_L_MASK);
	k->db = !!(d->attrib & SVM_SELECTOR_DB_MASK);
	k->g = !!(d->attrib & SVM_SELECTOR_G_MASK);
	k->unusable = !k->present;
}

/* The guest may not be made a hypervisor (EFER.SVME is the module's, forced on in the VMCB
 * and hidden), and control registers carry no reserved upper bits; the rest is what VMRUN's
 * own consistency checks accept (a state they refuse is an ERROR exit, not a host problem). */
static int svm_set_state(struct dune_vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *k)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb_save_area *sa = &s->vmcb->save;

	if ((k->efer & EFER_SVME) || (k->cr0 >> 32) || (k->cr4 >> 32) || (r->rflags >> 32))
		return -EINVAL;
	sa->rax = r->rax;
	sa->rsp = r->rsp;
	sa->rip = r->rip;
	sa->rflags = (r->rflags | X86_EFLAGS_FIXED) & ~(X86_EFLAGS_VM);
	dune_gprs_set(v, r); /* its RAX slot unused: RAX is the VMCB's */
	sa->cr0 = k->cr0;
	sa->cr2 = k->cr2;
	sa->cr3 = k->cr3;
	sa->cr4 = k->cr4;
	sa->efer = k->efer | EFER_SVME;
	seg_to_vmcb(&sa->cs, &k->cs);
	seg_to_vmcb(&sa->ds, &k->ds);
	seg_to_vmcb(&sa->es, &k->es);
	seg_to_vmcb(&sa->fs, &k->fs);
	seg_to_vmcb(&sa->gs, &k->gs);
	seg_to_vmcb(&sa->ss, &k->ss);
	seg_to_vmcb(&sa->tr, &k->tr);
	seg_to_vmcb(&sa->ldtr, &k->ldt);
	sa->gdtr.base = k->gdt.base;
	sa->gdtr.limit = k->gdt.limit;
	sa->idtr.base = k->idt.base;
	sa->idtr.limit = k->idt.limit;
	sa->cpl = k->ss.dpl & 3;
	return 0;
}

static void svm_get_state(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *k)
{
	struct svm_vcpu *s = v->arch;
	const struct vmcb_save_area *sa = &s->vmcb->save;

	memset(r, 0, sizeof(*r));
	memset(k, 0, sizeof(*k));
	dune_gprs_get(v, r);
	r->rax = sa->rax; /* not the RAX slot: VMRUN takes the VMCB's address in RAX */
	r->rsp = sa->rsp;
	r->rip = sa->rip;
	r->rflags = sa->rflags;
	k->cr0 = sa->cr0;
	k->cr2 = sa->cr2;
	k->cr3 = sa->cr3;
	k->cr4 = sa->cr4;
	k->efer = sa->efer & ~EFER_SVME;
	k->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_BSP;
	seg_from_vmcb(&k->cs, &sa->cs);
	seg_from_vmcb(&k->ds, &sa->ds);
	seg_from_vmcb(&k->es, &sa->es);
	seg_from_vmcb(&k->fs, &sa->fs);
	seg_from_vmcb(&k->gs, &sa->gs);
	seg_from_vmcb(&k->ss, &sa->ss);
	seg_from_vmcb(&k->tr, &sa->tr);
	seg_from_vmcb(&k->ldt, &sa->ldtr);
	k->gdt.base = sa->gdtr.base;
	k->gdt.limit = sa->gdtr.limit;
	k->idt.base = sa->idtr.base;
	k->idt.limit = sa->idtr.limit;
}

static bool pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = (pat >> (8 * i)) & 0xff;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

static int svm_set_msr(struct dune_vcpu *v, u32 index, u64 value)
{
	struct vmcb_save_area *sa = &((struct svm_vcpu *)v->arch)->vmcb->save;
	bool addr = index != MSR_STAR && index != MSR_SYSCALL_MASK &&
		    index != MSR_IA32_SYSENTER_CS && index != MSR_IA32_CR_PAT;

	/* VMLOAD loads these without the checks WRMSR makes: refuse what WRMSR would. */
	if (addr && !__is_canonical_address(value, 48))
		return -EINVAL;
	switch (index) {
	case MSR_STAR: sa->star = value; return 0;
	case MSR_LSTAR: sa->lstar = value; return 0;
	case MSR_CSTAR: sa->cstar = value; return 0;
	case MSR_SYSCALL_MASK: sa->sfmask = (u32)value; return 0;
	case MSR_KERNEL_GS_BASE: sa->kernel_gs_base = value; return 0;
	case MSR_FS_BASE: sa->fs.base = value; return 0;
	case MSR_GS_BASE: sa->gs.base = value; return 0;
	case MSR_IA32_SYSENTER_CS: sa->sysenter_cs = (u16)value; return 0;
	case MSR_IA32_SYSENTER_ESP: sa->sysenter_esp = value; return 0;
	case MSR_IA32_SYSENTER_EIP: sa->sysenter_eip = value; return 0;
	case MSR_IA32_CR_PAT:
		if (!pat_valid(value))
			return -EINVAL;
		sa->g_pat = value;
		return 0;
	default:
		return -EINVAL;
	}
}

static void svm_cancel_event(struct dune_vcpu *v)
{
	((struct svm_vcpu *)v->arch)->event_pending = false;
}

static void svm_decode(struct vmcb *vmcb, struct dune_exit *x)
{
	const struct vmcb_control_area *c = &vmcb->control;

	x->code = c->exit_code | ((u64)c->exit_code_hi << 32);
	x->info1 = c->exit_info_1;
	x->info2 = c->exit_info_2;
	switch (c->exit_code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		x->kind = DUNE_X_INTR;
		break;
	case SVM_EXIT_NPF:
		x->kind = DUNE_X_NPF;
		x->gpa = c->exit_info_2;
		x->write = c->exit_info_1 & X86_PF_WRITE;
		x->fetch = c->exit_info_1 & X86_PF_INSTR;
		break;
	case SVM_EXIT_IOIO:
		x->kind = DUNE_X_IO;
		x->port = c->exit_info_1 >> 16;
		break;
	case SVM_EXIT_SHUTDOWN:
		x->kind = DUNE_X_SHUTDOWN;
		break;
	default:
		x->kind = DUNE_X_ERROR;
	}
}

/* An event whose delivery an exit interrupted (a nested page fault on the exception stack or the
 * IDT, a host interrupt) is delivered again at the next entry, except one an instruction raised
 * (INTn, INT3, INTO): the VMCB's RIP is still that instruction's own, and injecting the event
 * would push it as the return address (the int3's, where the program expects the byte after:
 * gdb then resumes in the middle of an instruction). Running the instruction again raises the
 * event again, with the right address, as KVM does without NRIP save. Hardware reports INT3
 * and INTO as exceptions (vector 3 or 4), QEMU's emulation as software interrupts. */
static bool svm_redeliver(u32 info)
{
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK, vec = info & SVM_EXITINTINFO_VEC_MASK;

	if (!(info & SVM_EXITINTINFO_VALID) || type == SVM_EXITINTINFO_TYPE_SOFT)
		return false;
	return !(type == SVM_EXITINTINFO_TYPE_EXEPT && (vec == BP_VECTOR || vec == OF_VECTOR));
}

static void svm_enter(struct dune_vcpu *v, struct dune_exit *x)
{
	struct svm_vcpu *s = v->arch;
	struct svm_cpu *cpu = this_cpu_ptr(svm.cpus);
	struct vmcb_control_area *c = &s->vmcb->control;

	/* Everything reloaded, the guest TLB flushed: correct whatever ran here before. */
	c->clean = 0;
	c->tlb_ctl = boot_cpu_has(X86_FEATURE_FLUSHBYASID) ? TLB_CONTROL_FLUSH_ASID :
							      TLB_CONTROL_FLUSH_ALL_ASID;
	if (!s->event_pending)
		c->event_inj = 0;
	dune_svm_enter(__pa(s->vmcb), page_to_phys(cpu->host_vmcb), v->gprs);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	s->event_pending = svm_redeliver(c->exit_int_info);
	c->event_inj = s->event_pending ? c->exit_int_info : 0;
	c->event_inj_err = c->exit_int_info_err;
	svm_decode(s->vmcb, x);
}

const struct dune_backend dune_svm_backend = {
	.name = "svm",
	.probe = svm_probe,
	.cpu_on = svm_cpu_on,
	.cpu_off = svm_cpu_off,
	.init = svm_init,
	.exit = svm_exit,
	.levels = svm_levels,
	.pte_table = svm_pte_table,
	.pte_leaf = svm_pte_leaf,
	.pte_present = svm_pte_present,
	.pte_writable = svm_pte_writable,
	.vm_init = svm_vm_init,
	.vm_free = svm_vm_free,
	.vcpu_init = svm_vcpu_init,
	.vcpu_free = svm_vcpu_free,
	.set_state = svm_set_state,
	.get_state = svm_get_state,
	.set_msr = svm_set_msr,
	.cancel_event = svm_cancel_event,
	.enter = svm_enter,
};
