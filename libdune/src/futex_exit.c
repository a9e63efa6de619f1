/* What the kernel does with a thread's clear_child_tid and robust futex
 * list, done by the monitor: program pointers are never registered with
 * the host kernel, which would write through them when the monitor thread
 * exits, whatever the range has become by then (monitor memory, once the
 * program unmapped it). Every program word is read and written only after
 * sb_range_ok, so the monitor touches nothing but the program's memory. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define ROBUST_HEAD_SIZE 24 /* struct robust_list_head: next, futex_offset, list_op_pending */

long sb_set_tid_address(struct sb_thread *t, uint64_t tidptr)
{
	__atomic_store_n(&t->clear_child_tid, tidptr, __ATOMIC_RELAXED);
	return t->tid;
}

long sb_set_robust_list(struct sb_thread *t, uint64_t head, uint64_t len)
{
	if (len != ROBUST_HEAD_SIZE)
		return -EINVAL;
	__atomic_store_n(&t->robust_head, head, __ATOMIC_RELAXED);
	return 0;
}

long sb_get_robust_list(struct sb_thread *t, int pid, uint64_t head_ptr, uint64_t len_ptr)
{
	struct sb_proc *p = t->p;
	uint64_t head = 0;
	if (pid == 0 || pid == t->tid) {
		head = __atomic_load_n(&t->robust_head, __ATOMIC_RELAXED);
	} else {
		bool found = false;
		pthread_mutex_lock(&p->lock);
		for (struct sb_thread *o = p->threads; o && !found; o = o->next)
			if (o->tid == pid) {
				head = __atomic_load_n(&o->robust_head, __ATOMIC_RELAXED);
				found = true;
			}
		pthread_mutex_unlock(&p->lock);
		/* A host thread of ours that is not listed is a monitor thread
		 * ending (or starting): no guest thread. Another process's list
		 * lives in its own monitor; the host would answer with a
		 * monitor thread's list. */
		if (!found) {
			pid_t me = (pid_t)host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
			if (pid <= 0 || host_syscall(SYS_tgkill, (uint64_t)me, (uint64_t)pid, 0, 0, 0, 0) == 0)
				return -ESRCH;
			return host_syscall(SYS_kill, (uint64_t)pid, 0, 0, 0, 0, 0) == 0 ? -EPERM : -ESRCH;
		}
	}
	if (!sb_range_ok(p, len_ptr, 8, PROT_WRITE))
		return -EFAULT;
	*(uint64_t *)len_ptr = ROBUST_HEAD_SIZE;
	if (!sb_range_ok(p, head_ptr, 8, PROT_WRITE))
		return -EFAULT;
	*(uint64_t *)head_ptr = head;
	return 0;
}

static bool read_word(struct sb_proc *p, uint64_t addr, uint64_t *out)
{
	if ((addr & 7) || !sb_range_ok(p, addr, 8, PROT_READ))
		return false;
	*out = __atomic_load_n((uint64_t *)addr, __ATOMIC_RELAXED);
	return true;
}

static void futex_wake_one(uint64_t uaddr)
{
	/* Shared key, as the kernel's exit path: waiters of a robust or
	 * pthread_join futex wait with one (glibc's LLL_SHARED). */
	host_syscall(SYS_futex, uaddr, FUTEX_WAKE, 1, 0, 0, 0);
}

/* The kernel's handle_futex_death: false stops the walk. */
static bool futex_death(struct sb_proc *p, uint64_t uaddr, pid_t tid, bool pi, bool pending)
{
	if ((uaddr & 3) || !sb_range_ok(p, uaddr, 4, PROT_READ))
		return false;
	uint32_t *w = (uint32_t *)uaddr;
	uint32_t uval = __atomic_load_n(w, __ATOMIC_SEQ_CST);
	for (;;) {
		/* An unlock interrupted between releasing and waking. */
		if (pending && !pi && !uval) {
			futex_wake_one(uaddr);
			return true;
		}
		if ((uval & FUTEX_TID_MASK) != (uint32_t)tid)
			return true;
		if (!sb_range_ok(p, uaddr, 4, PROT_WRITE))
			return false;
		uint32_t mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
		if (__atomic_compare_exchange_n(w, &uval, mval, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
		/* uval now holds what another thread wrote: look again. */
	}
	if (!pi && (uval & FUTEX_WAITERS))
		futex_wake_one(uaddr);
	return true;
}

/* The kernel's exit_robust_list, bounded the same way. */
static void robust_walk(struct sb_proc *p, uint64_t head, pid_t tid)
{
	uint64_t next, off, pending;
	if (!head || !read_word(p, head, &next) || !read_word(p, head + 8, &off) ||
	    !read_word(p, head + 16, &pending))
		return;
	uint64_t entry = next & ~1ull, pend = pending & ~1ull;
	bool pi = next & 1, pend_pi = pending & 1;
	for (unsigned limit = ROBUST_LIST_LIMIT; entry != head && limit; limit--) {
		uint64_t nxt = 0;
		bool ok = read_word(p, entry, &nxt);
		if (entry != pend && !futex_death(p, entry + off, tid, pi, false))
			return;
		if (!ok)
			return;
		entry = nxt & ~1ull;
		pi = nxt & 1;
	}
	if (pend)
		futex_death(p, pend + off, tid, pend_pi, true);
}

void sb_futex_thread_exit(struct sb_thread *t, bool clear_tid)
{
	struct sb_proc *p = t->p;
	uint64_t head = __atomic_exchange_n(&t->robust_head, 0, __ATOMIC_RELAXED);
	robust_walk(p, head, t->tid);
	uint64_t ctid = __atomic_exchange_n(&t->clear_child_tid, 0, __ATOMIC_RELAXED);
	/* Like the kernel, only while another thread shares the memory. */
	if (clear_tid && ctid && !(ctid & 3) && sb_range_ok(p, ctid, 4, PROT_WRITE)) {
		__atomic_store_n((uint32_t *)ctid, 0, __ATOMIC_SEQ_CST);
		futex_wake_one(ctid);
	}
}

void sb_futex_process_exit(struct sb_proc *p)
{
	/* Every thread's list, as the kernel walks each dying thread's: what
	 * matters are robust futexes in memory shared with other processes.
	 * The other threads may still be running meanwhile; an entry they
	 * lock after the walk is missed (they are about to be killed). No
	 * clear_child_tid: nobody in this process can wait for it any more. */
	pthread_mutex_lock(&p->lock);
	for (struct sb_thread *o = p->threads; o; o = o->next) {
		uint64_t head = __atomic_exchange_n(&o->robust_head, 0, __ATOMIC_RELAXED);
		robust_walk(p, head, o->tid);
	}
	pthread_mutex_unlock(&p->lock);
}
