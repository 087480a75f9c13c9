/* The paired DeLong comparison of two models on the same cases: the roc_compare aggregate's state and test. */
#include "roc.h"

#include <math.h>
#include <stdlib.h>

#include "encoding.h"
#include "radix_sort.h"

#define PAIRS_MAGIC "RPC\x01"

/*
 * Cases of each class (index 1: positives) as (key of score a, key of score b). The comparison needs every
 * case, since a case's structural components for the two models are paired. compare() overwrites the keys
 * with the components, so it may run once (the aggregate declares its final function READ_WRITE).
 */
struct pgs_roc_pairs
{
	pgs_allocator allocator;
	pgs_keyed  *cases[2];
	int64_t		len[2];
	int64_t		cap[2];
	int64_t		skipped;
	bool		consumed;
};

static pgs_status
out_of_memory(pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory while collecting paired scores");
}

pgs_status
pgs_roc_pairs_create(const pgs_allocator *allocator, pgs_roc_pairs **pairs, pgs_error *err)
{
	pgs_roc_pairs *p = pgs_alloc(allocator, sizeof *p);

	if (p == NULL)
		return out_of_memory(err);
	memset(p, 0, sizeof *p);
	p->allocator = *allocator;
	*pairs = p;
	return PGS_OK;
}

void
pgs_roc_pairs_free(pgs_roc_pairs *p)
{
	if (p == NULL)
		return;
	pgs_free(&p->allocator, p->cases[0]);
	pgs_free(&p->allocator, p->cases[1]);
	pgs_free(&p->allocator, p);
}

/* Make room for `more` cases of class c. */
static pgs_status
reserve(pgs_roc_pairs *p, int c, int64_t more, pgs_error *err)
{
	int64_t		want = p->len[c] + more;
	int64_t		cap = p->cap[c] ? p->cap[c] : 256;
	pgs_keyed  *grown;

	if (want <= p->cap[c])
		return PGS_OK;
	while (cap < want)
		cap *= 2;
	if ((uint64_t) cap > SIZE_MAX / sizeof(pgs_keyed) / 4)
		return out_of_memory(err);
	grown = pgs_realloc(&p->allocator, p->cases[c], (size_t) cap * sizeof *grown);
	if (grown == NULL)
		return out_of_memory(err);
	p->cases[c] = grown;
	p->cap[c] = cap;
	return PGS_OK;
}

pgs_status
pgs_roc_pairs_add(pgs_roc_pairs *p, double score_a, double score_b, bool positive, pgs_error *err)
{
	int			c = positive ? 1 : 0;
	pgs_status	st;

	if (!isfinite(score_a))
		return pgs_check_score(score_a, err);
	if (!isfinite(score_b))
		return pgs_check_score(score_b, err);
	if (p->len[c] == p->cap[c] && (st = reserve(p, c, 1, err)) != PGS_OK)
		return st;
	p->cases[c][p->len[c]++] = (pgs_keyed) {pgs_score_key(score_a), pgs_score_key(score_b)};
	return PGS_OK;
}

void
pgs_roc_pairs_skip(pgs_roc_pairs *p, int64_t rows)
{
	p->skipped += rows;
}

pgs_status
pgs_roc_pairs_absorb(pgs_roc_pairs *p, const pgs_roc_pairs *other, pgs_error *err)
{
	for (int c = 0; c < 2; c++)
	{
		pgs_status	st = reserve(p, c, other->len[c], err);

		if (st != PGS_OK)
			return st;
		if (other->len[c] > 0)
			memcpy(p->cases[c] + p->len[c], other->cases[c], (size_t) other->len[c] * sizeof(pgs_keyed));
		p->len[c] += other->len[c];
	}
	p->skipped += other->skipped;
	return PGS_OK;
}

