/* Unit test of the VT-x backend's pure logic (kmod/vmx_logic.c), run in user space by
 * `make -C kmod test`: no VT-x hardware here (the fleet's KVM is paravirtual and QEMU's TCG has
 * no VMX), so what can be checked without it is checked here. Prints one line per check and
 * "N passed, N failed" last; exits non-zero when a check failed.
 *
 * The capability MSR values are those of real CPUs as recorded in VirtualBox's CPU database
 * (src/VBox/VMM/VMMR3/cpus/Intel_Core_i7_5600U.h, a Broadwell, and Intel_Core_i7_2635QM.h, a
 * Sandy Bridge: the MSR dumps of those machines). Variants derived from them (a bit cleared to
 * model a CPU without EPT, say) are marked as such. Bit meanings are the Intel SDM's (vol. 3,
 * appendix A for the capability MSRs, appendix B for the VMCS field encodings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../vmx_logic.h"

static int passed, failed;

static void check(const char *name, int ok)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	if (ok)
		passed++;
	else
		failed++;
}

/* Intel Core i7-5600U (Broadwell), VirtualBox's Intel_Core_i7_5600U.h. */
static const struct dv_caps broadwell = {
	.basic = 0xda040000000012ULL, .misc = 0x300481e5,
	.pin = 0x7f00000016ULL, .proc = 0xfff9fffe0401e172ULL,
	.exit = 0x7fffff00036dffULL, .entry = 0xffff000011ffULL,
	.proc2 = 0x57cff00000000ULL, .ept_vpid = 0xf0106334141ULL,
	.true_pin = 0x7f00000016ULL, .true_proc = 0xfff9fffe04006172ULL,
	.true_exit = 0x7fffff00036dfbULL, .true_entry = 0xffff000011fbULL,
	.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x3767ff,
};

/* Intel Core i7-2635QM (Sandy Bridge), VirtualBox's Intel_Core_i7_2635QM.h. */
static const struct dv_caps sandybridge = {
	.basic = 0xda040000000010ULL, .misc = 0x100401e5,
	.pin = 0x7f00000016ULL, .proc = 0xfff9fffe0401e172ULL,
	.exit = 0x7fffff00036dffULL, .entry = 0xffff000011ffULL,
	.proc2 = 0xff00000000ULL, .ept_vpid = 0xf0106114141ULL,
	.true_pin = 0x7f00000016ULL, .true_proc = 0xfff9fffe04006172ULL,
	.true_exit = 0x7fffff00036dfbULL, .true_entry = 0xffff000011fbULL,
	.cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x627ff,
};

/* The SDM's rule for one control word (A.3-A.5): every allowed-0 bit set, no bit outside
 * allowed-1, and the bits the module needs present. */
static int word_ok(uint32_t v, uint64_t cap, uint32_t needed)
{
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	return (v & must) == must && !(v & ~may) && (v & needed) == needed;
}

