/* Fault-around for anonymous memory under shadow paging.
 *
 * On a shadow-paging hypervisor a guest's first write to a page costs a
 * hypervisor fault whether or not the host page exists, but one fault maps
 * up to 8 neighbouring guest pages whose host pages already exist (KVM's
 * spte prefetch). So for memory a program fills in order, populating the
 * host pages ahead of it is far cheaper than letting every page fault.
 *
 * The monitor cannot see faults the hypervisor handles, so a writable
 * anonymous private mapping is mirrored with "tripwires": one page of every
 * FA_SPAN-aligned span (FA_TRIP_OFF into it, so strides that are multiples
 * of FA_SPAN rarely meet one) is left not present in the guest page tables;
 * the other pages are present and fault only in the hypervisor, as before,
 * with their accessed bit clear so the monitor can tell which were touched.
 * A touch of a tripwire exits to the monitor, which maps it. When it is a
 * write and the accessed bits show the program just went through the
 * FA_PROBE pages behind it (an address-ordered run, ascending, or
 * descending as stacks grow), the monitor also populates the host pages of
 * a window ahead of the run, doubling the window on each further hit of
 * the same run up to FA_WINDOW_MAX, as readahead does. It leaves the last
 * FA_PROBE pages of each window unpopulated so the next hit can check again
 * that the run really went through. A touch that continues no run
 * populates nothing, so sparse access is charged only for what it
 * touches; a run is charged at most one window more than it used.
 */
#ifndef DUNE_FAULT_AROUND_H
#define DUNE_FAULT_AROUND_H

#include <stdbool.h>
#include <stdint.h>

#include "region.h"
#include "vm.h"

#define FA_SPAN (64ull << 10)         /* one tripwire per 16 pages */
#define FA_TRIP_OFF (7ull << 12)      /* where in its span the tripwire sits */
#define FA_PROBE 3                    /* pages checked behind a tripwire */
#define FA_MIN_LEN (128ull << 10)     /* smaller mappings get no tripwires */
#define FA_WINDOW_MAX (1ull << 20)    /* most a stream populates ahead */
#define FA_STREAMS 8

struct fa_stream {
	uint64_t next_up;   /* tripwire an ascending run hits next (0: none) */
	uint64_t next_down; /* same, descending */
	uint64_t window;    /* bytes populated on the next hit */
};

struct fa_state {
	bool enabled;           /* --no-fault-around clears it (passed on to exec'd images) */
	bool stopped;           /* fa_stop: no more tripwires, nothing populated ahead */
	struct region_map lazy; /* ranges mirrored with tripwires */
	struct fa_stream streams[FA_STREAMS];
	unsigned next_slot;     /* round-robin replacement */
};

/* Makes s (zeroed, owned by the caller, outliving vm) the pager of vm (vm.h's struct
 * vm_pager): the VM then asks it which mappings get tripwires, and tells it what is mapped
 * and unmapped. Disabled, it keeps every page present. */
void fa_attach(struct fa_state *s, struct dune_vm *vm, bool enabled);
/* From now on this address space gets no new tripwires and nothing is populated ahead of a
 * run; tripwires already planted are only mapped when hit (vm->lock taken). For a
 * userfaultfd handler, which must see the faults of exactly the pages the program touches. */
void fa_stop(struct fa_state *s, struct dune_vm *vm);
/* A guest #PF: true when it hit a tripwire (now mapped; resume the guest),
 * false when it is a real fault for the program. */
bool fa_fault(struct fa_state *s, struct dune_vm *vm, uint64_t addr, uint64_t error_code);

#endif