/* The serial form travels only between the processes of one server, so keys stay in host byte order. */
pgs_status
pgs_roc_pairs_serialize(const pgs_roc_pairs *p, size_t prefix, const pgs_allocator *allocator,
						uint8_t **data, size_t *len, pgs_error *err)
{
	size_t		cases = (size_t) (p->len[0] + p->len[1]);
	size_t		size = prefix + 4 + pgs_varint_size((uint64_t) p->skipped) + pgs_varint_size((uint64_t) p->len[0]) +
		pgs_varint_size((uint64_t) p->len[1]) + cases * sizeof(pgs_keyed);
	uint8_t    *out,
			   *w;

	if (cases > PGS_ROC_MAX_BYTES / sizeof(pgs_keyed))
		return pgs_fail(err, PGS_ERR_LIMIT, "%zu paired cases are more than one parallel worker can pass on",
						cases);
	out = pgs_alloc(allocator, size);
	if (out == NULL)
		return out_of_memory(err);
	memcpy(out + prefix, PAIRS_MAGIC, 4);
	w = pgs_varint_put(out + prefix + 4, (uint64_t) p->skipped);
	w = pgs_varint_put(w, (uint64_t) p->len[0]);
	w = pgs_varint_put(w, (uint64_t) p->len[1]);
	for (int c = 0; c < 2; c++)
	{
		if (p->len[c] > 0)
			memcpy(w, p->cases[c], (size_t) p->len[c] * sizeof(pgs_keyed));
		w += (size_t) p->len[c] * sizeof(pgs_keyed);
	}
	*data = out;
	*len = size;
	return PGS_OK;
}

pgs_status
pgs_roc_pairs_add_serialized(pgs_roc_pairs *p, const uint8_t *data, size_t len, pgs_error *err)
{
	const uint8_t *end = data + len;
	const uint8_t *r = data + 4;
	uint64_t	skipped,
				counts[2];

	if (len < 4 || memcmp(data, PAIRS_MAGIC, 4) != 0 ||
		(r = pgs_varint_get(r, end, &skipped)) == NULL ||
		(r = pgs_varint_get(r, end, &counts[0])) == NULL ||
		(r = pgs_varint_get(r, end, &counts[1])) == NULL ||
		counts[0] > (size_t) (end - r) / sizeof(pgs_keyed) ||
		counts[1] > (size_t) (end - r) / sizeof(pgs_keyed) - counts[0] ||
		(size_t) (end - r) != (counts[0] + counts[1]) * sizeof(pgs_keyed) || skipped > (uint64_t) INT64_MAX)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt paired-score state");
	for (int c = 0; c < 2; c++)
	{
		pgs_status	st;
		pgs_keyed  *dst;

		if (counts[c] == 0)
			continue;
		if ((st = reserve(p, c, (int64_t) counts[c], err)) != PGS_OK)
			return st;
		dst = p->cases[c] + p->len[c];
		memcpy(dst, r, counts[c] * sizeof(pgs_keyed));
		for (uint64_t i = 0; i < counts[c]; i++)
			if (!pgs_key_is_valid(dst[i].key) || !pgs_key_is_valid(dst[i].payload))
				return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt paired-score state");
		p->len[c] += (int64_t) counts[c];
		r += counts[c] * sizeof(pgs_keyed);
	}
	p->skipped += (int64_t) skipped;
	return PGS_OK;
}

static inline uint64_t
double_bits(double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof bits);
	return bits;
}

static inline double
bits_double(uint64_t bits)
{
	double		v;

	memcpy(&v, &bits, sizeof v);
	return v;
}

/*
 * Given both classes sorted by key, replace each case's key by its structural component for that score:
 * V10 = (negatives below + ties/2) / n for a positive, V01 = (positives above + ties/2) / m for a negative
 * (DeLong's placement values; Sun & Xu's midrank differences). Then swap key and payload, so the next
 * sort is by the other model's score and the component rides along. Returns the AUC, exactly summed.
 */
