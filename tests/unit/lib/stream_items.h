/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A store's item stream kept in memory (store_stream.h's order), so that
 * a test can send the items again in any order, alone, twice or altered:
 * the tests of the mirror writer and the collector.
 */
#ifndef _BIOREADER_TEST_STREAM_ITEMS_H
#define _BIOREADER_TEST_STREAM_ITEMS_H

#include <stdlib.h>
#include <string.h>

#include "fwdmsg.h"
#include "internal.h"

struct item {
	enum bfl_fwd_kind kind;
	u64 n;
	u8 *b;
	size_t len;
};

/* A fixed array of items: v[0..n) of cap (the array's own size). */
struct items {
	struct item *v;
	unsigned int n, cap;
};
#define ITEMS_OF(arr) { (arr), 0, sizeof(arr) / sizeof((arr)[0]) }

/* store_stream()'s callback, arg the struct items: a copy of the item
 * appended; 1 (the walk stops) when the array is full or out of memory. */
static inline int items_collect(void *arg, enum bfl_fwd_kind kind, u64 n,
				const u8 *b, size_t len)
{
	struct items *l = arg;
	struct item *it;

	if (l->n == l->cap)
		return 1;
	it = &l->v[l->n];
	it->b = malloc(len ? len : 1);
	if (!it->b)
		return 1;
	memcpy(it->b, b, len);
	it->kind = kind;
	it->n = n;
	it->len = len;
	l->n++;
	return 0;
}

/* The index of the first item of this kind and number at or after from;
 * l->n when there is none. */
static inline unsigned int items_find(const struct items *l, enum bfl_fwd_kind kind,
				      u64 n, unsigned int from)
{
	unsigned int i;

	for (i = from; i < l->n; i++)
		if (l->v[i].kind == kind && l->v[i].n == n)
			return i;
	return l->n;
}

#endif /* _BIOREADER_TEST_STREAM_ITEMS_H */
