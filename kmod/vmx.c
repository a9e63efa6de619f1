// SPDX-License-Identifier: GPL-2.0
/* Intel VT-x backend. Per CPU: CR4.VMXE and a VMXON region stamped with the VMCS revision from
 * IA32_VMX_BASIC; a CPU whose CR4.VMXE is already set belongs to another hypervisor
 * (kvm_intel) and the module refuses to load. Per VM: a VPID when the CPU has them (the SVM
 * ASID's counterpart) and the EPT (vm.c builds it with vmx_logic.c's entries). Per vCPU: a
 * VMCS and one page of MSR areas.
 *
 * The controls come from the capability MSRs (vmx_logic.c's dv_configure: allowed-0/allowed-1,
 * the TRUE_ MSRs when IA32_VMX_BASIC says so; a missing required control refuses the load
 * with its name in the kernel log). What the guest can do is what the SVM backend allows: host
 * interrupts, NMIs, SMIs, INIT, #MC, every I/O port (unconditional I/O exiting) and every MSR
 * access (an all-ones MSR bitmap), HLT, MWAIT, MONITOR, INVD, XSETBV and the VMX instructions
 * exit; other exceptions go through the guest's own IDT (libdune's entry page at guest-physical
 * 0x1000 is in no slot, so the handler fetch is an EPT violation, a FETCH exit).
 *
 * A VMCS is active on at most one CPU (KVM's loaded_vmcs model): before a vCPU runs on a new
 * CPU its VMCS is VMCLEARed where it was active (an IPI), then VMPTRLDed here and launched
 * again with VMLAUNCH; VMRESUME while it stays. Every CPU keeps the list of VMCSs active on
 * it and clears them before VMXOFF.
 *
 * NOT RUN ON HARDWARE: the fleet's KVM is paravirtual and QEMU's software emulation has no
 * VMX; this compiles with -Werror, vmx_logic.c is unit-tested in user space (kmod/tests/), and
 * kmod/README.md lists what to check first on an Intel host. */
#include <linux/build_bug.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/apicdef.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>
#include "dune.h"
#include "vmx_logic.h"

