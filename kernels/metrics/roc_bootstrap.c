/* Stratified bootstrap of the AUC from grouped counts, drawn with the seeded generator of common/prng.h. */
#include "roc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "../common/cancel.h"
#include "../common/prng.h"

/*
 * Every case is listed by the index of its group (descending score order), per class; a replicate draws as
 * many positives and negatives as the data has, uniformly from those lists, counts them per group and
 * computes the AUC of the counts exactly as pgs_roc_delong does. Cost per replicate: O(cases + groups).
 */
struct pgs_roc_bootstrap
{
	pgs_allocator allocator;
	int64_t		groups;
	int64_t		positives;
	int64_t		negatives;
	uint32_t   *positive_group;	/* one entry per positive case */
	uint32_t   *negative_group;
	int64_t    *positive_count; /* per group, for one replicate */
	int64_t    *negative_count;
	pgs_prng	rng;
};

/* Uniform in [0, bound) without bias (Lemire's multiply-and-reject). */
static inline uint64_t
random_below(pgs_prng *rng, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128) pgs_prng_next(rng) * bound;
	uint64_t	low = (uint64_t) m;

	if (low < bound)
	{
		uint64_t	threshold = -bound % bound;

		while (low < threshold)
		{
			m = (unsigned __int128) pgs_prng_next(rng) * bound;
			low = (uint64_t) m;
		}
	}
	return (uint64_t) (m >> 64);
}

void
pgs_roc_bootstrap_free(pgs_roc_bootstrap *b)
{
	if (b == NULL)
		return;
	pgs_free(&b->allocator, b->positive_group);
	pgs_free(&b->allocator, b->negative_group);
	pgs_free(&b->allocator, b->positive_count);
	pgs_free(&b->allocator, b->negative_count);
	pgs_free(&b->allocator, b);
}

static void *
alloc_array(const pgs_allocator *allocator, int64_t count, size_t size)
{
	if (count < 0 || (uint64_t) count > SIZE_MAX / size / 2)
		return NULL;
	return pgs_alloc(allocator, count == 0 ? 1 : (size_t) count * size);
}

pgs_status
pgs_roc_bootstrap_create(const pgs_roc_view *view, uint64_t seed, const pgs_allocator *allocator,
						 pgs_roc_bootstrap **bootstrap, pgs_error *err)
{
	pgs_roc_bootstrap *b;
	pgs_roc_cursor cursor;
	pgs_roc_group g;
	int64_t		group = 0,
				p = 0,
				n = 0;
	int			r;

	if (view->positives == 0 || view->negatives == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the bootstrap needs positive and negative cases");
	/* every replicate draws every case again: beyond 2^31 cases it would run for hours */
	if (view->positives + view->negatives > INT32_MAX)
		return pgs_fail(err, PGS_ERR_LIMIT, "the bootstrap of %lld cases would take too long; use the DeLong interval",
						(long long) (view->positives + view->negatives));
	b = pgs_alloc(allocator, sizeof *b);
	if (b == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for the bootstrap");
	memset(b, 0, sizeof *b);
	b->allocator = *allocator;
	b->groups = view->distinct;
	b->positives = view->positives;
	b->negatives = view->negatives;
	b->positive_group = alloc_array(allocator, view->positives, sizeof(uint32_t));
	b->negative_group = alloc_array(allocator, view->negatives, sizeof(uint32_t));
	b->positive_count = alloc_array(allocator, view->distinct, sizeof(int64_t));
	b->negative_count = alloc_array(allocator, view->distinct, sizeof(int64_t));
	if (!b->positive_group || !b->negative_group || !b->positive_count || !b->negative_count)
	{
		pgs_roc_bootstrap_free(b);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for the bootstrap of %lld cases",
						(long long) (view->positives + view->negatives));
	}
	pgs_roc_cursor_init(&cursor, view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1)
	{
		for (int64_t i = 0; i < g.positives; i++)
			b->positive_group[p++] = (uint32_t) group;
		for (int64_t i = 0; i < g.negatives; i++)
			b->negative_group[n++] = (uint32_t) group;
		group++;
	}
	if (r < 0)
	{
		pgs_roc_bootstrap_free(b);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: malformed groups");
	}
	for (int i = 0; i < 4; i++)
		b->rng.s[i] = pgs_splitmix64(&seed);
	*bootstrap = b;
	return PGS_OK;
}

static double
replicate(pgs_roc_bootstrap *b)
{
	unsigned __int128 twice_sum = 0;
	uint64_t	negatives_above = 0;

	memset(b->positive_count, 0, (size_t) b->groups * sizeof(int64_t));
	memset(b->negative_count, 0, (size_t) b->groups * sizeof(int64_t));
	for (int64_t i = 0; i < b->positives; i++)
		b->positive_count[b->positive_group[random_below(&b->rng, (uint64_t) b->positives)]]++;
	for (int64_t i = 0; i < b->negatives; i++)
		b->negative_count[b->negative_group[random_below(&b->rng, (uint64_t) b->negatives)]]++;
	for (int64_t g = 0; g < b->groups; g++)
	{
		uint64_t	q = (uint64_t) b->negative_count[g];
		uint64_t	below = (uint64_t) b->negatives - negatives_above - q;

		twice_sum += (unsigned __int128) b->positive_count[g] * (2 * below + q);
		negatives_above += q;
	}
	return (double) twice_sum / (2.0 * (double) b->positives * (double) b->negatives);
}

pgs_status
pgs_roc_bootstrap_run(pgs_roc_bootstrap *b, int count, double *aucs, pgs_error *err)
{
	pgs_status	st;

	for (int i = 0; i < count; i++)
	{
		if ((st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		aucs[i] = replicate(b);
	}
	return PGS_OK;
}

static int
compare_doubles(const void *x, const void *y)
{
	double		a = *(const double *) x,
				b = *(const double *) y;

	return (a > b) - (a < b);
}

/* Quantile of sorted values by linear interpolation between order statistics (R's type 7, NumPy's default). */
static double
quantile_sorted(const double *sorted, int count, double q)
{
	double		h = (count - 1) * q;
	int			lo = (int) floor(h);

	if (lo >= count - 1)
		return sorted[count - 1];
	return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

void
pgs_bootstrap_summary(double *aucs, int count, double level, double *lower, double *upper, double *se)
{
	double		mean = 0.0,
				ss = 0.0;

	qsort(aucs, (size_t) count, sizeof *aucs, compare_doubles);
	for (int i = 0; i < count; i++)
		mean += aucs[i];
	mean /= count;
	for (int i = 0; i < count; i++)
		ss += (aucs[i] - mean) * (aucs[i] - mean);
	*se = count > 1 ? sqrt(ss / (count - 1)) : NAN;
	*lower = quantile_sorted(aucs, count, 0.5 - 0.5 * level);
	*upper = quantile_sorted(aucs, count, 0.5 + 0.5 * level);
}
