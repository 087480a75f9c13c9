/* LSD radix sorts over 8-bit digits; digits every key shares (the sign and exponent of scores) are skipped. */
#include "radix_sort.h"

#include <string.h>

#define DIGITS 8
#define BUCKETS 256

/*
 * One pass counts all eight digit histograms; a digit whose histogram has a single full bucket is the same
 * in every key and needs no pass. Scores in (0, 1) share their top byte or two, so six or seven passes remain.
 * Returns the number of passes needed and turns the histograms into bucket start offsets.
 */
static int
plan_passes(size_t counts[DIGITS][BUCKETS], size_t n, int passes[DIGITS])
{
	int			npasses = 0;

	for (int d = 0; d < DIGITS; d++)
	{
		size_t		offset = 0;
		int			trivial = 0;

		for (int b = 0; b < BUCKETS; b++)
		{
			size_t		c = counts[d][b];

			if (c == n)
				trivial = 1;
			counts[d][b] = offset;
			offset += c;
		}
		if (!trivial)
			passes[npasses++] = d;
	}
	return npasses;
}

void
pgs_radix_sort_keys(uint64_t *keys, uint64_t *scratch, size_t n)
{
	size_t		counts[DIGITS][BUCKETS];
	int			passes[DIGITS];
	int			npasses;
	uint64_t   *src = keys,
			   *dst = scratch;

	if (n < 2)
		return;
	memset(counts, 0, sizeof counts);
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	k = keys[i];

		for (int d = 0; d < DIGITS; d++)
			counts[d][(k >> (8 * d)) & 0xff]++;
	}
	npasses = plan_passes(counts, n, passes);
	for (int p = 0; p < npasses; p++)
	{
		int			shift = 8 * passes[p];
		size_t	   *offsets = counts[passes[p]];

		for (size_t i = 0; i < n; i++)
		{
			uint64_t	k = src[i];

			dst[offsets[(k >> shift) & 0xff]++] = k;
		}
		uint64_t   *done = dst;

		dst = src;
		src = done;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof *keys);
}

void
pgs_radix_sort_keyed(pgs_keyed *items, pgs_keyed *scratch, size_t n)
{
	size_t		counts[DIGITS][BUCKETS];
	int			passes[DIGITS];
	int			npasses;
	pgs_keyed  *src = items,
			   *dst = scratch;

	if (n < 2)
		return;
	memset(counts, 0, sizeof counts);
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	k = items[i].key;

		for (int d = 0; d < DIGITS; d++)
			counts[d][(k >> (8 * d)) & 0xff]++;
	}
	npasses = plan_passes(counts, n, passes);
	for (int p = 0; p < npasses; p++)
	{
		int			shift = 8 * passes[p];
		size_t	   *offsets = counts[passes[p]];

		for (size_t i = 0; i < n; i++)
			dst[offsets[(src[i].key >> shift) & 0xff]++] = src[i];
		pgs_keyed  *done = dst;

		dst = src;
		src = done;
	}
	if (src != items)
		memcpy(items, src, n * sizeof *items);
}