/* vmx_logic.h's own constants are the kernel's (asm/vmx.h): a typo fails the build. */
#define DV_SAME_FIELD(name, enc, width, type) static_assert((u32)DV_##name == (u32)name);
DV_FIELDS(DV_SAME_FIELD)
#define DV_SAME_CONTROL(name, bit) static_assert((u64)DV_##name == (u64)(name));
DV_CONTROLS(DV_SAME_CONTROL)
#define DV_SAME_EXIT(name, n) static_assert(DV_EXIT_##name == EXIT_REASON_##name);
DV_EXIT_REASONS(DV_SAME_EXIT)
static_assert(DV_MSR_VMX_BASIC == MSR_IA32_VMX_BASIC);
static_assert(DV_MSR_VMX_PINBASED_CTLS == MSR_IA32_VMX_PINBASED_CTLS);
static_assert(DV_MSR_VMX_PROCBASED_CTLS == MSR_IA32_VMX_PROCBASED_CTLS);
static_assert(DV_MSR_VMX_EXIT_CTLS == MSR_IA32_VMX_EXIT_CTLS);
static_assert(DV_MSR_VMX_ENTRY_CTLS == MSR_IA32_VMX_ENTRY_CTLS);
static_assert(DV_MSR_VMX_MISC == MSR_IA32_VMX_MISC);
static_assert(DV_MSR_VMX_CR0_FIXED0 == MSR_IA32_VMX_CR0_FIXED0);
static_assert(DV_MSR_VMX_CR0_FIXED1 == MSR_IA32_VMX_CR0_FIXED1);
static_assert(DV_MSR_VMX_CR4_FIXED0 == MSR_IA32_VMX_CR4_FIXED0);
static_assert(DV_MSR_VMX_CR4_FIXED1 == MSR_IA32_VMX_CR4_FIXED1);
static_assert(DV_MSR_VMX_PROCBASED_CTLS2 == MSR_IA32_VMX_PROCBASED_CTLS2);
static_assert(DV_MSR_VMX_EPT_VPID_CAP == MSR_IA32_VMX_EPT_VPID_CAP);
static_assert(DV_MSR_VMX_TRUE_PINBASED_CTLS == MSR_IA32_VMX_TRUE_PINBASED_CTLS);
static_assert(DV_MSR_VMX_TRUE_PROCBASED_CTLS == MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
static_assert(DV_MSR_VMX_TRUE_EXIT_CTLS == MSR_IA32_VMX_TRUE_EXIT_CTLS);
static_assert(DV_MSR_VMX_TRUE_ENTRY_CTLS == MSR_IA32_VMX_TRUE_ENTRY_CTLS);
static_assert(DV_EPT_CAP_WALK4 == VMX_EPT_PAGE_WALK_4_BIT);
static_assert(DV_EPT_CAP_WB == VMX_EPTP_WB_BIT);
static_assert(DV_EPT_CAP_INVEPT == VMX_EPT_INVEPT_BIT);
static_assert(DV_EPT_CAP_INVEPT_SINGLE == VMX_EPT_EXTENT_CONTEXT_BIT);
static_assert(DV_EPT_CAP_INVEPT_ALL == VMX_EPT_EXTENT_GLOBAL_BIT);
static_assert(DV_VPID_CAP_INVVPID == VMX_VPID_INVVPID_BIT << 32);
static_assert(DV_VPID_CAP_INVVPID_SINGLE == VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32);
static_assert(DV_VPID_CAP_INVVPID_ALL == VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT << 32);
static_assert(DV_INVEPT_SINGLE == VMX_EPT_EXTENT_CONTEXT && DV_INVEPT_ALL == VMX_EPT_EXTENT_GLOBAL);
static_assert(DV_INVVPID_SINGLE == VMX_VPID_EXTENT_SINGLE_CONTEXT);
static_assert(DV_INVVPID_ALL == VMX_VPID_EXTENT_ALL_CONTEXT);
static_assert(DV_INTR_VALID == INTR_INFO_VALID_MASK && DV_INTR_TYPE == INTR_INFO_INTR_TYPE_MASK);
static_assert(DV_INTR_TYPE_NMI == INTR_TYPE_NMI_INTR);
static_assert(DV_INTR_HAS_ERROR == INTR_INFO_DELIVER_CODE_MASK);
static_assert(DV_EPT_MT_WB == VMX_BASIC_MEM_TYPE_WB);

/* The MSRs VT-x does not switch itself, swapped by the MSR areas: the guest's values loaded at
 * entry and stored back at exit (one area for both), the host's loaded at exit. */
static const u32 vmx_msr_list[] = {
	MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
};
#define VMX_NMSRS ARRAY_SIZE(vmx_msr_list)

/* struct vmx_msr_entry: asm/vmx.h (index, reserved, value; 16-byte aligned). */
struct vmx_msr_areas {
	struct vmx_msr_entry guest[8];
	struct vmx_msr_entry host[8];
};

struct vmx_vcpu;

struct vmx_cpu {
	struct page *vmxon;      /* the VMXON region of this CPU */
	bool on;                 /* this module executed VMXON here */
	struct list_head active; /* vCPUs whose VMCS is active here (changed with IRQs off) */
	struct vmx_vcpu *cur;    /* the current VMCS (VMPTRLD), or NULL */
	u64 syscall_msrs[VMX_NMSRS]; /* the host's values; [0] (KERNEL_GS_BASE) is per entry */
};

struct vmx_vcpu {
	struct page *vmcs;
	struct vmx_msr_areas *msrs;
	int cpu;                 /* where the VMCS is active, or -1 (VMCLEARed) */
	bool launched;           /* VMLAUNCH done since the last VMCLEAR */
	struct list_head cpu_node;
	u64 eptp;
	u16 vpid;                /* the VM's, or 0 without VPIDs */
	u64 cr2;                 /* not in the VMCS: switched by hand */
	u64 host_cr3, host_cr4;  /* what HOST_CR3/HOST_CR4 hold */
	u32 event, event_err, event_len; /* to re-inject: an event the exit interrupted */
	bool event_pending;
};

struct vmx_state {
	struct vmx_cpu __percpu *cpus;
	struct dune_stats *stats;
	struct dv_caps caps;
	struct dv_config cfg;
	struct page *msr_bitmap; /* every bit set: every RDMSR/WRMSR exits */
	struct ida vpids;
};

static struct vmx_state vmx;

int dune_vmx_enter(u64 *gprs, bool launched, u64 host_rsp_field);
void dune_vmx_exit(void);
void dune_vmx_do_nmi(void);

static u64 vmcs_read(u32 field)
{
	u64 value;

	asm volatile("vmread %[f], %[v]" : [v] "=rm"(value) : [f] "r"((u64)field) : "cc");
	return value;
}

static void vmcs_write(u32 field, u64 value)
{
	bool fail;

	asm volatile("vmwrite %[v], %[f]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail) : [f] "r"((u64)field), [v] "rm"(value) : "cc");
	if (unlikely(fail))
		pr_err_ratelimited("dune: vmx: VMWRITE 0x%x failed (error %llu)\n", field,
				   vmcs_read(DV_VM_INSTRUCTION_ERROR));
}

static bool vmx_vmclear(u64 pa)
{
	bool fail;

	asm volatile("vmclear %[pa]\n\tsetna %[fail]" : [fail] "=qm"(fail) : [pa] "m"(pa) : "cc", "memory");
	return !fail;
}

static bool vmx_vmptrld(u64 pa)
{
	bool fail;

	asm volatile("vmptrld %[pa]\n\tsetna %[fail]" : [fail] "=qm"(fail) : [pa] "m"(pa) : "cc", "memory");
	return !fail;
}

static void vmx_invept(int type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %[d], %[t]" : : [d] "m"(desc), [t] "r"((u64)type) : "cc", "memory");
}

static void vmx_invvpid(int type, u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };

	asm volatile("invvpid %[d], %[t]" : : [d] "m"(desc), [t] "r"((u64)type) : "cc", "memory");
}

static void vmx_read_caps(struct dv_caps *c)
{
	memset(c, 0, sizeof(*c));
	rdmsrl(MSR_IA32_VMX_BASIC, c->basic);
	rdmsrl(MSR_IA32_VMX_MISC, c->misc);
	rdmsrl(MSR_IA32_VMX_PINBASED_CTLS, c->pin);
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS, c->proc);
	rdmsrl(MSR_IA32_VMX_EXIT_CTLS, c->exit);
	rdmsrl(MSR_IA32_VMX_ENTRY_CTLS, c->entry);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	/* These exist only when the MSRs above say so (allowed-1 of "activate secondary
	 * controls", IA32_VMX_BASIC bit 55): read safely, 0 means nothing allowed. */
	if (c->proc >> 32 & DV_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2);
		rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid);
	}
	if (c->basic & DV_BASIC_TRUE_CTLS) {
		rdmsrl_safe(MSR_IA32_VMX_TRUE_PINBASED_CTLS, &c->true_pin);
		rdmsrl_safe(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &c->true_proc);
		rdmsrl_safe(MSR_IA32_VMX_TRUE_EXIT_CTLS, &c->true_exit);
		rdmsrl_safe(MSR_IA32_VMX_TRUE_ENTRY_CTLS, &c->true_entry);
	}
}

