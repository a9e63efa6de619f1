/* SPDX-License-Identifier: GPL-2.0 */
/* The pure logic of the VT-x backend (vmx.c), compiled both into dune.ko and into the user-space
 * unit test kmod/tests/vmx_logic_test.c: VMCS field encodings, control computation from the
 * capability MSRs, CR0/CR4 fixed bits, kvm_segment <-> VMX access rights, EPT entries and
 * pointer, exit decoding. No kernel header: only <linux/types.h> in the kernel (or the C
 * library's integer types in user space) and the uapi <linux/kvm.h> for struct kvm_segment.
 * Bit positions and encodings are the Intel SDM's (vol. 3, appendices A and B; chapter 25 for
 * the controls, 28 for EPT); vmx.c checks every one against the kernel's asm/vmx.h at compile
 * time and the unit test checks every field encoding against the SDM's encoding rules. */
#ifndef DUNE_VMX_LOGIC_H
#define DUNE_VMX_LOGIC_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif
#include <linux/kvm.h>

/* Capability MSRs (SDM appendix A). */
#define DV_MSR_VMX_BASIC 0x480
#define DV_MSR_VMX_PINBASED_CTLS 0x481
#define DV_MSR_VMX_PROCBASED_CTLS 0x482
#define DV_MSR_VMX_EXIT_CTLS 0x483
#define DV_MSR_VMX_ENTRY_CTLS 0x484
#define DV_MSR_VMX_MISC 0x485
#define DV_MSR_VMX_CR0_FIXED0 0x486
#define DV_MSR_VMX_CR0_FIXED1 0x487
#define DV_MSR_VMX_CR4_FIXED0 0x488
#define DV_MSR_VMX_CR4_FIXED1 0x489
#define DV_MSR_VMX_PROCBASED_CTLS2 0x48b
#define DV_MSR_VMX_EPT_VPID_CAP 0x48c
#define DV_MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define DV_MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define DV_MSR_VMX_TRUE_EXIT_CTLS 0x48f
#define DV_MSR_VMX_TRUE_ENTRY_CTLS 0x490

/* IA32_VMX_BASIC (A.1). */
#define DV_BASIC_REVISION_MASK 0x7fffffffULL
#define DV_BASIC_SIZE(b) (((b) >> 32) & 0x1fff)
#define DV_BASIC_32BIT_ADDR (1ULL << 48)
#define DV_BASIC_MEMTYPE(b) (((b) >> 50) & 0xf)
#define DV_BASIC_TRUE_CTLS (1ULL << 55)

/* IA32_VMX_EPT_VPID_CAP (A.10), as bit positions of the whole 64-bit MSR. */
#define DV_EPT_CAP_WALK4 (1ULL << 6)
#define DV_EPT_CAP_WB (1ULL << 14)
#define DV_EPT_CAP_INVEPT (1ULL << 20)
#define DV_EPT_CAP_INVEPT_SINGLE (1ULL << 25)
#define DV_EPT_CAP_INVEPT_ALL (1ULL << 26)
#define DV_VPID_CAP_INVVPID (1ULL << 32)
#define DV_VPID_CAP_INVVPID_SINGLE (1ULL << 41)
#define DV_VPID_CAP_INVVPID_ALL (1ULL << 42)

/* INVEPT / INVVPID types (30.3). */
#define DV_INVEPT_SINGLE 1
#define DV_INVEPT_ALL 2
#define DV_INVVPID_SINGLE 1
#define DV_INVVPID_ALL 2

