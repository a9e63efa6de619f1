// SPDX-License-Identifier: GPL-2.0
/* The VT-x backend's pure logic (vmx_logic.h): no hardware access, no kernel state, so that
 * kmod/tests/vmx_logic_test.c runs it in user space against real CPUs' capability values. */
#include "vmx_logic.h"
#ifdef __KERNEL__
#include <linux/kernel.h> /* snprintf */
#include <linux/string.h>
#else
#include <stdio.h>
#include <string.h>
#endif

#define DV_SEG(name) { DV_GUEST_##name##_SELECTOR, DV_GUEST_##name##_LIMIT, \
		       DV_GUEST_##name##_AR_BYTES, DV_GUEST_##name##_BASE }
const struct dv_seg_fields dv_seg_fields[DV_NSEGS] = {
	DV_SEG(ES), DV_SEG(CS), DV_SEG(SS), DV_SEG(DS), DV_SEG(FS), DV_SEG(GS), DV_SEG(LDTR),
	DV_SEG(TR),
};

struct dv_adjust dv_adjust_ctl(uint64_t cap, uint32_t required, uint32_t optional, uint32_t forbidden)
{
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);
	struct dv_adjust a;

	a.value = ((required | optional) & may) | must;
	a.missing = required & ~may;
	a.refused = forbidden & must;
	return a;
}

static int dv_fail(char *why, size_t len, const char *what, const char *word, uint32_t bits)
{
	if (word)
		snprintf(why, len, "%s %s control bit %d", what, word, __builtin_ctz(bits));
	else
		snprintf(why, len, "%s", what);
	return -1;
}

/* One control word: the adjusted value in *out, or -1 with the first offending bit named. */
static int dv_word(uint64_t cap, uint32_t req, uint32_t opt, uint32_t forbid, const char *word,
		   uint32_t *out, char *why, size_t len)
{
	struct dv_adjust a = dv_adjust_ctl(cap, req, opt, forbid);

	if (a.missing)
		return dv_fail(why, len, "the CPU lacks the required", word, a.missing);
	if (a.refused)
		return dv_fail(why, len, "the CPU forces the unsupported", word, a.refused);
	*out = a.value;
	return 0;
}

/* Everything but the flush types and the VPID choice. */
static int dv_controls(const struct dv_caps *c, struct dv_config *cfg, char *why, size_t len)
{
	bool tr = c->basic & DV_BASIC_TRUE_CTLS;

	if (dv_word(tr ? c->true_pin : c->pin, DV_PIN_BASED_EXT_INTR_MASK | DV_PIN_BASED_NMI_EXITING,
		    0, 0, "pin-based", &cfg->pin, why, len))
		return -1;
	if (dv_word(tr ? c->true_proc : c->proc,
		    DV_CPU_BASED_HLT_EXITING | DV_CPU_BASED_UNCOND_IO_EXITING |
			    DV_CPU_BASED_MWAIT_EXITING | DV_CPU_BASED_MONITOR_EXITING |
			    DV_CPU_BASED_CR8_LOAD_EXITING | DV_CPU_BASED_CR8_STORE_EXITING |
			    DV_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
		    DV_CPU_BASED_USE_MSR_BITMAPS,
		    DV_CPU_BASED_CR3_LOAD_EXITING | DV_CPU_BASED_CR3_STORE_EXITING |
			    DV_CPU_BASED_USE_IO_BITMAPS,
		    "primary processor-based", &cfg->proc, why, len))
		return -1;
	if (dv_word(c->proc2, DV_SECONDARY_EXEC_ENABLE_EPT,
		    DV_SECONDARY_EXEC_ENABLE_VPID | DV_SECONDARY_EXEC_ENABLE_RDTSCP |
			    DV_SECONDARY_EXEC_ENABLE_INVPCID,
		    DV_SECONDARY_EXEC_UNRESTRICTED_GUEST, "secondary processor-based", &cfg->proc2,
		    why, len))
		return -1;
	if (dv_word(tr ? c->true_exit : c->exit,
		    DV_VM_EXIT_HOST_ADDR_SPACE_SIZE | DV_VM_EXIT_SAVE_IA32_PAT |
			    DV_VM_EXIT_LOAD_IA32_PAT | DV_VM_EXIT_SAVE_IA32_EFER |
			    DV_VM_EXIT_LOAD_IA32_EFER,
		    DV_VM_EXIT_SAVE_DEBUG_CONTROLS, DV_VM_EXIT_ACK_INTR_ON_EXIT, "VM-exit",
		    &cfg->exit, why, len))
		return -1;
	if (dv_word(tr ? c->true_entry : c->entry,
		    DV_VM_ENTRY_IA32E_MODE | DV_VM_ENTRY_LOAD_IA32_PAT | DV_VM_ENTRY_LOAD_IA32_EFER,
		    DV_VM_ENTRY_LOAD_DEBUG_CONTROLS, 0, "VM-entry", &cfg->entry, why, len))
		return -1;
	/* IA-32e mode guest follows the guest's EFER.LMA at each state load. */
	cfg->entry &= ~DV_VM_ENTRY_IA32E_MODE;
	return 0;
}