static int vmx_probe(void)
{
	char why[160];
	u64 fc;

	if (!boot_cpu_has(X86_FEATURE_VMX)) {
		pr_err("dune: vmx: the CPU has no VT-x\n");
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if ((fc & FEAT_CTL_LOCKED) && !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("dune: vmx: VT-x is disabled by the firmware (IA32_FEATURE_CONTROL)\n");
		return -ENODEV;
	}
	if (!(fc & FEAT_CTL_LOCKED)) {
		pr_err("dune: vmx: IA32_FEATURE_CONTROL is not locked by the firmware\n");
		return -ENODEV;
	}
	vmx_read_caps(&vmx.caps);
	if (dv_configure(&vmx.caps, &vmx.cfg, why, sizeof(why))) {
		pr_err("dune: vmx: %s: not supported\n", why);
		return -ENODEV;
	}
	return 0;
}

static int vmx_vmxon(u64 pa)
{
	asm goto("1: vmxon %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m"(pa) : "cc", "memory" : fault);
	return 0;
fault:
	return -EIO;
}

static int vmx_cpu_on(unsigned int cpu)
{
	struct vmx_cpu *c = per_cpu_ptr(vmx.cpus, cpu);
	unsigned int i;
	int err;

	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("dune: vmx: CR4.VMXE is already set on CPU %u\n", cpu);
		return -EBUSY;
	}
	if (!c->vmxon) {
		c->vmxon = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!c->vmxon)
			return -ENOMEM;
		atomic64_inc(&vmx.stats->cpu_pages);
	}
	*(u32 *)page_address(c->vmxon) = vmx.cfg.revision;
	for (i = 1; i < VMX_NMSRS; i++)
		rdmsrl(vmx_msr_list[i], c->syscall_msrs[i]);
	cr4_set_bits(X86_CR4_VMXE);
	err = vmx_vmxon(page_to_phys(c->vmxon));
	if (err) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_err("dune: vmx: VMXON failed on CPU %u\n", cpu);
		return err;
	}
	/* Nothing cached from before this module (another hypervisor's EPT) may be used. */
	if (vmx.caps.ept_vpid & DV_EPT_CAP_INVEPT_ALL)
		vmx_invept(DV_INVEPT_ALL, 0);
	c->on = true;
	atomic64_inc(&vmx.stats->cpus_enabled);
	return 0;
}

/* On the CPU where s's VMCS is active, interrupts off: VMCLEAR it (its data is written back to
 * memory and its launch state cleared), so that another CPU may load it. */
static void vmx_clear_here(struct vmx_vcpu *s)
{
	struct vmx_cpu *c = this_cpu_ptr(vmx.cpus);

	if (!vmx_vmclear(page_to_phys(s->vmcs)))
		pr_err_ratelimited("dune: vmx: VMCLEAR failed on CPU %d\n", smp_processor_id());
	list_del_init(&s->cpu_node);
	if (c->cur == s)
		c->cur = NULL;
	s->launched = false;
	smp_wmb(); /* the list and the clear before cpu = -1 (pairs with vmx_load's read) */
	WRITE_ONCE(s->cpu, -1);
}

static void vmx_clear_ipi(void *arg)
{
	struct vmx_vcpu *s = arg;

	if (READ_ONCE(s->cpu) == smp_processor_id())
		vmx_clear_here(s);
}

/* Interrupts on (it may IPI): s's VMCS is active nowhere afterwards. */
static void vmx_clear(struct vmx_vcpu *s)
{
	int cpu = READ_ONCE(s->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_ipi, s, 1);
	WARN_ON_ONCE(READ_ONCE(s->cpu) != -1);
}

static int vmx_cpu_off(unsigned int cpu)
{
	struct vmx_cpu *c = per_cpu_ptr(vmx.cpus, cpu);
	struct vmx_vcpu *s, *n;
	unsigned long flags;

	if (c->on) {
		local_irq_save(flags);
		list_for_each_entry_safe(s, n, &c->active, cpu_node)
			vmx_clear_here(s);
		local_irq_restore(flags);
		asm volatile("vmxoff" : : : "cc", "memory");
		cr4_clear_bits(X86_CR4_VMXE);
		c->on = false;
		atomic64_dec(&vmx.stats->cpus_enabled);
	}
	return 0;
}

static int vmx_init(struct dune_stats *stats)
{
	unsigned int cpu;

	vmx.stats = stats;
	ida_init(&vmx.vpids);
	vmx.cpus = alloc_percpu(struct vmx_cpu);
	vmx.msr_bitmap = alloc_page(GFP_KERNEL);
	if (!vmx.cpus || !vmx.msr_bitmap) {
		if (vmx.msr_bitmap)
			__free_page(vmx.msr_bitmap);
		free_percpu(vmx.cpus);
		vmx.cpus = NULL;
		return -ENOMEM;
	}
	memset(page_address(vmx.msr_bitmap), 0xff, PAGE_SIZE);
	for_each_possible_cpu(cpu)
		INIT_LIST_HEAD(&per_cpu_ptr(vmx.cpus, cpu)->active);
	return 0;
}