/* Controls (25.6 and 25.7, 25.8): name in the kernel's asm/vmx.h, bit. */
#define DV_CONTROLS(X)                                  \
	X(PIN_BASED_EXT_INTR_MASK, 1U << 0)             \
	X(PIN_BASED_NMI_EXITING, 1U << 3)               \
	X(CPU_BASED_HLT_EXITING, 1U << 7)               \
	X(CPU_BASED_MWAIT_EXITING, 1U << 10)            \
	X(CPU_BASED_CR3_LOAD_EXITING, 1U << 15)         \
	X(CPU_BASED_CR3_STORE_EXITING, 1U << 16)        \
	X(CPU_BASED_CR8_LOAD_EXITING, 1U << 19)         \
	X(CPU_BASED_CR8_STORE_EXITING, 1U << 20)        \
	X(CPU_BASED_UNCOND_IO_EXITING, 1U << 24)        \
	X(CPU_BASED_USE_IO_BITMAPS, 1U << 25)           \
	X(CPU_BASED_USE_MSR_BITMAPS, 1U << 28)          \
	X(CPU_BASED_MONITOR_EXITING, 1U << 29)          \
	X(CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 1U << 31) \
	X(SECONDARY_EXEC_ENABLE_EPT, 1U << 1)           \
	X(SECONDARY_EXEC_ENABLE_RDTSCP, 1U << 3)        \
	X(SECONDARY_EXEC_ENABLE_VPID, 1U << 5)          \
	X(SECONDARY_EXEC_UNRESTRICTED_GUEST, 1U << 7)   \
	X(SECONDARY_EXEC_ENABLE_INVPCID, 1U << 12)      \
	X(VM_EXIT_SAVE_DEBUG_CONTROLS, 1U << 2)         \
	X(VM_EXIT_HOST_ADDR_SPACE_SIZE, 1U << 9)        \
	X(VM_EXIT_ACK_INTR_ON_EXIT, 1U << 15)           \
	X(VM_EXIT_SAVE_IA32_PAT, 1U << 18)              \
	X(VM_EXIT_LOAD_IA32_PAT, 1U << 19)              \
	X(VM_EXIT_SAVE_IA32_EFER, 1U << 20)             \
	X(VM_EXIT_LOAD_IA32_EFER, 1U << 21)             \
	X(VM_ENTRY_LOAD_DEBUG_CONTROLS, 1U << 2)        \
	X(VM_ENTRY_IA32E_MODE, 1U << 9)                 \
	X(VM_ENTRY_LOAD_IA32_PAT, 1U << 14)             \
	X(VM_ENTRY_LOAD_IA32_EFER, 1U << 15)

#define DV_CONTROL_ENUM(name, bit) DV_##name = (uint32_t)(bit),
enum { DV_CONTROLS(DV_CONTROL_ENUM) };

/* VMCS fields (appendix B): the kernel's name, encoding, width, type. An encoding is
 * bit 0 access type (0 full), 9:1 index, 11:10 type, 12 reserved (0), 14:13 width. */
enum dv_width { DV_W16 = 0, DV_W64 = 1, DV_W32 = 2, DV_WNAT = 3 };
enum dv_type { DV_TCTL = 0, DV_TEXIT = 1, DV_TGUEST = 2, DV_THOST = 3 };