int dv_configure(const struct dv_caps *c, struct dv_config *cfg, char *why, size_t len)
{
	uint64_t ev = c->ept_vpid;

	memset(cfg, 0, sizeof(*cfg));
	cfg->revision = c->basic & DV_BASIC_REVISION_MASK;
	cfg->vmcs_size = DV_BASIC_SIZE(c->basic);
	if (DV_BASIC_MEMTYPE(c->basic) != DV_EPT_MT_WB)
		return dv_fail(why, len, "the VMCS memory type is not write-back", NULL, 0);
	if (c->basic & DV_BASIC_32BIT_ADDR)
		return dv_fail(why, len, "VMCS addresses are limited to 32 bits", NULL, 0);
	if (!cfg->vmcs_size || cfg->vmcs_size > 4096)
		return dv_fail(why, len, "the VMCS size is not within one page", NULL, 0);
	if (dv_controls(c, cfg, why, len))
		return -1;
	if (!(ev & DV_EPT_CAP_WALK4) || !(ev & DV_EPT_CAP_WB))
		return dv_fail(why, len, "EPT lacks the 4-level walk or write-back tables", NULL, 0);
	if (!(ev & DV_EPT_CAP_INVEPT) || !(ev & (DV_EPT_CAP_INVEPT_SINGLE | DV_EPT_CAP_INVEPT_ALL)))
		return dv_fail(why, len, "the CPU has EPT but no usable INVEPT", NULL, 0);
	cfg->invept_type = ev & DV_EPT_CAP_INVEPT_SINGLE ? DV_INVEPT_SINGLE : DV_INVEPT_ALL;
	cfg->vpid = (cfg->proc2 & DV_SECONDARY_EXEC_ENABLE_VPID) && (ev & DV_VPID_CAP_INVVPID) &&
		    (ev & (DV_VPID_CAP_INVVPID_SINGLE | DV_VPID_CAP_INVVPID_ALL));
	if (cfg->vpid)
		cfg->invvpid_type = ev & DV_VPID_CAP_INVVPID_SINGLE ? DV_INVVPID_SINGLE : DV_INVVPID_ALL;
	else
		cfg->proc2 &= ~DV_SECONDARY_EXEC_ENABLE_VPID;
	cfg->cr0_mask = dv_cr_mask(c->cr0_fixed0, c->cr0_fixed1);
	cfg->cr4_mask = dv_cr_mask(c->cr4_fixed0, c->cr4_fixed1);
	return 0;
}

uint64_t dv_cr_guest(uint64_t value, uint64_t fixed0, uint64_t fixed1)
{
	return (value | fixed0) & fixed1;
}

uint64_t dv_cr_mask(uint64_t fixed0, uint64_t fixed1)
{
	return fixed0 | ~fixed1;
}

uint64_t dv_cr_visible(uint64_t actual, uint64_t shadow, uint64_t mask)
{
	return (actual & ~mask) | (shadow & mask);
}

bool dv_cr_allowed(uint64_t value, uint64_t fixed1)
{
	return !(value & ~fixed1);
}

uint32_t dv_seg_ar(const struct kvm_segment *s)
{
	if (s->unusable || !s->present)
		return 1U << 16;
	return (s->type & 15U) | (s->s & 1U) << 4 | (s->dpl & 3U) << 5 | 1U << 7 |
	       (s->avl & 1U) << 12 | (s->l & 1U) << 13 | (s->db & 1U) << 14 | (s->g & 1U) << 15;
}

void dv_seg_from_ar(struct kvm_segment *s, uint32_t ar)
{
	s->unusable = (ar >> 16) & 1;
	if (s->unusable)
		ar = 0; /* the other bits of an unusable segment are undefined */
	s->type = ar & 15;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->present = (ar >> 7) & 1;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
}

