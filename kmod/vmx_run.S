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

#define G(n) (n * 8)

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
	mov G(1)(%rax), %rcx
	mov G(2)(%rax), %rdx
	mov G(3)(%rax), %rbx
	mov G(5)(%rax), %rbp
	mov G(6)(%rax), %rsi
	mov G(7)(%rax), %rdi
	mov G(8)(%rax), %r8
	mov G(9)(%rax), %r9
	mov G(10)(%rax), %r10
	mov G(11)(%rax), %r11
	mov G(12)(%rax), %r12
	mov G(13)(%rax), %r13
	mov G(14)(%rax), %r14
	mov G(15)(%rax), %r15
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
	mov %rcx, G(1)(%rax)
	mov %rdx, G(2)(%rax)
	mov %rbx, G(3)(%rax)
	mov %rbp, G(5)(%rax)
	mov %rsi, G(6)(%rax)
	mov %rdi, G(7)(%rax)
	mov %r8, G(8)(%rax)
	mov %r9, G(9)(%rax)
	mov %r10, G(10)(%rax)
	mov %r11, G(11)(%rax)
	mov %r12, G(12)(%rax)
	mov %r13, G(13)(%rax)
	mov %r14, G(14)(%rax)
	mov %r15, G(15)(%rax)
	popq G(0)(%rax)
	/* The guest may have filled the return stack buffer: refill it before the first RET. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, X86_FEATURE_RSB_VMEXIT_LITE
	xor %eax, %eax
	jmp .Lout
.Lfail:
	mov $1, %eax
.Lout:
	/* No guest value stays in a caller-saved register. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
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