static void check_cpu(const char *cpu, const struct dv_caps *c)
{
	struct dv_config cfg;
	char why[160] = "", name[200];
	int rc = dv_configure(c, &cfg, why, sizeof(why));

#define CHECK(what, cond) do { snprintf(name, sizeof(name), "%s: %s", cpu, what); check(name, cond); } while (0)
	CHECK("configures (no refusal)", rc == 0);
	if (rc) {
		printf("  reason: %s\n", why);
		return;
	}
	CHECK("revision id is IA32_VMX_BASIC bits 30:0", cfg.revision == (c->basic & 0x7fffffff));
	CHECK("VMCS size 1024 from bits 44:32", cfg.vmcs_size == 1024);
	CHECK("pin-based: TRUE MSR rules, external interrupts and NMIs exit",
	      word_ok(cfg.pin, c->true_pin, DV_PIN_BASED_EXT_INTR_MASK | DV_PIN_BASED_NMI_EXITING));
	CHECK("pin-based is 0x1f (defaults 0x16 + bits 0 and 3)", cfg.pin == 0x1f);
	CHECK("primary: TRUE MSR rules; HLT, unconditional I/O, MWAIT, MONITOR exit; secondary on",
	      word_ok(cfg.proc, c->true_proc,
		      DV_CPU_BASED_HLT_EXITING | DV_CPU_BASED_UNCOND_IO_EXITING |
			      DV_CPU_BASED_MWAIT_EXITING | DV_CPU_BASED_MONITOR_EXITING |
			      DV_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
	CHECK("primary: CR8 loads and stores exit (no TPR shadow: the guest would set the host's TPR)",
	      (cfg.proc & DV_CPU_BASED_CR8_LOAD_EXITING) && (cfg.proc & DV_CPU_BASED_CR8_STORE_EXITING));
	CHECK("primary: MSR bitmap used (all-ones: every MSR access exits)",
	      cfg.proc & DV_CPU_BASED_USE_MSR_BITMAPS);
	CHECK("primary: no CR3-load/store exiting, no I/O bitmaps (the TRUE MSR allows 0)",
	      !(cfg.proc & (DV_CPU_BASED_CR3_LOAD_EXITING | DV_CPU_BASED_CR3_STORE_EXITING |
			    DV_CPU_BASED_USE_IO_BITMAPS)));
	CHECK("secondary: EPT, within IA32_VMX_PROCBASED_CTLS2",
	      word_ok(cfg.proc2, c->proc2, DV_SECONDARY_EXEC_ENABLE_EPT));
	CHECK("secondary: VPID on, unrestricted guest off",
	      (cfg.proc2 & DV_SECONDARY_EXEC_ENABLE_VPID) && cfg.vpid &&
		      !(cfg.proc2 & DV_SECONDARY_EXEC_UNRESTRICTED_GUEST));
	CHECK("secondary: RDTSCP on, INVPCID on exactly when the CPU has it (no #UD where SVM runs them)",
	      (cfg.proc2 & DV_SECONDARY_EXEC_ENABLE_RDTSCP) &&
		      !(cfg.proc2 & DV_SECONDARY_EXEC_ENABLE_INVPCID) ==
			      !((c->proc2 >> 32) & DV_SECONDARY_EXEC_ENABLE_INVPCID));
	CHECK("exit: 64-bit host, save/load EFER and PAT, TRUE MSR rules",
	      word_ok(cfg.exit, c->true_exit,
		      DV_VM_EXIT_HOST_ADDR_SPACE_SIZE | DV_VM_EXIT_SAVE_IA32_PAT |
			      DV_VM_EXIT_LOAD_IA32_PAT | DV_VM_EXIT_SAVE_IA32_EFER |
			      DV_VM_EXIT_LOAD_IA32_EFER));
	CHECK("exit: interrupts not acknowledged (they stay pending for the host)",
	      !(cfg.exit & DV_VM_EXIT_ACK_INTR_ON_EXIT));
	CHECK("entry: load EFER and PAT, TRUE MSR rules",
	      word_ok(cfg.entry | DV_VM_ENTRY_IA32E_MODE, c->true_entry,
		      DV_VM_ENTRY_LOAD_IA32_PAT | DV_VM_ENTRY_LOAD_IA32_EFER));
	CHECK("entry: IA-32e mode left to the guest's EFER.LMA", !(cfg.entry & DV_VM_ENTRY_IA32E_MODE));
	CHECK("INVEPT single-context, INVVPID single-context",
	      cfg.invept_type == DV_INVEPT_SINGLE && cfg.invvpid_type == DV_INVVPID_SINGLE);
	CHECK("CR0 mask owns PE, NE, PG and the reserved upper half",
	      cfg.cr0_mask == 0xffffffff80000021ULL);
	CHECK("CR4 mask owns VMXE and every bit the CPU cannot set",
	      (cfg.cr4_mask & 0x2000) && (cfg.cr4_mask & ~c->cr4_fixed1) == ~c->cr4_fixed1 &&
		      !(cfg.cr4_mask & 0x6a0));
#undef CHECK
}

static void check_refusal(const char *what, const struct dv_caps *c, const char *expect)
{
	struct dv_config cfg;
	char why[160] = "", name[300];
	int rc = dv_configure(c, &cfg, why, sizeof(why));

	snprintf(name, sizeof(name), "refused: %s (\"%s\")", what, why);
	check(name, rc == -1 && strstr(why, expect) != NULL);
}

static void check_refusals(void)
{
	struct dv_caps c;

	c = broadwell;
	c.basic &= ~DV_BASIC_TRUE_CTLS; /* the plain MSR forces CR3-load/store exiting (bit 15) */
	check_refusal("Broadwell read without its TRUE MSRs", &c, "primary processor-based control bit 15");
	c = broadwell;
	c.proc2 &= ~((uint64_t)DV_SECONDARY_EXEC_ENABLE_EPT << 32); /* derived: no EPT */
	check_refusal("a CPU without EPT (Broadwell, EPT's allowed-1 cleared)", &c,
		      "lacks the required secondary processor-based control bit 1");
	c = broadwell;
	c.true_proc &= ~((uint64_t)DV_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS << 32);
	check_refusal("a CPU without secondary controls", &c, "primary processor-based control bit 31");
	c = broadwell;
	c.true_pin &= ~((uint64_t)DV_PIN_BASED_NMI_EXITING << 32);
	check_refusal("a CPU that cannot exit on NMIs", &c, "pin-based control bit 3");
	c = broadwell;
	c.true_exit |= DV_VM_EXIT_ACK_INTR_ON_EXIT; /* derived: forced to 1 */
	check_refusal("a CPU forcing acknowledge-interrupt-on-exit", &c,
		      "forces the unsupported VM-exit control bit 15");
	c = broadwell;
	c.true_entry &= ~((uint64_t)DV_VM_ENTRY_LOAD_IA32_EFER << 32);
	check_refusal("a CPU that cannot load EFER on entry", &c, "VM-entry control bit 15");
	c = broadwell;
	c.ept_vpid &= ~DV_EPT_CAP_INVEPT;
	check_refusal("EPT without INVEPT", &c, "INVEPT");
	c = broadwell;
	c.ept_vpid &= ~DV_EPT_CAP_WB;
	check_refusal("EPT without write-back tables", &c, "write-back");
	c = broadwell;
	c.basic = (c.basic & ~(0xfULL << 50)) | (0ULL << 50); /* uncacheable VMCS */
	check_refusal("a VMCS memory type other than write-back", &c, "memory type");
}

static void check_vpid_fallbacks(void)
{
	struct dv_config cfg;
	struct dv_caps c = broadwell;
	char why[160];

	c.ept_vpid &= ~DV_VPID_CAP_INVVPID;
	check("VPID without INVVPID: VPID off, the VM still configures",
	      dv_configure(&c, &cfg, why, sizeof(why)) == 0 && !cfg.vpid &&
		      !(cfg.proc2 & DV_SECONDARY_EXEC_ENABLE_VPID));
	c = broadwell;
	c.ept_vpid &= ~(DV_EPT_CAP_INVEPT_SINGLE | DV_VPID_CAP_INVVPID_SINGLE);
	check("no single-context flushes: all-context INVEPT and INVVPID",
	      dv_configure(&c, &cfg, why, sizeof(why)) == 0 && cfg.invept_type == DV_INVEPT_ALL &&
		      cfg.invvpid_type == DV_INVVPID_ALL && cfg.vpid);
	c = broadwell;
	c.proc2 &= ~((uint64_t)DV_SECONDARY_EXEC_ENABLE_VPID << 32);
	check("a CPU without VPID: VPID off",
	      dv_configure(&c, &cfg, why, sizeof(why)) == 0 && !cfg.vpid && !cfg.invvpid_type);
}

static void check_adjust(void)
{
	struct dv_adjust a = dv_adjust_ctl(0x0000ff1f00000003ULL, 0x4, 0x10 | 0x100000, 0x2);

	check("adjust: allowed-0 bits forced on", (a.value & 3) == 3);
	check("adjust: optional bit outside allowed-1 dropped", !(a.value & 0x100000));
	check("adjust: required and allowed optional kept", (a.value & 0x14) == 0x14);
	check("adjust: forbidden bit the CPU forces is reported", a.refused == 0x2);
	a = dv_adjust_ctl(0x0000000f00000000ULL, 0x30, 0, 0);
	check("adjust: required bit outside allowed-1 is reported missing", a.missing == 0x30);
}

static void check_cr(void)
{
	const struct dv_caps *c = &broadwell;
	uint64_t mask0 = dv_cr_mask(c->cr0_fixed0, c->cr0_fixed1);
	uint64_t mask4 = dv_cr_mask(c->cr4_fixed0, c->cr4_fixed1);
	uint64_t cr0 = 0x80050013; /* PG AM WP ET MP PE, without NE */
	uint64_t g0 = dv_cr_guest(cr0, c->cr0_fixed0, c->cr0_fixed1);
	uint64_t cr4 = 0x6a0;      /* PAE PGE OSFXSR OSXMMEXCPT */
	uint64_t g4 = dv_cr_guest(cr4, c->cr4_fixed0, c->cr4_fixed1);

	check("CR0: NE forced on in the guest", g0 == (cr0 | 0x20));
	check("CR0: the guest still reads its own value", dv_cr_visible(g0, cr0, mask0) == cr0);
	check("CR0: a bit the guest owns shows the guest's value",
	      dv_cr_visible(g0 | 0x40000, cr0, mask0) == (cr0 | 0x40000));
	check("CR4: VMXE forced on in the guest, hidden from it",
	      g4 == (cr4 | 0x2000) && dv_cr_visible(g4, cr4, mask4) == cr4);
	check("CR4: LA57 refused on a CPU without it (Broadwell)",
	      !dv_cr_allowed(cr4 | 0x1000, c->cr4_fixed1) && dv_cr_allowed(cr4, c->cr4_fixed1));
	check("CR0: a reserved upper bit refused", !dv_cr_allowed(cr0 | (1ULL << 32), c->cr0_fixed1));
}

static struct kvm_segment seg(uint64_t base, uint32_t limit, uint16_t sel, uint8_t type, uint8_t s,
			      uint8_t dpl, uint8_t l, uint8_t db, uint8_t g)
{
	struct kvm_segment k;

	memset(&k, 0, sizeof(k));
	k.base = base;
	k.limit = limit;
	k.selector = sel;
	k.type = type;
	k.s = s;
	k.dpl = dpl;
	k.present = 1;
	k.l = l;
	k.db = db;
	k.g = g;
	return k;
}

static int seg_same(const struct kvm_segment *a, const struct kvm_segment *b)
{
	return a->type == b->type && a->s == b->s && a->dpl == b->dpl && a->present == b->present &&
	       a->avl == b->avl && a->l == b->l && a->db == b->db && a->g == b->g &&
	       a->unusable == b->unusable;
}

static void check_segments(void)
{
	struct {
		const char *name;
		struct kvm_segment k;
		uint32_t ar; /* computed by hand from SDM table 25-2 */
	} t[] = {
		{ "64-bit kernel code", seg(0, 0xffffffff, 0x08, 11, 1, 0, 1, 0, 1), 0xa09b },
		{ "kernel data", seg(0, 0xffffffff, 0x10, 3, 1, 0, 0, 1, 1), 0xc093 },
		{ "64-bit user code", seg(0, 0xffffffff, 0x33, 11, 1, 3, 1, 0, 1), 0xa0fb },
		{ "user data", seg(0, 0xffffffff, 0x2b, 3, 1, 3, 0, 1, 1), 0xc0f3 },
		{ "busy 64-bit TSS", seg(0x1000, 0x67, 0x40, 11, 0, 0, 0, 0, 0), 0x008b },
	};
	struct kvm_segment k, back;
	char name[120];
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(name, sizeof(name), "segment %s -> access rights 0x%x", t[i].name, t[i].ar);
		check(name, dv_seg_ar(&t[i].k) == t[i].ar);
		memset(&back, 0, sizeof(back));
		dv_seg_from_ar(&back, t[i].ar);
		snprintf(name, sizeof(name), "segment %s: access rights -> kvm_segment round trip", t[i].name);
		check(name, seg_same(&back, &t[i].k));
	}
	k = t[1].k;
	k.unusable = 1;
	check("unusable segment -> bit 16 only", dv_seg_ar(&k) == 0x10000);
	k = t[1].k;
	k.present = 0;
	check("not-present segment -> unusable", dv_seg_ar(&k) == 0x10000);
	memset(&back, 0xff, sizeof(back));
	dv_seg_from_ar(&back, 0x1c093);
	check("unusable access rights: other (undefined) bits ignored",
	      back.unusable == 1 && back.present == 0 && back.type == 0 && back.s == 0);
	check("segment field table: ES..TR at the SDM's indexes",
	      dv_seg_fields[DV_ES].selector == 0x800 && dv_seg_fields[DV_TR].selector == 0x80e &&
		      dv_seg_fields[DV_CS].ar == 0x4816 && dv_seg_fields[DV_LDTR].base == 0x6812 &&
		      dv_seg_fields[DV_GS].limit == 0x480a);
}

/* libdune's first guest state (libdune/src/vm.c initial_sregs and its CR0/CR4/EFER values,
 * selectors from libdune/src/vm.h): a ring-3 64-bit program, busy TSS, no LDT. */
static struct kvm_sregs libdune_sregs(void)
{
	struct kvm_sregs k;

	memset(&k, 0, sizeof(k));
	k.cs = seg(0, 0xffffffff, 0x23, 11, 1, 3, 1, 0, 1);
	k.ss = seg(0, 0xffffffff, 0x1b, 3, 1, 3, 0, 1, 1);
	k.ds = k.es = k.fs = k.gs = k.ss;
	k.fs.selector = k.gs.selector = 0;
	k.fs.base = 0x7f0000001000ULL;
	k.tr = seg(0xffffff8000000000ULL + 0x1000 + 0x100, 0x67, 0x28, 11, 0, 0, 0, 0, 0);
	k.ldt = seg(0, 0xffff, 0, 2, 0, 0, 0, 0, 0);
	k.ldt.unusable = 1;
	k.gdt.base = 0xffffff8000000000ULL + 0x1000;
	k.gdt.limit = 7 * 8 - 1;
	k.idt.base = 0xffffff8000000000ULL;
	k.idt.limit = 256 * 16 - 1;
	k.cr0 = 0x80050033;
	k.cr3 = 0x12345000;
	k.cr4 = (1 << 5) | (1 << 9) | (1 << 10);
	k.efer = (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11);
	return k;
}

static void check_guest_case(const char *what, struct kvm_sregs k, uint64_t rflags, const char *expect)
{
	char why[160] = "", name[300];
	int rc = dv_check_guest(&k, rflags, &broadwell, why, sizeof(why));

	snprintf(name, sizeof(name), "guest state refused: %s (\"%s\")", what, why);
	check(name, rc == -1 && strstr(why, expect) != NULL);
}

static void check_guest_state(void)
{
	struct kvm_sregs k = libdune_sregs();
	char why[160] = "";
	int rc = dv_check_guest(&k, 0x202, &broadwell, why, sizeof(why));

	if (rc)
		printf("  reason: %s\n", why);
	check("libdune's first guest state passes VM entry's guest-state checks (Broadwell)", rc == 0);
	k = libdune_sregs();
	k.cs.type = 10;
	check_guest_case("CS not accessed", k, 0x202, "CS is not");
	k = libdune_sregs();
	k.tr.type = 9;
	check_guest_case("TR an available TSS", k, 0x202, "TR is not");
	k = libdune_sregs();
	k.ss.dpl = 0;
	check_guest_case("SS.DPL 0 under ring-3 code", k, 0x202, "DPL");
	k = libdune_sregs();
	k.ds.g = 0;
	check_guest_case("a 4 GiB limit with byte granularity", k, 0x202, "granularity");
	k = libdune_sregs();
	k.efer &= ~(1ULL << 10);
	check_guest_case("paging with LME but not LMA", k, 0x202, "LME");
	k = libdune_sregs();
	k.cr4 &= ~(1ULL << 5);
	check_guest_case("a 64-bit guest without PAE", k, 0x202, "PAE");
	k = libdune_sregs();
	k.fs.base = 0x0000800000000000ULL;
	check_guest_case("a non-canonical FS base", k, 0x202, "FS or GS base");
	check_guest_case("RFLAGS bit 1 clear", libdune_sregs(), 0x200, "RFLAGS");
	k = libdune_sregs();
	k.cs.db = 1;
	check_guest_case("64-bit code with D set", k, 0x202, "L and D/B");
}

static void check_ept(void)
{
	uint64_t leaf = dv_ept_leaf(0x123456fffULL, true), ro = dv_ept_leaf(0x123456000ULL, false);
	uint64_t eptp = dv_eptp(0x7654321000ULL, 4);

	check("EPT leaf: address page-aligned, R W X, write-back (bits 5:3 = 6), guest PAT honoured",
	      leaf == 0x123456037ULL && !(leaf & (1 << 6)));
	check("EPT leaf read-only: no W", ro == 0x123456035ULL && !dv_ept_writable(ro) &&
						  dv_ept_writable(leaf));
	check("EPT leaf leaves bit 11 (DUNE_PTE_NOREF, ignored by the walk) clear", !(leaf & (1 << 11)));
	check("EPT table entry: R W X, no memory type", dv_ept_table(0x5000) == 0x5007);
	check("EPT present: any of R/W/X; bit 11 alone is not",
	      dv_ept_present(ro) && !dv_ept_present(0) && !dv_ept_present(1ULL << 11));
	check("EPTP: write-back (2:0 = 6), 4-level walk (5:3 = 3), no A/D, reserved 11:7 clear",
	      (eptp & 7) == 6 && ((eptp >> 3) & 7) == 3 && !(eptp & 0xfc0) &&
		      (eptp & DV_EPT_ADDR) == 0x7654321000ULL);
	check("PAT: the power-on value is valid, a reserved type (2) is not",
	      dv_pat_valid(0x0007040600070406ULL) && !dv_pat_valid(0x0007040600070402ULL));
}

static void check_decode(void)
{
	struct dv_exit_raw r;
	struct dv_exit x;

	memset(&r, 0, sizeof(r));
	r.reason = DV_EXIT_EPT_VIOLATION;
	r.qual = 0x184; /* fetch, GPA valid */
	r.gpa = 0x1000;
	dv_decode(&r, &x);
	check("EPT violation (fetch) -> NPF at the GPA, fetch",
	      x.kind == DV_X_NPF && x.gpa == 0x1000 && x.fetch && !x.write && x.code == 48);
	r.qual = 0x182;
	r.gpa = 0x7f0000001234ULL;
	dv_decode(&r, &x);
	check("EPT violation (write) -> NPF, write", x.kind == DV_X_NPF && x.write && !x.fetch &&
							     x.gpa == 0x7f0000001234ULL);
	memset(&r, 0, sizeof(r));
	r.reason = DV_EXIT_IO_INSTRUCTION;
	r.qual = (0x3f8ULL << 16) | 8; /* OUT to 0x3f8, byte */
	dv_decode(&r, &x);
	check("I/O -> IO with the port from qualification bits 31:16", x.kind == DV_X_IO && x.port == 0x3f8);
	memset(&r, 0, sizeof(r));
	r.reason = DV_EXIT_EXTERNAL_INTERRUPT;
	dv_decode(&r, &x);
	check("external interrupt -> INTR (handled in the module)", x.kind == DV_X_INTR);
	r.reason = DV_EXIT_CPUID;
	dv_decode(&r, &x);
	check("CPUID -> CPUID (answered in the module: VT-x always exits on it)", x.kind == DV_X_CPUID);
	r.reason = DV_EXIT_VMCALL;
	dv_decode(&r, &x);
	check("VMCALL (exits at any CPL) -> #UD for the guest, as VMMCALL on SVM",
	      x.kind == DV_X_UD && DV_EVENT_UD == 0x80000306U);
	r.reason = DV_EXIT_OTHER_SMI;
	dv_decode(&r, &x);
	check("SMI -> INTR (as on SVM)", x.kind == DV_X_INTR);
	r.reason = DV_EXIT_EXCEPTION_NMI;
	r.intr_info = DV_INTR_VALID | DV_INTR_TYPE_NMI | 2;
	dv_decode(&r, &x);
	check("NMI -> NMI (the module runs the host's handler)", x.kind == DV_X_NMI);
	r.intr_info = DV_INTR_VALID | 0x300 | 18; /* #MC, hardware exception */
	r.qual = 0;
	dv_decode(&r, &x);
	check("#MC -> ERROR with the vector in exit_info2", x.kind == DV_X_ERROR && (x.info2 & 0xff) == 18);
	r.intr_info = DV_INTR_VALID | 0x300 | DV_INTR_HAS_ERROR | 14;
	r.intr_error = 6;
	r.qual = 0xdeadb000; /* CR2 */
	dv_decode(&r, &x);
	check("exception -> ERROR: vector and error code in exit_info2, CR2 (qualification) in exit_info1",
	      x.kind == DV_X_ERROR && (x.info2 & 0xff) == 14 && (x.info2 >> 32) == 6 &&
		      x.info1 == 0xdeadb000);
	memset(&r, 0, sizeof(r));
	r.reason = DV_EXIT_TRIPLE_FAULT;
	dv_decode(&r, &x);
	check("triple fault -> SHUTDOWN", x.kind == DV_X_SHUTDOWN);
	r.reason = DV_EXIT_EPT_MISCONFIG;
	r.gpa = 0x5000;
	dv_decode(&r, &x);
	check("EPT misconfiguration -> ERROR with the GPA", x.kind == DV_X_ERROR && x.info2 == 0x5000 &&
								    x.code == 49);
	r.reason = DV_EXIT_FAILED_ENTRY | DV_EXIT_INVALID_STATE;
	r.qual = 2;
	dv_decode(&r, &x);
	check("failed entry (invalid guest state) -> ERROR, raw reason with bit 31, qualification",
	      x.kind == DV_X_ERROR && x.code == 0x80000021ULL && x.info1 == 2);
	r.reason = DV_EXIT_HLT;
	dv_decode(&r, &x);
	check("HLT (CPL 0 only: CPL 3 faults first) -> ERROR", x.kind == DV_X_ERROR && x.code == 12);
	memset(&r, 0, sizeof(r));
	r.vmfail = true;
	r.insn_error = 7; /* VM entry with invalid control fields */
	dv_decode(&r, &x);
	check("VMfail -> ERROR, code 0xffffffff, VM-instruction error in exit_info1",
	      x.kind == DV_X_ERROR && x.code == DV_CODE_VMFAIL && x.info1 == 7);
	check("re-injection: valid #PF with error code kept, NMI-unblocking bit dropped",
	      dv_reinject(0x80001b0e) == 0x80000b0e && dv_reinject(0x80000b0e) == 0x80000b0e);
	check("re-injection: nothing when not valid", dv_reinject(0x00000b0e) == 0);
}

/* The SDM's encoding rules (B.1): bit 0 access type (full: 0), bits 9:1 index, 11:10 type,
 * bit 12 reserved (0), 14:13 width, 31:15 reserved (0). */
static int encoding_ok(uint32_t enc, int width, int type)
{
	return (int)((enc >> 13) & 3) == width && (int)((enc >> 10) & 3) == type &&
	       !(enc & (1U << 12)) && !(enc >> 15) && !(enc & 1);
}

/* The type implied by the name, independently of the encoding. */
static int type_of_name(const char *n)
{
	if (!strncmp(n, "GUEST_", 6) && strcmp(n, "GUEST_PHYSICAL_ADDRESS"))
		return DV_TGUEST;
	if (!strncmp(n, "VMCS_LINK", 9))
		return DV_TGUEST;
	if (!strncmp(n, "HOST_", 5))
		return DV_THOST;
	if (!strcmp(n, "GUEST_PHYSICAL_ADDRESS") || !strcmp(n, "EXIT_QUALIFICATION") ||
	    !strcmp(n, "VM_INSTRUCTION_ERROR") || !strncmp(n, "IDT_VECTORING", 13) ||
	    (!strncmp(n, "VM_EXIT_", 8) && strncmp(n, "VM_EXIT_MSR", 11) &&
	     strcmp(n, "VM_EXIT_CONTROLS")))
		return DV_TEXIT;
	return DV_TCTL;
}

static void check_encodings(void)
{
#define DV_FIELD_ROW(name, enc, width, type) { #name, enc, width, type },
	static const struct {
		const char *name;
		uint32_t enc;
		int width, type;
	} f[] = { DV_FIELDS(DV_FIELD_ROW) };
	unsigned int i, j, n = sizeof(f) / sizeof(f[0]), bad = 0, dup = 0, named = 0;

	for (i = 0; i < n; i++) {
		if (!encoding_ok(f[i].enc, f[i].width, f[i].type)) {
			printf("  %s 0x%04x: width/type bits disagree with its declared %d/%d\n",
			       f[i].name, f[i].enc, f[i].width, f[i].type);
			bad++;
		}
		if (type_of_name(f[i].name) != f[i].type) {
			printf("  %s: declared type %d, its name says %d\n", f[i].name, f[i].type,
			       type_of_name(f[i].name));
			named++;
		}
		for (j = i + 1; j < n; j++)
			dup += f[i].enc == f[j].enc;
	}
	printf("  %u VMCS fields\n", n);
	check("every VMCS field encoding has the width and type bits of its declared width and type", !bad);
	check("every field's declared type matches its name (GUEST_/HOST_/exit information/control)", !named);
	check("no two fields share an encoding", !dup);
	check("the encoding check fails on a typo (GUEST_RIP as a 32-bit field 0x481e)",
	      !encoding_ok(0x481e, DV_WNAT, DV_TGUEST) && encoding_ok(0x681e, DV_WNAT, DV_TGUEST));
	check("the encoding check fails on a high-half access encoding (0x2801)",
	      !encoding_ok(0x2801, DV_W64, DV_TGUEST));
}

static void check_cpuid(void)
{
	/* Broadwell's leaf 1 as a Linux host reads it (OSXSAVE set: the host's CR4 has it). */
	uint32_t host_ecx = 0x7ffafbff, r[4] = { 0x000306d4, 0x00100800, host_ecx, 0xbfebfbff };
	uint32_t r7[4] = { 0, 0x021c27ab, 1U << 4, 0 };
	uint32_t r0[4] = { 0x14, 0x756e6547, 0x6c65746e, 0x49656e69 };

	dv_cpuid_fixup(1, 0, 0x6a0, r);
	check("CPUID 1: OSXSAVE cleared for a guest without CR4.OSXSAVE (glibc would run XGETBV: #UD)",
	      (host_ecx & (1U << 27)) && r[2] == (host_ecx & ~(1U << 27)) && r[3] == 0xbfebfbff);
	dv_cpuid_fixup(1, 0, 0x6a0 | (1ULL << 18), r);
	check("CPUID 1: OSXSAVE set for a guest with CR4.OSXSAVE", r[2] & (1U << 27));
	dv_cpuid_fixup(7, 0, 0x6a0, r7);
	check("CPUID 7.0: OSPKE follows the guest's CR4.PKE", !(r7[2] & (1U << 4)) && r7[1] == 0x021c27ab);
	dv_cpuid_fixup(0, 0, 0x6a0, r0);
	check("CPUID 0: untouched (vendor string)", r0[1] == 0x756e6547 && r0[0] == 0x14);
}

int main(void)
{
	check_cpu("Broadwell i7-5600U", &broadwell);
	check_cpu("Sandy Bridge i7-2635QM", &sandybridge);
	check_refusals();
	check_vpid_fallbacks();
	check_adjust();
	check_cr();
	check_segments();
	check_guest_state();
	check_ept();
	check_decode();
	check_cpuid();
	check_encodings();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