uint64_t dv_ept_table(uint64_t pa)
{
	return (pa & DV_EPT_ADDR) | DV_EPT_R | DV_EPT_W | DV_EPT_X;
}

uint64_t dv_ept_leaf(uint64_t pa, bool writable)
{
	return (pa & DV_EPT_ADDR) | DV_EPT_R | DV_EPT_X | (writable ? DV_EPT_W : 0) |
	       DV_EPT_MT_WB << 3;
}

bool dv_ept_present(uint64_t pte)
{
	return pte & (DV_EPT_R | DV_EPT_W | DV_EPT_X);
}

bool dv_ept_writable(uint64_t pte)
{
	return pte & DV_EPT_W;
}

uint64_t dv_eptp(uint64_t root_pa, int levels)
{
	return (root_pa & DV_EPT_ADDR) | (uint64_t)(levels - 1) << 3 | DV_EPT_MT_WB;
}

bool dv_pat_valid(uint64_t pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		uint8_t t = (pat >> (8 * i)) & 0xff;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

static bool dv_canonical(uint64_t a)
{
	return (uint64_t)(((int64_t)a << 16) >> 16) == a;
}

/* Limit and granularity agree (27.3.1.2): limit bits 11:0 not all 1 -> G 0; bits 31:20 not
 * all 0 -> G 1. */
static bool dv_limit_ok(const struct kvm_segment *s)
{
	if ((s->limit & 0xfff) != 0xfff && s->g)
		return false;
	if ((s->limit & 0xfff00000) && !s->g)
		return false;
	return true;
}

static bool dv_usable(const struct kvm_segment *s)
{
	return !(dv_seg_ar(s) & (1U << 16));
}

static const char *dv_check_code_stack(const struct kvm_sregs *k, bool ia32e)
{
	const struct kvm_segment *cs = &k->cs, *ss = &k->ss;

	if (!dv_usable(cs) || !(cs->type & 8) || !(cs->type & 1) || !cs->s)
		return "CS is not a present, accessed code segment";
	if (!(cs->type & 4) && cs->dpl != ss->dpl)
		return "CS.DPL differs from SS.DPL (non-conforming code)";
	if ((cs->type & 4) && cs->dpl > ss->dpl)
		return "CS.DPL above SS.DPL (conforming code)";
	if (ia32e && cs->l && cs->db)
		return "CS has both L and D/B set";
	if ((ss->selector & 3) != (cs->selector & 3))
		return "SS.RPL differs from CS.RPL";
	if (dv_usable(ss) && ((ss->type != 3 && ss->type != 7) || !ss->s || ss->dpl != (ss->selector & 3)))
		return "SS is not a writable data segment with DPL = RPL";
	if (!dv_limit_ok(cs) || (dv_usable(ss) && !dv_limit_ok(ss)))
		return "CS or SS: limit and granularity disagree";
	return NULL;
}

static const char *dv_check_data(const struct kvm_sregs *k)
{
	const struct kvm_segment *d[] = { &k->ds, &k->es, &k->fs, &k->gs };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		const struct kvm_segment *s = d[i];

		if (!dv_usable(s))
			continue;
		if (!(s->type & 1) || ((s->type & 8) && !(s->type & 2)) || !s->s)
			return "DS/ES/FS/GS: not an accessed data or readable code segment";
		if (s->type <= 11 && s->dpl < (s->selector & 3))
			return "DS/ES/FS/GS: DPL below the selector's RPL";
		if (!dv_limit_ok(s))
			return "DS/ES/FS/GS: limit and granularity disagree";
	}
	if (!dv_canonical(k->fs.base) || !dv_canonical(k->gs.base))
		return "FS or GS base not canonical";
	return NULL;
}

static const char *dv_check_system(const struct kvm_sregs *k)
{
	const struct kvm_segment *tr = &k->tr, *ldt = &k->ldt;

	if (!dv_usable(tr) || tr->type != 11 || tr->s || (tr->selector & 4) || !dv_limit_ok(tr))
		return "TR is not a usable busy 64-bit TSS (type 11, S 0, TI 0)";
	if (!dv_canonical(tr->base))
		return "TR base not canonical";
	if (dv_usable(ldt) && (ldt->type != 2 || ldt->s || (ldt->selector & 4) || !dv_limit_ok(ldt) ||
			       !dv_canonical(ldt->base)))
		return "LDTR is usable but not an LDT";
	if (!dv_canonical(k->gdt.base) || !dv_canonical(k->idt.base))
		return "GDTR or IDTR base not canonical";
	return NULL;
}