static void vmx_exit(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *c = per_cpu_ptr(vmx.cpus, cpu);

		if (c->vmxon) {
			__free_page(c->vmxon);
			atomic64_dec(&vmx.stats->cpu_pages);
		}
	}
	free_percpu(vmx.cpus);
	vmx.cpus = NULL;
	__free_page(vmx.msr_bitmap);
	ida_destroy(&vmx.vpids);
}

/* 4-level EPT (the EPTP's page-walk length 3): guest-physical addresses below 2^48, which
 * vm.c's slots enforce. */
static int vmx_levels(void)
{
	return 4;
}

static u64 vmx_pte_table(phys_addr_t pa)
{
	return dv_ept_table(pa);
}

static u64 vmx_pte_leaf(phys_addr_t pa, bool writable)
{
	return dv_ept_leaf(pa, writable);
}

static bool vmx_pte_present(u64 pte)
{
	return dv_ept_present(pte);
}

static bool vmx_pte_writable(u64 pte)
{
	return dv_ept_writable(pte);
}

/* A VPID per VM (16 bits, 0 is the host's), when the CPU has them and INVVPID. */
static int vmx_vm_init(struct dune_vm *vm)
{
	int vpid;

	if (!vmx.cfg.vpid)
		return 0;
	vpid = ida_alloc_range(&vmx.vpids, 1, 0xffff, GFP_KERNEL);
	if (vpid < 0)
		return vpid == -ENOSPC ? -EAGAIN : vpid;
	vm->asid = vpid;
	atomic64_inc(&vmx.stats->asids);
	return 0;
}

static void vmx_vm_free(struct dune_vm *vm)
{
	if (vm->asid) {
		ida_free(&vmx.vpids, vm->asid);
		atomic64_dec(&vmx.stats->asids);
		vm->asid = 0;
	}
}

/* The host state that differs per CPU (its TSS, GDT, per-CPU GS base, SYSENTER stack), written
 * when the VMCS becomes active on a CPU. */
