#define _GNU_SOURCE
#include "fault_around.h"

#include <sys/mman.h>

#include "vm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SPAN_DOWN(x) ((uint64_t)(x) & ~(FA_SPAN - 1))

/* Whether a mapping gets tripwires; its entries are then written without
 * the accessed and dirty bits. */
static bool fa_wants(void *ctx, uint64_t len, int prot)
{
	const struct fa_state *s = ctx;
	return s->enabled && !s->stopped && (prot & PROT_WRITE) && len >= FA_MIN_LEN;
}

/* Forget tripwires in [start, start+len) (vm->lock held). */
static void fa_forget(void *ctx, uint64_t start, uint64_t len)
{
	struct fa_state *s = ctx;
	if (s->lazy.n)
		region_set(&s->lazy, start, start + len, -1);
}

static void fa_release(void *ctx)
{
	struct fa_state *s = ctx;
	region_free(&s->lazy);
}

static void clear_pte(struct dune_vm *vm, uint64_t va)
{
	int level;
	uint64_t *e = pt_lookup(vm, va, &level);
	if (e && level == 1)
		*e = 0;
}

/* Leave the tripwires of a freshly mirrored anonymous private mapping not
 * present (vm->lock held). */
static void fa_plant(void *ctx, struct dune_vm *vm, uint64_t start, uint64_t len)
{
	struct fa_state *s = ctx;
	if (region_set(&s->lazy, start, start + len, 1) < 0)
		return; /* no tripwires: every page stays present, as without fault-around */
	/* Fresh host pages: no translation of them is cached anywhere yet, so
	 * clearing the entries needs no flush. */
	for (uint64_t t = SPAN_DOWN(start) + FA_TRIP_OFF; t < start + len; t += FA_SPAN)
		if (t >= start)
			clear_pte(vm, t);
}

/* A page the program has never touched: no host page, so the hypervisor
 * holds no translation for it and a cleared entry takes effect at once. */
static bool untouched(uint64_t va)
{
	unsigned char v = 1;
	return mincore((void *)va, PAGE_SIZE, &v) == 0 && !(v & 1);
}

/* The FA_PROBE pages behind a tripwire (below it for an ascending run,
 * above for a descending one): did the program go through them? */
static bool went_through(struct dune_vm *vm, uint64_t page, bool up, const struct region *lazy)
{
	int seen = 0;
	for (int i = 1; i <= FA_PROBE; i++) {
		uint64_t p = up ? page - (uint64_t)i * PAGE_SIZE : page + (uint64_t)i * PAGE_SIZE;
		int level;
		uint64_t *e = p >= lazy->start && p < lazy->end ? pt_lookup(vm, p, &level) : NULL;
		seen += e && (*e & PTE_A);
	}
	return seen >= FA_PROBE - 1;
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

/* The page below a descending window becomes (or stays) a tripwire, so
 * the run meets one as soon as it leaves the window. */
static uint64_t plant_below(struct dune_vm *vm, uint64_t lo, const struct region *lazy)
{
	uint64_t p = lo - PAGE_SIZE;
	if (lo < lazy->start + PAGE_SIZE || !untouched(p))
		return 0;
	clear_pte(vm, p);
	return p;
}

/* Populate [lo, hi) on the host and map it with the accessed and dirty bits
 * set: the hypervisor prefetches only such entries, 8 per fault. */
static void populate(struct dune_vm *vm, uint64_t lo, uint64_t hi, uint64_t flags)
{
	if (hi <= lo)
		return;
	/* If the host cannot populate (memory limit), the pages fault one by
	 * one as they would without fault-around. */
	madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
	pt_map(vm, lo, lo, hi - lo, flags);
}

void fa_attach(struct fa_state *s, struct dune_vm *vm, bool enabled)
{
	s->enabled = enabled;
	vm->pager = (struct vm_pager){
		.wants = fa_wants, .plant = fa_plant, .forget = fa_forget, .release = fa_release, .ctx = s,
	};
}

void fa_stop(struct fa_state *s, struct dune_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	s->stopped = true;
	pthread_mutex_unlock(&vm->lock);
}

bool fa_fault(struct fa_state *s, struct dune_vm *vm, uint64_t addr, uint64_t error_code)
{
	/* Only a not-present fault from ring 3 can be a tripwire. */
	if ((error_code & 1) || !(error_code & 4))
		return false;
	bool write = error_code & 2, fetch = error_code & 16;
	uint64_t page = PAGE_DOWN(addr);
	bool handled = false;
	pthread_mutex_lock(&vm->lock);
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
	pt_map(vm, page, page, PAGE_SIZE, flags);
	if (!write || s->stopped)
		goto out; /* reads map the zero page: nothing worth populating */
	/* A run is a write to a tripwire right after the FA_PROBE pages behind
	 * it: below it when ascending, above it when descending (stacks). */
	bool up = true;
	struct fa_stream *st = find_stream(s, page, &up);
	if (st && went_through(vm, page, up, lazy)) {
		st->window = st->window * 2 > FA_WINDOW_MAX ? FA_WINDOW_MAX : st->window * 2;
	} else {
		up = went_through(vm, page, true, lazy);
		if (!up && !went_through(vm, page, false, lazy))
			goto out; /* no run: random or strided writes populate nothing */
		if (!st)
			st = &s->streams[s->next_slot++ % FA_STREAMS];
		st->window = FA_SPAN;
	}
	uint64_t rlo = lazy->start > own->start ? lazy->start : own->start;
	uint64_t rhi = lazy->end < own->end ? lazy->end : own->end;
	uint64_t probe = FA_PROBE * PAGE_SIZE;
	if (up) {
		/* [page, hi): the next tripwire of the run is at hi. */
		uint64_t hi = page + st->window;
		if (hi >= rhi) {
			populate(vm, page, rhi, flags);
			st->next_up = 0;
		} else {
			populate(vm, page, hi - probe, flags);
			st->next_up = hi;
		}
		st->next_down = 0;
	} else {
		/* [lo, page]: the run meets a tripwire planted below lo next. */
		uint64_t hi = page + PAGE_SIZE;
		uint64_t lo = hi - rlo > st->window ? hi - st->window : rlo;
		if (lo == rlo) {
			populate(vm, lo, hi, flags);
			st->next_down = 0;
		} else {
			populate(vm, lo + probe, hi, flags);
			st->next_down = plant_below(vm, lo, lazy);
		}
		st->next_up = 0;
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return handled;
}
