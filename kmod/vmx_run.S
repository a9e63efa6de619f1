/* SPDX-License-Identifier: GPL-2.0 */
/* One VT-x guest entry and exit: int dune_vmx_enter(u64 *gprs, bool launched, u64 host_rsp)
 * (host_rsp: HOST_RSP's field encoding, passed by vmx.c from its checked table), called with
 * interrupts disabled and the vCPU's VMCS current on this CPU. Saves the host's callee-saved
 * registers, points HOST_RSP at this frame (the exit lands on dune_vmx_exit, the VMCS's
 * HOST_RIP, with that stack), loads the guest's general registers and runs VMLAUNCH (first
 * entry since the VMCS was VMCLEARed) or VMRESUME. Returns 0 after a VM exit (guest registers
 * stored back into gprs), 1 when the instruction failed (VMfailInvalid: CF, VMfailValid: ZF;
 * the caller reads VM_INSTRUCTION_ERROR). gprs: 16 u64 in x86 encoding order, rax included
 * (VT-x keeps only rsp, rip and rflags in the VMCS; rsp's slot is unused).
 *
 * dune_vmx_do_nmi(): runs the host's NMI handler for an NMI that made the guest exit (NMI
 * exiting consumed it), with the frame the CPU would have pushed; its IRET returns here. */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/ibt.h>
#include <asm/unwind_hints.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>

#include "guest_gprs.h"

	.text
SYM_FUNC_START(dune_vmx_enter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdi		/* 0(%rsp): gprs, where the exit stub finds them */
	vmwrite %rsp, %rdx
	jbe .Lfail
	UNWIND_HINT_SAVE	/* the exit stub starts with this frame (objtool) */
	test %sil, %sil		/* launched? the movs below keep the flags */
	mov %rdi, %rax
	LOAD_GUEST_GPRS %rax
	mov G(0)(%rax), %rax
	jnz .Lresume
	vmlaunch
	jmp .Lfail
.Lresume:
	vmresume
	jmp .Lfail

	/* VM exit: rsp is HOST_RSP (the frame above), rip this label; interrupts are off. */
SYM_INNER_LABEL(dune_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push %rax
	mov 8(%rsp), %rax
	STORE_GUEST_GPRS %rax
	popq G(0)(%rax)
	/* The guest may have filled the return stack buffer: refill it before the first RET. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE
	xor %eax, %eax
	jmp .Lout
.Lfail:
	mov $1, %eax
.Lout:
	CLEAR_GUEST_SCRATCH
	add $8, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(dune_vmx_enter)

SYM_FUNC_START(dune_vmx_do_nmi)
	push %rbp
	mov %rsp, %rbp
	and $-16, %rsp		/* the CPU aligns the stack for an interrupt frame */
	push $__KERNEL_DS	/* ss */
	push %rbp		/* rsp: IRET lands with rbp's value, restored below anyway */
	pushf
	push $__KERNEL_CS
	call asm_exc_nmi_noist	/* pushes rip; the handler ends with IRET */
	mov %rbp, %rsp
	pop %rbp
	RET
SYM_FUNC_END(dune_vmx_do_nmi)
