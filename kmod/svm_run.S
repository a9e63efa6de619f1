/* SPDX-License-Identifier: GPL-2.0 */
/* One SVM guest entry and exit: dune_svm_enter(vmcb_pa, host_vmcb_pa, gprs), called with
 * interrupts disabled. CLGI holds every interrupt and NMI; STI under GIF=0 delivers nothing
 * but makes VMRUN record host IF=1, so that with V_INTR_MASKING a host interrupt makes the
 * guest exit (VMEXIT_INTR) whatever the guest's own IF. The host's VMSAVE state (FS, GS and
 * kernel GS bases, TR, LDTR, the SYSCALL and SYSENTER MSRs) is saved before and loaded back
 * before any per-CPU access; CLI and STGI then leave the interrupt pending for the caller's
 * local_irq_enable. gprs: 16 u64 in x86 encoding order (rax and rsp unused: in the VMCB). */
#include <linux/linkage.h>
#include <asm/asm.h>

#define G(n) (n * 8)

	.text
SYM_FUNC_START(dune_svm_enter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rsi		/* 16(%rsp): host VMCB */
	push %rdx		/* 8(%rsp): gprs */
	push %rdi		/* 0(%rsp): guest VMCB */
	clgi
	sti
	mov %rsi, %rax
	vmsave %rax
	mov %rdx, %rax
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
	mov 0(%rsp), %rax
	vmload %rax
	vmrun %rax
	vmsave %rax
	/* #VMEXIT restored the host's rax (the guest VMCB) and rsp. */
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
	mov 16(%rsp), %rax
	vmload %rax
	cli
	stgi
	/* No guest value stays in a caller-saved register. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(dune_svm_enter)