#define DV_FIELDS(X)                                                  \
	X(VIRTUAL_PROCESSOR_ID, 0x0000, DV_W16, DV_TCTL)              \
	X(GUEST_ES_SELECTOR, 0x0800, DV_W16, DV_TGUEST)               \
	X(GUEST_CS_SELECTOR, 0x0802, DV_W16, DV_TGUEST)               \
	X(GUEST_SS_SELECTOR, 0x0804, DV_W16, DV_TGUEST)               \
	X(GUEST_DS_SELECTOR, 0x0806, DV_W16, DV_TGUEST)               \
	X(GUEST_FS_SELECTOR, 0x0808, DV_W16, DV_TGUEST)               \
	X(GUEST_GS_SELECTOR, 0x080a, DV_W16, DV_TGUEST)               \
	X(GUEST_LDTR_SELECTOR, 0x080c, DV_W16, DV_TGUEST)             \
	X(GUEST_TR_SELECTOR, 0x080e, DV_W16, DV_TGUEST)               \
	X(HOST_ES_SELECTOR, 0x0c00, DV_W16, DV_THOST)                 \
	X(HOST_CS_SELECTOR, 0x0c02, DV_W16, DV_THOST)                 \
	X(HOST_SS_SELECTOR, 0x0c04, DV_W16, DV_THOST)                 \
	X(HOST_DS_SELECTOR, 0x0c06, DV_W16, DV_THOST)                 \
	X(HOST_FS_SELECTOR, 0x0c08, DV_W16, DV_THOST)                 \
	X(HOST_GS_SELECTOR, 0x0c0a, DV_W16, DV_THOST)                 \
	X(HOST_TR_SELECTOR, 0x0c0c, DV_W16, DV_THOST)                 \
	X(MSR_BITMAP, 0x2004, DV_W64, DV_TCTL)                        \
	X(VM_EXIT_MSR_STORE_ADDR, 0x2006, DV_W64, DV_TCTL)            \
	X(VM_EXIT_MSR_LOAD_ADDR, 0x2008, DV_W64, DV_TCTL)             \
	X(VM_ENTRY_MSR_LOAD_ADDR, 0x200a, DV_W64, DV_TCTL)            \
	X(TSC_OFFSET, 0x2010, DV_W64, DV_TCTL)                        \
	X(EPT_POINTER, 0x201a, DV_W64, DV_TCTL)                       \
	X(GUEST_PHYSICAL_ADDRESS, 0x2400, DV_W64, DV_TEXIT)           \
	X(VMCS_LINK_POINTER, 0x2800, DV_W64, DV_TGUEST)               \
	X(GUEST_IA32_DEBUGCTL, 0x2802, DV_W64, DV_TGUEST)             \
	X(GUEST_IA32_PAT, 0x2804, DV_W64, DV_TGUEST)                  \
	X(GUEST_IA32_EFER, 0x2806, DV_W64, DV_TGUEST)                 \
	X(HOST_IA32_PAT, 0x2c00, DV_W64, DV_THOST)                    \
	X(HOST_IA32_EFER, 0x2c02, DV_W64, DV_THOST)                   \
	X(PIN_BASED_VM_EXEC_CONTROL, 0x4000, DV_W32, DV_TCTL)         \
	X(CPU_BASED_VM_EXEC_CONTROL, 0x4002, DV_W32, DV_TCTL)         \
	X(EXCEPTION_BITMAP, 0x4004, DV_W32, DV_TCTL)                  \
	X(PAGE_FAULT_ERROR_CODE_MASK, 0x4006, DV_W32, DV_TCTL)        \
	X(PAGE_FAULT_ERROR_CODE_MATCH, 0x4008, DV_W32, DV_TCTL)       \
	X(CR3_TARGET_COUNT, 0x400a, DV_W32, DV_TCTL)                  \
	X(VM_EXIT_CONTROLS, 0x400c, DV_W32, DV_TCTL)                  \
	X(VM_EXIT_MSR_STORE_COUNT, 0x400e, DV_W32, DV_TCTL)           \
	X(VM_EXIT_MSR_LOAD_COUNT, 0x4010, DV_W32, DV_TCTL)            \
	X(VM_ENTRY_CONTROLS, 0x4012, DV_W32, DV_TCTL)                 \
	X(VM_ENTRY_MSR_LOAD_COUNT, 0x4014, DV_W32, DV_TCTL)           \
	X(VM_ENTRY_INTR_INFO_FIELD, 0x4016, DV_W32, DV_TCTL)          \
	X(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x4018, DV_W32, DV_TCTL)     \
	X(VM_ENTRY_INSTRUCTION_LEN, 0x401a, DV_W32, DV_TCTL)          \
	X(SECONDARY_VM_EXEC_CONTROL, 0x401e, DV_W32, DV_TCTL)         \
	X(VM_INSTRUCTION_ERROR, 0x4400, DV_W32, DV_TEXIT)             \
	X(VM_EXIT_REASON, 0x4402, DV_W32, DV_TEXIT)                   \
	X(VM_EXIT_INTR_INFO, 0x4404, DV_W32, DV_TEXIT)                \
	X(VM_EXIT_INTR_ERROR_CODE, 0x4406, DV_W32, DV_TEXIT)          \
	X(IDT_VECTORING_INFO_FIELD, 0x4408, DV_W32, DV_TEXIT)         \
	X(IDT_VECTORING_ERROR_CODE, 0x440a, DV_W32, DV_TEXIT)         \
	X(VM_EXIT_INSTRUCTION_LEN, 0x440c, DV_W32, DV_TEXIT)          \
	X(GUEST_ES_LIMIT, 0x4800, DV_W32, DV_TGUEST)                  \
	X(GUEST_CS_LIMIT, 0x4802, DV_W32, DV_TGUEST)                  \
	X(GUEST_SS_LIMIT, 0x4804, DV_W32, DV_TGUEST)                  \
	X(GUEST_DS_LIMIT, 0x4806, DV_W32, DV_TGUEST)                  \
	X(GUEST_FS_LIMIT, 0x4808, DV_W32, DV_TGUEST)                  \
	X(GUEST_GS_LIMIT, 0x480a, DV_W32, DV_TGUEST)                  \
	X(GUEST_LDTR_LIMIT, 0x480c, DV_W32, DV_TGUEST)                \
	X(GUEST_TR_LIMIT, 0x480e, DV_W32, DV_TGUEST)                  \
	X(GUEST_GDTR_LIMIT, 0x4810, DV_W32, DV_TGUEST)                \
	X(GUEST_IDTR_LIMIT, 0x4812, DV_W32, DV_TGUEST)                \
	X(GUEST_ES_AR_BYTES, 0x4814, DV_W32, DV_TGUEST)               \
	X(GUEST_CS_AR_BYTES, 0x4816, DV_W32, DV_TGUEST)               \
	X(GUEST_SS_AR_BYTES, 0x4818, DV_W32, DV_TGUEST)               \
	X(GUEST_DS_AR_BYTES, 0x481a, DV_W32, DV_TGUEST)               \
	X(GUEST_FS_AR_BYTES, 0x481c, DV_W32, DV_TGUEST)               \
	X(GUEST_GS_AR_BYTES, 0x481e, DV_W32, DV_TGUEST)               \
	X(GUEST_LDTR_AR_BYTES, 0x4820, DV_W32, DV_TGUEST)             \
	X(GUEST_TR_AR_BYTES, 0x4822, DV_W32, DV_TGUEST)               \
	X(GUEST_INTERRUPTIBILITY_INFO, 0x4824, DV_W32, DV_TGUEST)     \
	X(GUEST_ACTIVITY_STATE, 0x4826, DV_W32, DV_TGUEST)            \
	X(GUEST_SYSENTER_CS, 0x482a, DV_W32, DV_TGUEST)               \
	X(HOST_IA32_SYSENTER_CS, 0x4c00, DV_W32, DV_THOST)            \
	X(CR0_GUEST_HOST_MASK, 0x6000, DV_WNAT, DV_TCTL)              \
	X(CR4_GUEST_HOST_MASK, 0x6002, DV_WNAT, DV_TCTL)              \
	X(CR0_READ_SHADOW, 0x6004, DV_WNAT, DV_TCTL)                  \
	X(CR4_READ_SHADOW, 0x6006, DV_WNAT, DV_TCTL)                  \
	X(EXIT_QUALIFICATION, 0x6400, DV_WNAT, DV_TEXIT)              \
	X(GUEST_CR0, 0x6800, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_CR3, 0x6802, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_CR4, 0x6804, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_ES_BASE, 0x6806, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_CS_BASE, 0x6808, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_SS_BASE, 0x680a, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_DS_BASE, 0x680c, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_FS_BASE, 0x680e, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_GS_BASE, 0x6810, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_LDTR_BASE, 0x6812, DV_WNAT, DV_TGUEST)                \
	X(GUEST_TR_BASE, 0x6814, DV_WNAT, DV_TGUEST)                  \
	X(GUEST_GDTR_BASE, 0x6816, DV_WNAT, DV_TGUEST)                \
	X(GUEST_IDTR_BASE, 0x6818, DV_WNAT, DV_TGUEST)                \
	X(GUEST_DR7, 0x681a, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_RSP, 0x681c, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_RIP, 0x681e, DV_WNAT, DV_TGUEST)                      \
	X(GUEST_RFLAGS, 0x6820, DV_WNAT, DV_TGUEST)                   \
	X(GUEST_PENDING_DBG_EXCEPTIONS, 0x6822, DV_WNAT, DV_TGUEST)   \
	X(GUEST_SYSENTER_ESP, 0x6824, DV_WNAT, DV_TGUEST)             \
	X(GUEST_SYSENTER_EIP, 0x6826, DV_WNAT, DV_TGUEST)             \
	X(HOST_CR0, 0x6c00, DV_WNAT, DV_THOST)                        \
	X(HOST_CR3, 0x6c02, DV_WNAT, DV_THOST)                        \
	X(HOST_CR4, 0x6c04, DV_WNAT, DV_THOST)                        \
	X(HOST_FS_BASE, 0x6c06, DV_WNAT, DV_THOST)                    \
	X(HOST_GS_BASE, 0x6c08, DV_WNAT, DV_THOST)                    \
	X(HOST_TR_BASE, 0x6c0a, DV_WNAT, DV_THOST)                    \
	X(HOST_GDTR_BASE, 0x6c0c, DV_WNAT, DV_THOST)                  \
	X(HOST_IDTR_BASE, 0x6c0e, DV_WNAT, DV_THOST)                  \
	X(HOST_IA32_SYSENTER_ESP, 0x6c10, DV_WNAT, DV_THOST)          \
	X(HOST_IA32_SYSENTER_EIP, 0x6c12, DV_WNAT, DV_THOST)          \
	X(HOST_RSP, 0x6c14, DV_WNAT, DV_THOST)                        \
	X(HOST_RIP, 0x6c16, DV_WNAT, DV_THOST)

