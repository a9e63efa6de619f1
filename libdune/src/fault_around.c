#define _GNU_SOURCE
#include "fault_around.h"

#include <sys/mman.h>

#include "vm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SPAN_DOWN(x) ((uint64_t)(x) & ~(FA_SPAN - 1))
#define SPAN_UP(x) (((uint64_t)(x) + FA_SPAN - 1) & ~(FA_SPAN - 1))

void fa_forget(struct dune_vm *vm, uint64_t start, uint64_t len)
{
	if (vm->fa.lazy.n)
		region_set(&vm->fa.lazy, start, start + len, -1);
}

static void clear_pte(struct dune_vm *vm, uint64_t va)
{
	int level;
	uint64_t *e = pt_lookup(vm, va, &level);
	if (e && level == 1)
		*e = 0;
}

void fa_plant(struct dune_vm *vm, uint64_t start, uint64_t len, int prot)
{
	if (!vm->fa.enabled || !(prot & PROT_WRITE) || len < FA_MIN_LEN)
		return;
	if (region_set(&vm->fa.lazy, start, start + len, 1) < 0)
		return; /* no tripwires: every page stays present, as without fault-around */
	/* Fresh host pages: no translation of them is cached anywhere yet, so
	 * clearing the entries needs no flush. */
	for (uint64_t t = SPAN_UP(start); t < start + len; t += FA_SPAN)
		clear_pte(vm, t);
}

/* A page the program has never touched: no host page, so the hypervisor
 * holds no translation for it and a cleared entry takes effect at once. */
static bool untouched(uint64_t va)
{
	unsigned char v = 1;
	return mincore((void *)va, PAGE_SIZE, &v) == 0 && !(v & 1);
}

static void map_present(struct dune_vm *vm, uint64_t lo, uint64_t hi, uint64_t flags)
{
	/* Only tripwires can be absent in a lazy range; the rest is already
	 * mapped with these flags. */
	for (uint64_t t = SPAN_UP(lo); t < hi; t += FA_SPAN) {
		int level;
		if (!pt_lookup(vm, t, &level))
			pt_map(vm, t, t, PAGE_SIZE, flags);
	}
}

static struct fa_stream *find_stream(struct fa_state *s, uint64_t page, bool *up)
{
	for (int i = 0; i < FA_STREAMS; i++) {
		if (s->streams[i].next_up == page) {
			*up = true;
			return &s->streams[i];
		}
		if (s->streams[i].next_down == page) {
			*up = false;
			return &s->streams[i];
		}
	}
	return NULL;
}

/* Plant a tripwire at the top page of the span below lo, so a descending
 * stream meets it on entering that span rather than on leaving it. */
static uint64_t plant_below(struct dune_vm *vm, uint64_t lo, const struct region *lazy)
{
	uint64_t p = lo - PAGE_SIZE;
	if (lo < PAGE_SIZE || p < lazy->start || !untouched(p))
		return 0;
	clear_pte(vm, p);
	return p;
}

bool fa_fault(struct dune_vm *vm, uint64_t addr, uint64_t error_code)
{
	/* Only a not-present fault from ring 3 can be a tripwire. */
	if ((error_code & 1) || !(error_code & 4))
		return false;
	bool write = error_code & 2, fetch = error_code & 16;
	uint64_t page = PAGE_DOWN(addr);
	bool handled = false;
	pthread_mutex_lock(&vm->lock);
	struct fa_state *s = &vm->fa;
	const struct region *lazy = s->lazy.n ? region_find(&s->lazy, page) : NULL;
	const struct region *own = lazy ? region_find(&vm->owned, page) : NULL;
	int need = write ? PROT_WRITE : fetch ? PROT_EXEC : PROT_READ | PROT_WRITE | PROT_EXEC;
	if (!own || !(own->prot & need))
		goto out;
	handled = true;
	int level;
	if (pt_lookup(vm, page, &level))
		goto out; /* another vCPU mapped it meanwhile */
	uint64_t flags = prot_to_pte(own->prot);
	s->hits++;
	bool up = true;
	struct fa_stream *st = write ? find_stream(s, page, &up) : NULL;
	if (!st) {
		/* Not (yet) a stream: map the tripwire alone and remember where an
		 * ascending or descending stream would hit next. */
		pt_map(vm, page, page, PAGE_SIZE, flags);
		if (write) {
			st = &s->streams[s->next_slot++ % FA_STREAMS];
			st->next_up = SPAN_DOWN(page) + FA_SPAN;
			st->next_down = plant_below(vm, SPAN_DOWN(page), lazy);
			st->window = FA_SPAN;
		}
		goto out;
	}
	st->window = st->window * 2 > FA_WINDOW_MAX ? FA_WINDOW_MAX : st->window * 2;
	uint64_t lo, hi;
	uint64_t rlo = lazy->start > own->start ? lazy->start : own->start;
	uint64_t rhi = lazy->end < own->end ? lazy->end : own->end;
	if (up) {
		lo = page;
		hi = page + st->window;
	} else {
		hi = page + PAGE_SIZE;
		lo = hi > st->window ? hi - st->window : 0;
	}
	lo = lo < rlo ? rlo : lo;
	hi = hi > rhi ? rhi : hi;
	/* Host pages first: the hypervisor then maps them 8 at a time. If the
	 * host cannot populate (memory limit), the pages fault one by one as
	 * they would without fault-around. */
	if (madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) == 0)
		s->populated += (hi - lo) / PAGE_SIZE;
	pt_map(vm, page, page, PAGE_SIZE, flags);
	map_present(vm, lo, hi, flags);
	if (up) {
		st->next_up = hi < rhi ? SPAN_UP(hi) : 0;
		st->next_down = 0;
	} else {
		st->next_down = lo > rlo ? plant_below(vm, lo, lazy) : 0;
		st->next_up = 0;
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return handled;
}