static void vmx_host_cpu_state(struct vmx_vcpu *s, int cpu)
{
	struct vmx_cpu *c = this_cpu_ptr(vmx.cpus);
	struct desc_ptr idt;
	unsigned int i;
	u64 v;

	vmcs_write(DV_HOST_CR0, read_cr0());
	vmcs_write(DV_HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(DV_HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	vmcs_write(DV_HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(DV_HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(DV_HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(DV_HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(DV_HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write(DV_HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(DV_HOST_IA32_PAT, v);
	for (i = 1; i < VMX_NMSRS; i++)
		s->msrs->host[i].value = c->syscall_msrs[i];
	s->host_cr3 = 0;
	s->host_cr4 = 0;
}

/* Preemption off, interrupts on (dune_backend.load): makes v's VMCS the current one on this
 * CPU, VMCLEARing it first on the CPU where it was active. */
static void vmx_load(struct dune_vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	struct vmx_cpu *c = this_cpu_ptr(vmx.cpus);
	int cpu = smp_processor_id();
	unsigned long flags;

	if (READ_ONCE(s->cpu) != cpu) {
		vmx_clear(s);
		smp_rmb(); /* the clear's list and state before ours (pairs with vmx_clear_here) */
		local_irq_save(flags);
		list_add(&s->cpu_node, &c->active);
		WRITE_ONCE(s->cpu, cpu);
		local_irq_restore(flags);
		if (!vmx_vmptrld(page_to_phys(s->vmcs)))
			pr_err_ratelimited("dune: vmx: VMPTRLD failed on CPU %d\n", cpu);
		c->cur = s;
		vmx_host_cpu_state(s, cpu);
	} else if (c->cur != s) {
		if (!vmx_vmptrld(page_to_phys(s->vmcs)))
			pr_err_ratelimited("dune: vmx: VMPTRLD failed on CPU %d\n", cpu);
		c->cur = s;
	}
}

static const u32 vmx_zeroed_guest_fields[] = {
	DV_GUEST_RSP, DV_GUEST_RIP, DV_GUEST_CR3, DV_GUEST_IA32_EFER, DV_CR0_READ_SHADOW,
	DV_CR4_READ_SHADOW, DV_GUEST_GDTR_BASE, DV_GUEST_GDTR_LIMIT, DV_GUEST_IDTR_BASE,
	DV_GUEST_IDTR_LIMIT, DV_GUEST_SYSENTER_CS, DV_GUEST_SYSENTER_ESP, DV_GUEST_SYSENTER_EIP,
};

/* The fields that stay for the vCPU's life: controls, EPT, MSR areas, host selectors, HOST_RIP,
 * the guest's non-register state. */
static void vmx_setup_vmcs(struct dune_vcpu *v)
{
	struct vmx_vcpu *s = v->arch;
	const struct dv_config *cfg = &vmx.cfg;
	unsigned int i;
	u64 pat;

	vmcs_write(DV_VIRTUAL_PROCESSOR_ID, s->vpid);
	vmcs_write(DV_PIN_BASED_VM_EXEC_CONTROL, cfg->pin);
	vmcs_write(DV_CPU_BASED_VM_EXEC_CONTROL, cfg->proc);
	vmcs_write(DV_SECONDARY_VM_EXEC_CONTROL, cfg->proc2);
	vmcs_write(DV_VM_EXIT_CONTROLS, cfg->exit);
	vmcs_write(DV_VM_ENTRY_CONTROLS, cfg->entry | DV_VM_ENTRY_IA32E_MODE);
	vmcs_write(DV_EXCEPTION_BITMAP, 1U << X86_TRAP_MC);
	vmcs_write(DV_PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(DV_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(DV_CR3_TARGET_COUNT, 0);
	vmcs_write(DV_TSC_OFFSET, 0);
	if (cfg->proc & DV_CPU_BASED_USE_MSR_BITMAPS)
		vmcs_write(DV_MSR_BITMAP, page_to_phys(vmx.msr_bitmap));
	vmcs_write(DV_EPT_POINTER, s->eptp);
	for (i = 0; i < VMX_NMSRS; i++) {
		s->msrs->guest[i].index = vmx_msr_list[i];
		s->msrs->host[i].index = vmx_msr_list[i];
	}
	vmcs_write(DV_VM_ENTRY_MSR_LOAD_ADDR, __pa(s->msrs->guest));
	vmcs_write(DV_VM_EXIT_MSR_STORE_ADDR, __pa(s->msrs->guest));
	vmcs_write(DV_VM_EXIT_MSR_LOAD_ADDR, __pa(s->msrs->host));
	vmcs_write(DV_VM_ENTRY_MSR_LOAD_COUNT, VMX_NMSRS);
	vmcs_write(DV_VM_EXIT_MSR_STORE_COUNT, VMX_NMSRS);
	vmcs_write(DV_VM_EXIT_MSR_LOAD_COUNT, VMX_NMSRS);
	vmcs_write(DV_CR0_GUEST_HOST_MASK, cfg->cr0_mask);
	vmcs_write(DV_CR4_GUEST_HOST_MASK, cfg->cr4_mask);
	vmcs_write(DV_HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(DV_HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(DV_HOST_DS_SELECTOR, __KERNEL_DS);
	vmcs_write(DV_HOST_ES_SELECTOR, __KERNEL_DS);
	vmcs_write(DV_HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(DV_HOST_RIP, (unsigned long)dune_vmx_exit);
	vmcs_write(DV_VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(DV_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(DV_GUEST_DR7, 0x400); /* the reset value */
	vmcs_write(DV_GUEST_ACTIVITY_STATE, 0);
	vmcs_write(DV_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(DV_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write(DV_GUEST_IA32_PAT, pat);
	/* A VMCS field nobody wrote reads back undefined: every guest register starts defined
	 * (segments unusable, the rest 0) until user space sets its state. */
	for (i = 0; i < DV_NSEGS; i++) {
		vmcs_write(dv_seg_fields[i].selector, 0);
		vmcs_write(dv_seg_fields[i].base, 0);
		vmcs_write(dv_seg_fields[i].limit, 0);
		vmcs_write(dv_seg_fields[i].ar, 1U << 16);
	}
	for (i = 0; i < ARRAY_SIZE(vmx_zeroed_guest_fields); i++)
		vmcs_write(vmx_zeroed_guest_fields[i], 0);
	vmcs_write(DV_GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmcs_write(DV_GUEST_CR0, dv_cr_guest(X86_CR0_PE | X86_CR0_PG, vmx.caps.cr0_fixed0,
					     vmx.caps.cr0_fixed1));
	vmcs_write(DV_GUEST_CR4, dv_cr_guest(0, vmx.caps.cr4_fixed0, vmx.caps.cr4_fixed1));
}

static int vmx_vcpu_init(struct dune_vcpu *v)
{
	struct vmx_vcpu *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return -ENOMEM;
	s->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	s->msrs = (struct vmx_msr_areas *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!s->vmcs || !s->msrs) {
		if (s->vmcs)
			__free_page(s->vmcs);
		free_page((unsigned long)s->msrs);
		kfree(s);
		return -ENOMEM;
	}
	atomic64_add(2, &vmx.stats->vcpu_pages);
	*(u32 *)page_address(s->vmcs) = vmx.cfg.revision;
	s->cpu = -1;
	INIT_LIST_HEAD(&s->cpu_node);
	s->eptp = dv_eptp(__pa(v->vm->root), v->vm->levels);
	s->vpid = vmx.cfg.vpid ? v->vm->asid : 0;
	v->arch = s;
	preempt_disable();
	/* A new VMCS is VMCLEARed before its first VMPTRLD (launch state "clear"). */
	if (!vmx_vmclear(page_to_phys(s->vmcs)))
		pr_err_ratelimited("dune: vmx: VMCLEAR of a new VMCS failed\n");
	vmx_load(v);
	vmx_setup_vmcs(v);
	preempt_enable();
	return 0;
}

static void vmx_vcpu_free(struct dune_vcpu *v)
{
	struct vmx_vcpu *s = v->arch;

	if (!s)
		return;
	vmx_clear(s);
	__free_page(s->vmcs);
	free_page((unsigned long)s->msrs);
	atomic64_sub(2, &vmx.stats->vcpu_pages);
	kfree(s);
	v->arch = NULL;
}

/* kvm_sregs' segments in the VMCS's order (vmx_logic.h's enum dv_seg). */
#define VMX_SEGS(k) { &(k)->es, &(k)->cs, &(k)->ss, &(k)->ds, &(k)->fs, &(k)->gs, &(k)->ldt, &(k)->tr }

/* The guest may not be made a hypervisor (CR4.VMXE is the module's: forced on by VMX, hidden
 * by the read shadow) and carries no bit the CPU cannot run in VMX operation (CR0/CR4
 * FIXED1); the rest is what VM entry's own checks accept (a state they refuse is an ERROR
 * exit, not a host problem). */
static int vmx_set_state(struct dune_vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *k)
{
	const struct kvm_segment *segs[DV_NSEGS] = VMX_SEGS(k);
	const struct dv_caps *c = &vmx.caps;
	struct vmx_vcpu *s = v->arch;
	int i;

	if ((k->cr4 & X86_CR4_VMXE) || (k->cr0 >> 32) || (k->cr4 >> 32) || (r->rflags >> 32) ||
	    !dv_cr_allowed(k->cr0, c->cr0_fixed1) || !dv_cr_allowed(k->cr4, c->cr4_fixed1))
		return -EINVAL;
	dune_gprs_set(v, r);
	s->cr2 = k->cr2;
	preempt_disable();
	vmx_load(v);
	vmcs_write(DV_GUEST_RSP, r->rsp);
	vmcs_write(DV_GUEST_RIP, r->rip);
	vmcs_write(DV_GUEST_RFLAGS, (r->rflags | X86_EFLAGS_FIXED) & ~X86_EFLAGS_VM);
	vmcs_write(DV_GUEST_CR0, dv_cr_guest(k->cr0, c->cr0_fixed0, c->cr0_fixed1));
	vmcs_write(DV_CR0_READ_SHADOW, k->cr0);
	vmcs_write(DV_GUEST_CR4, dv_cr_guest(k->cr4, c->cr4_fixed0, c->cr4_fixed1));
	vmcs_write(DV_CR4_READ_SHADOW, k->cr4);
	vmcs_write(DV_GUEST_CR3, k->cr3);
	vmcs_write(DV_GUEST_IA32_EFER, k->efer);
	vmcs_write(DV_VM_ENTRY_CONTROLS,
		   vmx.cfg.entry | (k->efer & EFER_LMA ? DV_VM_ENTRY_IA32E_MODE : 0));
	for (i = 0; i < DV_NSEGS; i++) {
		vmcs_write(dv_seg_fields[i].selector, segs[i]->selector);
		vmcs_write(dv_seg_fields[i].base, segs[i]->base);
		vmcs_write(dv_seg_fields[i].limit, segs[i]->limit);
		vmcs_write(dv_seg_fields[i].ar, dv_seg_ar(segs[i]));
	}
	vmcs_write(DV_GUEST_GDTR_BASE, k->gdt.base);
	vmcs_write(DV_GUEST_GDTR_LIMIT, k->gdt.limit);
	vmcs_write(DV_GUEST_IDTR_BASE, k->idt.base);
	vmcs_write(DV_GUEST_IDTR_LIMIT, k->idt.limit);
	preempt_enable();
	return 0;
}

static void vmx_get_state(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *k)
{
	struct kvm_segment *segs[DV_NSEGS] = VMX_SEGS(k);
	const struct dv_config *cfg = &vmx.cfg;
	struct vmx_vcpu *s = v->arch;
	int i;

	memset(r, 0, sizeof(*r));
	memset(k, 0, sizeof(*k));
	dune_gprs_get(v, r);
	k->cr2 = s->cr2;
	preempt_disable();
	vmx_load(v);
	r->rsp = vmcs_read(DV_GUEST_RSP);
	r->rip = vmcs_read(DV_GUEST_RIP);
	r->rflags = vmcs_read(DV_GUEST_RFLAGS);
	k->cr0 = dv_cr_visible(vmcs_read(DV_GUEST_CR0), vmcs_read(DV_CR0_READ_SHADOW), cfg->cr0_mask);
	k->cr4 = dv_cr_visible(vmcs_read(DV_GUEST_CR4), vmcs_read(DV_CR4_READ_SHADOW), cfg->cr4_mask);
	k->cr3 = vmcs_read(DV_GUEST_CR3);
	k->efer = vmcs_read(DV_GUEST_IA32_EFER);
	for (i = 0; i < DV_NSEGS; i++) {
		segs[i]->selector = vmcs_read(dv_seg_fields[i].selector);
		segs[i]->base = vmcs_read(dv_seg_fields[i].base);
		segs[i]->limit = vmcs_read(dv_seg_fields[i].limit);
		dv_seg_from_ar(segs[i], vmcs_read(dv_seg_fields[i].ar));
	}
	k->gdt.base = vmcs_read(DV_GUEST_GDTR_BASE);
	k->gdt.limit = vmcs_read(DV_GUEST_GDTR_LIMIT);
	k->idt.base = vmcs_read(DV_GUEST_IDTR_BASE);
	k->idt.limit = vmcs_read(DV_GUEST_IDTR_LIMIT);
	preempt_enable();
	k->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_BSP;
}

static int vmx_msr_slot(u32 index)
{
	unsigned int i;

	for (i = 0; i < VMX_NMSRS; i++)
		if (vmx_msr_list[i] == index)
			return i;
	return -1;
}

/* The MSRs the SVM backend accepts, with the same checks (WRMSR's, which the MSR-load area
 * would otherwise turn into a failed entry). */
static int vmx_set_msr(struct dune_vcpu *v, u32 index, u64 value)
{
	struct vmx_vcpu *s = v->arch;
	bool addr = index != MSR_STAR && index != MSR_SYSCALL_MASK &&
		    index != MSR_IA32_SYSENTER_CS && index != MSR_IA32_CR_PAT;
	int slot = vmx_msr_slot(index);
	u32 field;

	if (addr && !__is_canonical_address(value, 48))
		return -EINVAL;
	if (slot >= 0) {
		s->msrs->guest[slot].value = index == MSR_SYSCALL_MASK ? (u32)value : value;
		return 0;
	}
	switch (index) {
	case MSR_FS_BASE: field = DV_GUEST_FS_BASE; break;
	case MSR_GS_BASE: field = DV_GUEST_GS_BASE; break;
	case MSR_IA32_SYSENTER_CS: field = DV_GUEST_SYSENTER_CS; value = (u16)value; break;
	case MSR_IA32_SYSENTER_ESP: field = DV_GUEST_SYSENTER_ESP; break;
	case MSR_IA32_SYSENTER_EIP: field = DV_GUEST_SYSENTER_EIP; break;
	case MSR_IA32_CR_PAT:
		if (!dv_pat_valid(value))
			return -EINVAL;
		field = DV_GUEST_IA32_PAT;
		break;
	default:
		return -EINVAL;
	}
	preempt_disable();
	vmx_load(v);
	vmcs_write(field, value);
	preempt_enable();
	return 0;
}

static void vmx_cancel_event(struct dune_vcpu *v)
{
	((struct vmx_vcpu *)v->arch)->event_pending = false;
}

/* The host state that may change between entries (address space, CR4 bits, the thread's FS
 * and user GS bases and selectors) and the guest's CR2 and pending event. */
static void vmx_before_entry(struct vmx_vcpu *s, u16 fs_sel, u16 gs_sel)
{
	u64 cr3 = __read_cr3(), cr4 = cr4_read_shadow(), v;

	if (cr3 != s->host_cr3) {
		vmcs_write(DV_HOST_CR3, cr3);
		s->host_cr3 = cr3;
	}
	if (cr4 != s->host_cr4) {
		vmcs_write(DV_HOST_CR4, cr4);
		s->host_cr4 = cr4;
	}
	/* VM entry requires RPL 0 and TI 0: a user selector is reloaded by hand after the exit. */
	vmcs_write(DV_HOST_FS_SELECTOR, fs_sel & 7 ? 0 : fs_sel);
	vmcs_write(DV_HOST_GS_SELECTOR, gs_sel & 7 ? 0 : gs_sel);
	rdmsrl(MSR_FS_BASE, v);
	vmcs_write(DV_HOST_FS_BASE, v);
	rdmsrl(MSR_KERNEL_GS_BASE, s->msrs->host[0].value);
	vmcs_write(DV_VM_ENTRY_INTR_INFO_FIELD, s->event_pending ? s->event : 0);
	if (s->event_pending) {
		vmcs_write(DV_VM_ENTRY_EXCEPTION_ERROR_CODE, s->event_err);
		vmcs_write(DV_VM_ENTRY_INSTRUCTION_LEN, s->event_len);
	}
	/* Every entry flushes the guest's translations, as the SVM backend does: correct after
	 * any nested-table change (vm.c kicks running vCPUs to re-enter). */
	vmx_invept(vmx.cfg.invept_type, s->eptp);
	if (vmx.cfg.vpid)
		vmx_invvpid(vmx.cfg.invvpid_type, s->vpid);
	if (native_read_cr2() != s->cr2)
		native_write_cr2(s->cr2);
}

/* What VM exit leaves differently from what Linux expects: the GDT limit (0xffff), the TSS
 * limit (0x67), LDTR (null), user FS/GS selectors, DEBUGCTL (cleared), debug registers. */
static void vmx_after_exit(struct vmx_vcpu *s, u16 fs_sel, u16 gs_sel, u16 ldt_sel,
			   unsigned long debugctl)
{
	if (ldt_sel)
		asm volatile("lldt %0" : : "rm"(ldt_sel));
	if (gs_sel & 7) {
		/* Loading the selector also loads the user GS base (swapped): put the thread's back. */
		load_gs_index(gs_sel);
		wrmsrl(MSR_KERNEL_GS_BASE, s->msrs->host[0].value);
	}
	if (fs_sel & 7)
		loadsegment(fs, fs_sel);
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
	if (debugctl)
		update_debugctlmsr(debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

static void vmx_read_exit(struct vmx_vcpu *s, int failed, struct dv_exit_raw *r)
{
	u32 idt;

	memset(r, 0, sizeof(*r));
	if (failed) {
		r->vmfail = true;
		r->insn_error = vmcs_read(DV_VM_INSTRUCTION_ERROR);
		return;
	}
	r->reason = vmcs_read(DV_VM_EXIT_REASON);
	r->qual = vmcs_read(DV_EXIT_QUALIFICATION);
	r->gpa = vmcs_read(DV_GUEST_PHYSICAL_ADDRESS);
	r->intr_info = vmcs_read(DV_VM_EXIT_INTR_INFO);
	r->intr_error = vmcs_read(DV_VM_EXIT_INTR_ERROR_CODE);
	if (r->reason & DV_EXIT_FAILED_ENTRY)
		return; /* the launch state did not change; the event is still to deliver */
	s->launched = true;
	/* An event whose delivery the exit interrupted is delivered again at the next entry. */
	idt = vmcs_read(DV_IDT_VECTORING_INFO_FIELD);
	s->event = dv_reinject(idt);
	s->event_pending = s->event != 0;
	if (s->event_pending) {
		s->event_err = vmcs_read(DV_IDT_VECTORING_ERROR_CODE);
		s->event_len = vmcs_read(DV_VM_EXIT_INSTRUCTION_LEN);
	}
}

/* CPUID exits unconditionally on VT-x; on SVM the guest runs it natively. Answer with the host's
 * CPUID as the guest would have read it (dv_cpuid_fixup) and step over the instruction, which
 * ends STI/MOV SS blocking as executing it would. Interrupts are off. */
static void vmx_cpuid(struct dune_vcpu *v)
{
	u32 r[4] = { (u32)v->gprs[DUNE_GPR_RAX], 0, (u32)v->gprs[DUNE_GPR_RCX], 0 };
	u32 leaf = r[0], subleaf = r[2];
	u64 intr;

	native_cpuid(&r[0], &r[1], &r[2], &r[3]);
	dv_cpuid_fixup(leaf, subleaf, vmcs_read(DV_GUEST_CR4), r);
	v->gprs[DUNE_GPR_RAX] = r[0];
	v->gprs[DUNE_GPR_RBX] = r[1];
	v->gprs[DUNE_GPR_RCX] = r[2];
	v->gprs[DUNE_GPR_RDX] = r[3];
	vmcs_write(DV_GUEST_RIP, vmcs_read(DV_GUEST_RIP) + vmcs_read(DV_VM_EXIT_INSTRUCTION_LEN));
	intr = vmcs_read(DV_GUEST_INTERRUPTIBILITY_INFO);
	if (intr & 3)
		vmcs_write(DV_GUEST_INTERRUPTIBILITY_INFO, intr & ~3ULL);
}

/* After an entry failed on invalid guest state: the kernel log says which check of
 * dv_check_guest the state fails, if one does (the first thing to read on a new CPU). */
static void vmx_explain_entry(struct dune_vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs k;
	char why[160];

	vmx_get_state(v, &r, &k);
	if (dv_check_guest(&k, r.rflags, &vmx.caps, why, sizeof(why)))
		pr_warn_ratelimited("dune: vmx: VM entry refused the guest state: %s\n", why);
	else
		pr_warn_ratelimited("dune: vmx: VM entry refused the guest state (qualification %llu)\n",
				    vmcs_read(DV_EXIT_QUALIFICATION));
}

static void vmx_enter(struct dune_vcpu *v, struct dune_exit *x)
{
	struct vmx_vcpu *s = v->arch;
	unsigned long debugctl = get_debugctlmsr();
	struct dv_exit_raw r;
	struct dv_exit d;
	u16 fs_sel, gs_sel, ldt_sel;
	int failed;

	if (WARN_ON_ONCE(s->cpu != smp_processor_id() || this_cpu_ptr(vmx.cpus)->cur != s)) {
		memset(x, 0, sizeof(*x));
		x->kind = DUNE_X_ERROR;
		x->code = DV_CODE_VMFAIL;
		return;
	}
	savesegment(fs, fs_sel);
	savesegment(gs, gs_sel);
	asm volatile("sldt %0" : "=g"(ldt_sel));
	vmx_before_entry(s, fs_sel, gs_sel);
	failed = dune_vmx_enter(v->gprs, s->launched, DV_HOST_RSP);
	s->cr2 = native_read_cr2();
	vmx_after_exit(s, fs_sel, gs_sel, ldt_sel, debugctl);
	vmx_read_exit(s, failed, &r);
	dv_decode(&r, &d);
	if (r.reason == (DV_EXIT_FAILED_ENTRY | DV_EXIT_INVALID_STATE))
		vmx_explain_entry(v);
	if (d.kind == DV_X_NMI)
		dune_vmx_do_nmi(); /* NMI exiting consumed it: the host's handler runs now */
	if (d.kind == DV_X_CPUID)
		vmx_cpuid(v);
	if (d.kind == DV_X_UD) {
		s->event = DV_EVENT_UD; /* delivered through the guest's IDT at the next entry */
		s->event_pending = true;
	}
	memset(x, 0, sizeof(*x));
	x->gpa = d.gpa;
	x->write = d.write;
	x->fetch = d.fetch;
	x->port = d.port;
	x->code = d.code;
	x->info1 = d.info1;
	x->info2 = d.info2;
	switch (d.kind) {
	case DV_X_INTR:
	case DV_X_NMI:
	case DV_X_CPUID:
	case DV_X_UD:
		x->kind = DUNE_X_INTR;
		break;
	case DV_X_NPF:
		x->kind = DUNE_X_NPF;
		break;
	case DV_X_IO:
		x->kind = DUNE_X_IO;
		break;
	case DV_X_SHUTDOWN:
		x->kind = DUNE_X_SHUTDOWN;
		break;
	default:
		x->kind = DUNE_X_ERROR;
	}
}

const struct dune_backend dune_vmx_backend = {
	.name = "vmx",
	.probe = vmx_probe,
	.cpu_on = vmx_cpu_on,
	.cpu_off = vmx_cpu_off,
	.init = vmx_init,
	.exit = vmx_exit,
	.levels = vmx_levels,
	.pte_table = vmx_pte_table,
	.pte_leaf = vmx_pte_leaf,
	.pte_present = vmx_pte_present,
	.pte_writable = vmx_pte_writable,
	.vm_init = vmx_vm_init,
	.vm_free = vmx_vm_free,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_free = vmx_vcpu_free,
	.set_state = vmx_set_state,
	.get_state = vmx_get_state,
	.set_msr = vmx_set_msr,
	.cancel_event = vmx_cancel_event,
	.load = vmx_load,
	.enter = vmx_enter,
};
