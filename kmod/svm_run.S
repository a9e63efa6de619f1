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

#include "guest_gprs.h"

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
	LOAD_GUEST_GPRS %rax
	mov 0(%rsp), %rax
	vmload %rax
	vmrun %rax
	vmsave %rax
	/* #VMEXIT restored the host's rax (the guest VMCB) and rsp. */
	mov 8(%rsp), %rax
	STORE_GUEST_GPRS %rax
	mov 16(%rsp), %rax
	vmload %rax
	cli
	stgi
	CLEAR_GUEST_SCRATCH
	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(dune_svm_enter)