#define DV_FIELD_ENUM(name, enc, width, type) DV_##name = (enc),
enum { DV_FIELDS(DV_FIELD_ENUM) };

/* A segment's fields: selector, limit, access rights, base. Order ES CS SS DS FS GS LDTR TR. */
enum dv_seg { DV_ES, DV_CS, DV_SS, DV_DS, DV_FS, DV_GS, DV_LDTR, DV_TR, DV_NSEGS };
struct dv_seg_fields {
	uint32_t selector, limit, ar, base;
};
extern const struct dv_seg_fields dv_seg_fields[DV_NSEGS];

/* Basic exit reasons (appendix C) the backend tells apart; bit 31 of the exit reason is set
 * when VM entry failed. */
#define DV_EXIT_REASONS(X)                  \
	X(EXCEPTION_NMI, 0)                 \
	X(EXTERNAL_INTERRUPT, 1)            \
	X(TRIPLE_FAULT, 2)                  \
	X(INIT_SIGNAL, 3)                   \
	X(CPUID, 10)                        \
	X(HLT, 12)                          \
	X(VMCALL, 18)                       \
	X(IO_INSTRUCTION, 30)               \
	X(INVALID_STATE, 33)                \
	X(MSR_LOAD_FAIL, 34)                \
	X(MCE_DURING_VMENTRY, 41)           \
	X(EPT_VIOLATION, 48)                \
	X(EPT_MISCONFIG, 49)
