// SPDX-License-Identifier: GPL-2.0
/* Intel VT-x backend: per-CPU VMXON (CR4.VMXE and a VMXON region stamped with the VMCS
 * revision from IA32_VMX_BASIC). A CPU whose CR4.VMXE is already set belongs to another
 * hypervisor (kvm_intel): the module refuses to load. The nested table is EPT (vm.c builds it
 * with the entries below). Not written yet: the VMCS and its run path, so DUNE_CREATE_VCPU
 * fails with EOPNOTSUPP on Intel. Compiled here with -Werror; QEMU's software emulation has no
 * VMX, so none of it has run on hardware. */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/tlbflush.h>
#include <asm/vmx.h>
#include "dune.h"

struct vmx_cpu {
	struct page *vmxon; /* the VMXON region of this CPU */
	bool on;            /* this module executed VMXON here */
};

struct vmx_state {
	struct vmx_cpu __percpu *cpus;
	struct dune_stats *stats;
	u32 revision; /* VMCS revision identifier (IA32_VMX_BASIC bits 30:0) */
};

static struct vmx_state vmx;

static int vmx_probe(void)
{
	u64 basic, ctl2 = 0, fc;

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
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	rdmsrl_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &ctl2);
	if (!((ctl2 >> 32) & SECONDARY_EXEC_ENABLE_EPT)) {
		pr_err("dune: vmx: the CPU has VT-x but no EPT: not supported\n");
		return -ENODEV;
	}
	vmx.revision = basic & 0x7fffffff;
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
	*(u32 *)page_address(c->vmxon) = vmx.revision;
	cr4_set_bits(X86_CR4_VMXE);
	err = vmx_vmxon(page_to_phys(c->vmxon));
	if (err) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_err("dune: vmx: VMXON failed on CPU %u\n", cpu);
		return err;
	}
	c->on = true;
	atomic64_inc(&vmx.stats->cpus_enabled);
	return 0;
}

static int vmx_cpu_off(unsigned int cpu)
{
	struct vmx_cpu *c = per_cpu_ptr(vmx.cpus, cpu);

	if (c->on) {
		asm volatile("vmxoff" : : : "cc", "memory");
		cr4_clear_bits(X86_CR4_VMXE);
		c->on = false;
		atomic64_dec(&vmx.stats->cpus_enabled);
	}
	return 0;
}

static int vmx_init(struct dune_stats *stats)
{
	vmx.stats = stats;
	vmx.cpus = alloc_percpu(struct vmx_cpu);
	return vmx.cpus ? 0 : -ENOMEM;
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
}

/* EPT entries: read/write/execute on tables; leaves readable, executable (the guest's own
 * page tables decide execution), writable when the process page is, write-back memory type. */
#define EPT_R 1ULL
#define EPT_W 2ULL
#define EPT_X 4ULL
#define EPT_WB (6ULL << 3)

/* 4-level EPT (the EPTP's page-walk length 3). */
static int vmx_levels(void)
{
	return 4;
}

static u64 vmx_pte_table(phys_addr_t pa)
{
	return pa | EPT_R | EPT_W | EPT_X;
}

static u64 vmx_pte_leaf(phys_addr_t pa, bool writable)
{
	return pa | EPT_R | EPT_X | EPT_WB | (writable ? EPT_W : 0);
}

static bool vmx_pte_present(u64 pte)
{
	return pte & (EPT_R | EPT_W | EPT_X);
}

static bool vmx_pte_writable(u64 pte)
{
	return pte & EPT_W;
}

static int vmx_vm_init(struct dune_vm *vm)
{
	return 0;
}

static void vmx_vm_free(struct dune_vm *vm)
{
}

static int vmx_vcpu_init(struct dune_vcpu *v)
{
	pr_warn_once("dune: vmx: vCPUs are not implemented on VT-x yet (the VMCS run path)\n");
	return -EOPNOTSUPP;
}

static void vmx_vcpu_free(struct dune_vcpu *v)
{
}

static int vmx_set_state(struct dune_vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s)
{
	return -EOPNOTSUPP;
}

static void vmx_get_state(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
}

static int vmx_set_msr(struct dune_vcpu *v, u32 index, u64 value)
{
	return -EOPNOTSUPP;
}

static void vmx_cancel_event(struct dune_vcpu *v)
{
}

static void vmx_enter(struct dune_vcpu *v, struct dune_exit *x)
{
	x->kind = DUNE_X_ERROR;
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
	.enter = vmx_enter,
};