static double
place_and_swap(pgs_keyed *pos, int64_t m, pgs_keyed *neg, int64_t n)
{
	int64_t		i = 0,
				j = 0;
	unsigned __int128 twice_sum = 0;

	while (i < m || j < n)
	{
		uint64_t	key = (j >= n || (i < m && pos[i].key <= neg[j].key)) ? pos[i].key : neg[j].key;
		int64_t		i_end = i,
					j_end = j;

		while (i_end < m && pos[i_end].key == key)
			i_end++;
		while (j_end < n && neg[j_end].key == key)
			j_end++;
		{
			int64_t		tied_pos = i_end - i,
						tied_neg = j_end - j;
			double		v10 = ((double) j + 0.5 * (double) tied_neg) / (double) n;
			double		v01 = ((double) (m - i_end) + 0.5 * (double) tied_pos) / (double) m;

			twice_sum += (unsigned __int128) tied_pos * (uint64_t) (2 * j + tied_neg);
			for (; i < i_end; i++)
				pos[i] = (pgs_keyed) {pos[i].payload, double_bits(v10)};
			for (; j < j_end; j++)
				neg[j] = (pgs_keyed) {neg[j].payload, double_bits(v01)};
		}
	}
	return (double) twice_sum / (2.0 * (double) m * (double) n);
}

/* Sample variances and covariance of the (a, b) components over one class, divisor count - 1. */
static void
component_covariance(const pgs_keyed *cases, int64_t count, double mean_a, double mean_b, double cov[3])
{
	double		saa = 0.0,
				sbb = 0.0,
				sab = 0.0;

	for (int64_t i = 0; i < count; i++)
	{
		/* after two place_and_swap passes, key holds the a-component and payload the b-component */
		double		da = bits_double(cases[i].key) - mean_a;
		double		db = bits_double(cases[i].payload) - mean_b;

		saa += da * da;
		sbb += db * db;
		sab += da * db;
	}
	cov[0] = saa / (double) (count - 1);
	cov[1] = sbb / (double) (count - 1);
	cov[2] = sab / (double) (count - 1);
}

pgs_status
pgs_roc_pairs_compare(pgs_roc_pairs *p, pgs_roc_comparison *result, pgs_error *err)
{
	int64_t		m = p->len[1],
				n = p->len[0];
	pgs_keyed  *pos = p->cases[1],
			   *neg = p->cases[0];
	pgs_keyed  *scratch;
	double		s10[3],
				s01[3];

	if (p->consumed)
		return pgs_fail(err, PGS_ERR_INTERNAL, "paired scores were already compared");
	result->positives = m;
	result->negatives = n;
	result->skipped = p->skipped;
	result->auc_a = result->auc_b = NAN;
	result->variance_a = result->variance_b = result->covariance = NAN;
	if (m == 0 || n == 0)
		return PGS_OK;
	scratch = malloc((size_t) (m > n ? m : n) * sizeof *scratch);
	if (scratch == NULL)
		return out_of_memory(err);
	p->consumed = true;
	/* Sort by score a (payload b), place, swap; then sort by score b (payload: a-component), place, swap. */
	pgs_radix_sort_keyed(pos, scratch, (size_t) m);
	pgs_radix_sort_keyed(neg, scratch, (size_t) n);
	result->auc_a = place_and_swap(pos, m, neg, n);
	pgs_radix_sort_keyed(pos, scratch, (size_t) m);
	pgs_radix_sort_keyed(neg, scratch, (size_t) n);
	result->auc_b = place_and_swap(pos, m, neg, n);
	free(scratch);
	if (m < 2 || n < 2)
		return PGS_OK;
	component_covariance(pos, m, result->auc_a, result->auc_b, s10);
	component_covariance(neg, n, result->auc_a, result->auc_b, s01);
	result->variance_a = s10[0] / (double) m + s01[0] / (double) n;
	result->variance_b = s10[1] / (double) m + s01[1] / (double) n;
	result->covariance = s10[2] / (double) m + s01[2] / (double) n;
	return PGS_OK;
}
