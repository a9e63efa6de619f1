#include "region.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first region whose end is above addr. */
static size_t first_after(const struct region_map *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve(struct region_map *m, size_t extra)
{
	if (m->n + extra <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap * 2 : 64;
	while (cap < m->n + extra)
		cap *= 2;
	struct region *r = realloc(m->r, cap * sizeof *r);
	if (!r)
		return -ENOMEM;
	m->r = r;
	m->cap = cap;
	return 0;
}

static void insert_at(struct region_map *m, size_t i, struct region v)
{
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof *m->r);
	m->r[i] = v;
	m->n++;
}

static void remove_at(struct region_map *m, size_t i, size_t count)
{
	memmove(&m->r[i], &m->r[i + count], (m->n - i - count) * sizeof *m->r);
	m->n -= count;
}

int region_set(struct region_map *m, uint64_t start, uint64_t end, int prot)
{
	if (start >= end)
		return 0;
	if (reserve(m, 3) < 0)
		return -ENOMEM;
	size_t i = first_after(m, start);
	/* Split a region straddling start. */
	if (i < m->n && m->r[i].start < start) {
		struct region tail = m->r[i];
		tail.start = start;
		m->r[i].end = start;
		insert_at(m, i + 1, tail);
		i++;
	}
	/* Split a region straddling end. */
	size_t j = i;
	while (j < m->n && m->r[j].end <= end)
		j++;
	if (j < m->n && m->r[j].start < end) {
		struct region head = m->r[j];
		head.end = end;
		m->r[j].start = end;
		insert_at(m, j, head);
		j++;
	}
	remove_at(m, i, j - i);
	if (prot < 0)
		return 0;
	struct region v = { start, end, prot };
	/* Merge with equal neighbours to keep the map short. */
	if (i > 0 && m->r[i - 1].end == start && m->r[i - 1].prot == prot) {
		m->r[i - 1].end = end;
		if (i < m->n && m->r[i].start == end && m->r[i].prot == prot) {
			m->r[i - 1].end = m->r[i].end;
			remove_at(m, i, 1);
		}
		return 0;
	}
	if (i < m->n && m->r[i].start == end && m->r[i].prot == prot) {
		m->r[i].start = start;
		return 0;
	}
	insert_at(m, i, v);
	return 0;
}

const struct region *region_find(const struct region_map *m, uint64_t addr)
{
	size_t i = first_after(m, addr);
	if (i < m->n && m->r[i].start <= addr)
		return &m->r[i];
	return NULL;
}

bool region_covers(const struct region_map *m, uint64_t start, uint64_t end, int need)
{
	if (end < start)
		return false;
	if (start == end)
		return true;
	size_t i = first_after(m, start);
	uint64_t at = start;
	for (; i < m->n && at < end; i++) {
		if (m->r[i].start > at || (m->r[i].prot & need) != need)
			return false;
		at = m->r[i].end;
	}
	return at >= end;
}

bool region_overlaps(const struct region_map *m, uint64_t start, uint64_t end)
{
	if (start >= end)
		return false; /* no byte to own */
	size_t i = first_after(m, start);
	return i < m->n && m->r[i].start < end;
}

int region_copy(struct region_map *dst, const struct region_map *src)
{
	dst->n = dst->cap = 0;
	dst->r = NULL;
	if (reserve(dst, src->n + 1) < 0)
		return -ENOMEM;
	memcpy(dst->r, src->r, src->n * sizeof *src->r);
	dst->n = src->n;
	return 0;
}

void region_free(struct region_map *m)
{
	free(m->r);
	m->r = NULL;
	m->n = m->cap = 0;
}
