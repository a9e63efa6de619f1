/* SPDX-License-Identifier: GPL-2.0 */
/* For svm_run.S and vmx_run.S: the guest's general registers in the vCPU's gprs[] (16 u64 in
 * x86 encoding order), moved between that array and the CPU around an entry. RAX (slot 0) and
 * RSP (slot 4) are left to the caller: VMRUN takes the VMCB's address in RAX and keeps the
 * guest's RAX and RSP in the VMCB, and VT-x keeps RSP in the VMCS. */
#ifndef DUNE_GUEST_GPRS_H
#define DUNE_GUEST_GPRS_H

#define G(n) (n * 8)

/* Every guest register but RAX and RSP from the array at \base (which must be RAX). */
.macro LOAD_GUEST_GPRS base
	mov G(1)(\base), %rcx
	mov G(2)(\base), %rdx
	mov G(3)(\base), %rbx
	mov G(5)(\base), %rbp
	mov G(6)(\base), %rsi
	mov G(7)(\base), %rdi
	mov G(8)(\base), %r8
	mov G(9)(\base), %r9
	mov G(10)(\base), %r10
	mov G(11)(\base), %r11
	mov G(12)(\base), %r12
	mov G(13)(\base), %r13
	mov G(14)(\base), %r14
	mov G(15)(\base), %r15
.endm

/* Every guest register but RAX and RSP into the array at \base (which must be RAX). */
.macro STORE_GUEST_GPRS base
	mov %rcx, G(1)(\base)
	mov %rdx, G(2)(\base)
	mov %rbx, G(3)(\base)
	mov %rbp, G(5)(\base)
	mov %rsi, G(6)(\base)
	mov %rdi, G(7)(\base)
	mov %r8, G(8)(\base)
	mov %r9, G(9)(\base)
	mov %r10, G(10)(\base)
	mov %r11, G(11)(\base)
	mov %r12, G(12)(\base)
	mov %r13, G(13)(\base)
	mov %r14, G(14)(\base)
	mov %r15, G(15)(\base)
.endm

/* No guest value stays in a caller-saved register (the callee-saved ones are popped). */
.macro CLEAR_GUEST_SCRATCH
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
.endm

#endif