#define DV_EXIT_ENUM(name, n) DV_EXIT_##name = (n),
enum { DV_EXIT_REASONS(DV_EXIT_ENUM) };
#define DV_EXIT_IO_SMI 5    /* these two are not in the kernel's list */
#define DV_EXIT_OTHER_SMI 6
#define DV_EXIT_FAILED_ENTRY (1U << 31)

/* Interruption information (VM-exit, IDT-vectoring, VM-entry: 25.8.3, 25.9.2). */
#define DV_INTR_VECTOR 0xffU
#define DV_INTR_TYPE 0x700U
#define DV_INTR_TYPE_NMI 0x200U
#define DV_INTR_HAS_ERROR 0x800U
#define DV_INTR_VALID 0x80000000U

/* What the capability MSRs say, as read by vmx.c (or written by the unit test). */
struct dv_caps {
	uint64_t basic, misc, ept_vpid;
	uint64_t pin, proc, proc2, exit, entry;               /* the plain control MSRs */
	uint64_t true_pin, true_proc, true_exit, true_entry;  /* read only when basic says so */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* The controls this backend runs with, and what they imply. */
struct dv_config {
	uint32_t revision, vmcs_size;
	uint32_t pin, proc, proc2, exit, entry; /* entry without IA32E_MODE (set from EFER.LMA) */
	bool vpid;                              /* a VPID per VM (INVVPID can flush it) */
	int invept_type, invvpid_type;          /* DV_INVEPT_*, DV_INVVPID_* used to flush */
	uint64_t cr0_mask, cr4_mask;            /* guest/host masks: the bits the module owns */
};

/* The result of adjusting one control word: missing = required bits the CPU cannot set,
 * refused = bits the module must keep clear but the CPU forces to 1. */
struct dv_adjust {
	uint32_t value, missing, refused;
};
/* cap: low half allowed-0 (a 1 there: must be 1), high half allowed-1 (a 0 there: must be 0). */
struct dv_adjust dv_adjust_ctl(uint64_t cap, uint32_t required, uint32_t optional, uint32_t forbidden);

/* Fills cfg; 0, or -1 with a one-line reason in why (a required control or capability the CPU
 * lacks, or one it forces that the module cannot run with). */
int dv_configure(const struct dv_caps *caps, struct dv_config *cfg, char *why, size_t len);

/* CR0/CR4: the value the guest really runs with (fixed bits forced), the bits the module owns
 * (the guest/host mask: forced by VMX), the value the guest sees (read shadow for owned bits),
 * and whether user space's value can be entered at all (no bit the CPU forbids in VMX). */
uint64_t dv_cr_guest(uint64_t value, uint64_t fixed0, uint64_t fixed1);
uint64_t dv_cr_mask(uint64_t fixed0, uint64_t fixed1);
uint64_t dv_cr_visible(uint64_t actual, uint64_t shadow, uint64_t mask);
bool dv_cr_allowed(uint64_t value, uint64_t fixed1);

/* Segments: KVM's kvm_segment <-> the VMCS access-rights field (25.4.1). */
uint32_t dv_seg_ar(const struct kvm_segment *s);
void dv_seg_from_ar(struct kvm_segment *s, uint32_t ar);

/* EPT (28.3.2, 28.3.3): table entries, leaves (write-back, guest PAT respected) and the EPT
 * pointer (write-back, 4-level walk). */
#define DV_EPT_R 1ULL
#define DV_EPT_W 2ULL
#define DV_EPT_X 4ULL
#define DV_EPT_MT_WB 6ULL
#define DV_EPT_ADDR 0x000ffffffffff000ULL
uint64_t dv_ept_table(uint64_t pa);
uint64_t dv_ept_leaf(uint64_t pa, bool writable);
bool dv_ept_present(uint64_t pte);
bool dv_ept_writable(uint64_t pte);
uint64_t dv_eptp(uint64_t root_pa, int levels);

/* PAT values WRMSR accepts (each byte a valid memory type). */
bool dv_pat_valid(uint64_t pat);

/* A subset of VM entry's guest-state checks (SDM 27.3.1: control registers, EFER, RFLAGS,
 * segments, descriptor tables) for a 64-bit guest without unrestricted guest: 0, or -1 with
 * the first problem in why. The CPU remains the judge (vmx.c only logs this after an entry
 * failed on invalid guest state); the unit test runs libdune's initial state through it. */
int dv_check_guest(const struct kvm_sregs *k, uint64_t rflags, const struct dv_caps *c,
		   char *why, size_t len);

/* An exit, as read from the VMCS (or a VM-fail of VMLAUNCH/VMRESUME). */
struct dv_exit_raw {
	bool vmfail;              /* VMLAUNCH/VMRESUME failed: CF or ZF */
	uint32_t insn_error;      /* VM_INSTRUCTION_ERROR after a VMfailValid */
	uint32_t reason;          /* VM_EXIT_REASON */
	uint64_t qual;            /* EXIT_QUALIFICATION */
	uint64_t gpa;             /* GUEST_PHYSICAL_ADDRESS (EPT exits) */
	uint32_t intr_info, intr_error;
};
/* Kinds, mapped by vmx.c onto enum dune_x (dune.h); NMI is handled by the module. */
enum dv_kind { DV_X_INTR, DV_X_NMI, DV_X_CPUID, DV_X_UD, DV_X_NPF, DV_X_IO, DV_X_SHUTDOWN,
	       DV_X_ERROR };
/* DV_X_UD: VMCALL, which exits at any CPL; on AMD it is #UD (and SVM does not intercept
 * VMMCALL), so the guest gets this event, a #UD through its own IDT. */
#define DV_EVENT_UD (DV_INTR_VALID | 0x300U | 6U)
struct dv_exit {
	enum dv_kind kind;
	uint64_t gpa;
	bool write, fetch;
	uint16_t port;
	uint64_t code, info1, info2; /* the run page's exit_code / exit_info1 / exit_info2 */
};
/* The code of a VMfail (no exit reason: VMLAUNCH/VMRESUME did not enter). */
#define DV_CODE_VMFAIL 0xffffffffULL
void dv_decode(const struct dv_exit_raw *r, struct dv_exit *x);

/* CPUID, which VT-x always intercepts (SVM lets the guest run it): regs = eax ebx ecx edx as
 * the host's CPUID returned them for leaf/subleaf, adjusted to what the guest would have read
 * natively: OSXSAVE (leaf 1 ECX bit 27) and OSPKE (leaf 7.0 ECX bit 4) follow the guest's
 * CR4.OSXSAVE and CR4.PKE, not the host's. */
void dv_cpuid_fixup(uint32_t leaf, uint32_t subleaf, uint64_t guest_cr4, uint32_t regs[4]);

/* The event to re-inject at the next entry from an exit's IDT-vectoring information
 * (25.9.3: an event whose delivery the exit interrupted), or 0. */
uint32_t dv_reinject(uint32_t idt_vectoring);

#endif