static const char *dv_check_control(const struct kvm_sregs *k, uint64_t rflags,
				    const struct dv_caps *c)
{
	bool ia32e = k->efer & (1ULL << 10), pg = k->cr0 & (1ULL << 31);

	if (!dv_cr_allowed(k->cr0, c->cr0_fixed1) || !dv_cr_allowed(k->cr4, c->cr4_fixed1))
		return "CR0 or CR4 sets a bit VMX operation forbids (FIXED1)";
	if (ia32e && (!pg || !(k->cr4 & (1ULL << 5))))
		return "a 64-bit guest needs CR0.PG and CR4.PAE";
	if (!ia32e && (k->cr4 & (1ULL << 17)))
		return "CR4.PCIDE outside IA-32e mode";
	if (pg && !(k->efer & (1ULL << 8)) != !ia32e)
		return "EFER.LME differs from EFER.LMA with paging on";
	if (!(rflags & 2) || (rflags & 0xffffffffffc08028ULL))
		return "RFLAGS: bit 1 clear or a reserved bit set";
	if (ia32e && (rflags & (1ULL << 17)))
		return "RFLAGS.VM in IA-32e mode";
	return NULL;
}

int dv_check_guest(const struct kvm_sregs *k, uint64_t rflags, const struct dv_caps *c,
		   char *why, size_t len)
{
	bool ia32e = k->efer & (1ULL << 10);
	const char *p = dv_check_control(k, rflags, c);

	if (!p)
		p = dv_check_code_stack(k, ia32e);
	if (!p)
		p = dv_check_data(k);
	if (!p)
		p = dv_check_system(k);
	if (!p)
		return 0;
	snprintf(why, len, "%s", p);
	return -1;
}

void dv_decode(const struct dv_exit_raw *r, struct dv_exit *x)
{
	memset(x, 0, sizeof(*x));
	x->kind = DV_X_ERROR;
	if (r->vmfail) {
		x->code = DV_CODE_VMFAIL;
		x->info1 = r->insn_error;
		return;
	}
	x->code = r->reason;
	x->info1 = r->qual;
	x->info2 = r->intr_info | (uint64_t)r->intr_error << 32;
	if (r->reason & DV_EXIT_FAILED_ENTRY)
		return;
	switch (r->reason & 0xffff) {
	case DV_EXIT_EXTERNAL_INTERRUPT:
	case DV_EXIT_INIT_SIGNAL:
	case DV_EXIT_IO_SMI:
	case DV_EXIT_OTHER_SMI:
		x->kind = DV_X_INTR;
		break;
	case DV_EXIT_CPUID:
		x->kind = DV_X_CPUID;
		break;
	case DV_EXIT_VMCALL:
		x->kind = DV_X_UD;
		break;
	case DV_EXIT_EXCEPTION_NMI:
		/* Only #MC is in the exception bitmap: an error, as on SVM. */
		if ((r->intr_info & DV_INTR_VALID) && (r->intr_info & DV_INTR_TYPE) == DV_INTR_TYPE_NMI)
			x->kind = DV_X_NMI;
		break;
	case DV_EXIT_EPT_VIOLATION:
		x->kind = DV_X_NPF;
		x->gpa = r->gpa;
		x->write = r->qual & 2;
		x->fetch = r->qual & 4;
		x->info2 = r->gpa;
		break;
	case DV_EXIT_EPT_MISCONFIG:
		x->info2 = r->gpa;
		break;
	case DV_EXIT_IO_INSTRUCTION:
		x->kind = DV_X_IO;
		x->port = (r->qual >> 16) & 0xffff;
		break;
	case DV_EXIT_TRIPLE_FAULT:
		x->kind = DV_X_SHUTDOWN;
		break;
	}
}

void dv_cpuid_fixup(uint32_t leaf, uint32_t subleaf, uint64_t guest_cr4, uint32_t regs[4])
{
	if (leaf == 1) {
		regs[2] &= ~(1U << 27);
		if (guest_cr4 & (1ULL << 18))
			regs[2] |= 1U << 27;
	} else if (leaf == 7 && subleaf == 0) {
		regs[2] &= ~(1U << 4);
		if (guest_cr4 & (1ULL << 22))
			regs[2] |= 1U << 4;
	}
}

uint32_t dv_reinject(uint32_t v)
{
	if (!(v & DV_INTR_VALID))
		return 0;
	return v & (DV_INTR_VALID | DV_INTR_TYPE | DV_INTR_HAS_ERROR | DV_INTR_VECTOR);
}
