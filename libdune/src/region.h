/* Sorted, non-overlapping address ranges with a protection value: the
 * program's own memory (what pointer checks accept) and the memslot
 * coverage. */
#ifndef DUNE_REGION_H
#define DUNE_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct region {
	uint64_t start, end; /* [start, end) */
	int prot;            /* PROT_* bits */
};

struct region_map {
	struct region *r;
	size_t n, cap;
};

/* Give [start, end) protection prot (prot < 0 removes it). */
int region_set(struct region_map *m, uint64_t start, uint64_t end, int prot);
/* Region containing addr, or NULL. */
const struct region *region_find(const struct region_map *m, uint64_t addr);
/* Every byte of [start, end) owned with at least the bits of need. */
bool region_covers(const struct region_map *m, uint64_t start, uint64_t end, int need);
/* Some byte of [start, end) owned. */
bool region_overlaps(const struct region_map *m, uint64_t start, uint64_t end);
int region_copy(struct region_map *dst, const struct region_map *src);
void region_free(struct region_map *m);

#endif
