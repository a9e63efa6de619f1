/* The program's memory as the monitor checks it: pointer checks that publish the calling
 * thread's checked span (its hull), and freed ranges kept reserved while another thread's
 * span reaches them (the tombs of the address space's owner, sb_proc.mm; its vfork
 * children's threads count like its own). The layer below the system calls and signals: it
 * calls nothing of theirs. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <stdlib.h>
#include <sys/mman.h>

/* The thread whose checks sb_range_ok records (set by sb_hull_reset). */
static __thread struct sb_thread *hull_owner;

bool sb_range_ok(struct sb_proc *p, uint64_t addr, uint64_t len, int need)
{
	if (len == 0)
		return true;
	if (addr + len < addr || addr + len > 0x800000000000ull)
		return false;
	struct sb_thread *t = hull_owner;
	if (t) {
		/* Publish the span before looking at ownership (the releasing
		 * thread does the opposite: unown, then look at spans). */
		uint64_t lo = __atomic_load_n(&t->hull_lo, __ATOMIC_RELAXED);
		uint64_t hi = __atomic_load_n(&t->hull_hi, __ATOMIC_RELAXED);
		if (!hi || addr < lo)
			__atomic_store_n(&t->hull_lo, addr, __ATOMIC_SEQ_CST);
		if (addr + len > hi)
			__atomic_store_n(&t->hull_hi, addr + len, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_lock(&p->vm->lock);
	bool ok = region_covers(&p->vm->owned, addr, addr + len, need);
	pthread_mutex_unlock(&p->vm->lock);
	return ok;
}

static bool reaches(const struct sb_thread *o, uint64_t addr, uint64_t len)
{
	if (o == hull_owner)
		return false;
	uint64_t lo = __atomic_load_n(&o->hull_lo, __ATOMIC_SEQ_CST);
	uint64_t hi = __atomic_load_n(&o->hull_hi, __ATOMIC_SEQ_CST);
	return hi && lo < addr + len && addr < hi;
}

/* Does another thread's checked span reach [addr, addr+len)? Every thread on the address
 * space counts: the owner's and its vfork children's. mm->lock held (mm owns the memory). */
static bool span_in_use(struct sb_proc *mm, uint64_t addr, uint64_t len)
{
	if (mm->nthreads + mm->nguests < 2)
		return false;
	for (struct sb_thread *o = mm->threads; o; o = o->next)
		if (reaches(o, addr, len))
			return true;
	for (struct sb_thread *o = mm->guests; o; o = o->guest_next)
		if (reaches(o, addr, len))
			return true;
	return false;
}

bool sb_range_busy(struct sb_proc *p, uint64_t addr, uint64_t len)
{
	struct sb_proc *mm = p->mm;
	pthread_mutex_lock(&mm->lock);
	bool busy = span_in_use(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	return busy;
}

void sb_release_range(struct sb_proc *p, uint64_t addr, uint64_t len)
{
	p = p->mm;
	pthread_mutex_lock(&p->lock);
	bool keep = span_in_use(p, addr, len);
	if (keep && p->ntombs == p->captombs) {
		size_t cap = p->captombs ? p->captombs * 2 : 64;
		struct tomb *t = realloc(p->tombs, cap * sizeof *t);
		if (t) {
			p->tombs = t;
			p->captombs = cap;
		}
	}
	if (!keep) {
		munmap((void *)addr, len);
	} else if (mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
			0) != MAP_FAILED &&
		   p->ntombs + 2 < p->captombs) {
		p->tombs[p->ntombs].addr = addr;
		p->tombs[p->ntombs++].len = len;
	}
	/* Otherwise the range stays reserved (or mapped) for good: never
	 * handed back while a host call may still use it. */
	pthread_mutex_unlock(&p->lock);
}

void sb_hull_reset(struct sb_thread *t)
{
	struct sb_proc *p = t->p->mm;
	hull_owner = t;
	__atomic_store_n(&t->hull_hi, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->hull_lo, 0, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&p->ntombs, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&p->lock);
	size_t k = 0;
	for (size_t i = 0; i < p->ntombs; i++) {
		struct tomb *tb = &p->tombs[i];
		if (!tb->len)
			continue;
		if (span_in_use(p, tb->addr, tb->len))
			p->tombs[k++] = *tb;
		else
			munmap((void *)tb->addr, tb->len);
	}
	p->ntombs = k;
	pthread_mutex_unlock(&p->lock);
}

/* A reserved range the program maps again with MAP_FIXED is its own. */
bool sb_take_reserved(struct sb_proc *p, uint64_t start, uint64_t end)
{
	bool covered = false;
	p = p->mm;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->ntombs; i++) {
		struct tomb *t = &p->tombs[i];
		if (t->len && start >= t->addr && end <= t->addr + t->len)
			covered = true;
	}
	if (covered)
		for (size_t i = 0; i < p->ntombs; i++) {
			struct tomb *t = &p->tombs[i];
			if (!t->len || t->addr + t->len <= start || t->addr >= end)
				continue;
			/* Split off the part being reused; keep the rest reserved. */
			uint64_t a = t->addr, e = t->addr + t->len;
			t->len = 0;
			if (a < start && p->ntombs < p->captombs)
				p->tombs[p->ntombs++] = (struct tomb){ a, start - a };
			if (e > end && p->ntombs < p->captombs)
				p->tombs[p->ntombs++] = (struct tomb){ end, e - end };
		}
	pthread_mutex_unlock(&p->lock);
	return covered;
}
