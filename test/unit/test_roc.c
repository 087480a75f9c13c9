/* Unit tests of kernels/metrics: the roc binary form, the builder, AUC/DeLong, points, bootstrap, pairs, SVG. */
#include "../../kernels/metrics/distributions.h"
#include "../../kernels/metrics/encoding.h"
#include "../../kernels/metrics/roc.h"
#include "unit.h"
#include "cancel_testing.h"

#include <math.h>

static pgs_error err;

/* A roc value built through the builder from arrays; the caller frees it. */
static uint8_t *
build(const double *scores, const bool *labels, int n, size_t *len)
{
	pgs_roc_builder *b;
	uint8_t    *data = NULL;

	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &b, &err), &err);
	for (int i = 0; i < n; i++)
		CHECK_OK(pgs_roc_builder_add(b, scores[i], labels[i], &err), &err);
	CHECK_OK(pgs_roc_builder_encode(b, &pgs_malloc_allocator, &data, len, &err), &err);
	pgs_roc_builder_free(b);
	return data;
}

static pgs_roc_auc
delong_of(const uint8_t *data, size_t len)
{
	pgs_roc_view v;
	pgs_roc_auc auc = {NAN, NAN};

	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK_OK(pgs_roc_delong(&v, true, &auc, &err), &err);
	return auc;
}

static void
test_keys_keep_numeric_order(void)
{
	const double ordered[] = {-INFINITY, -1e300, -1.0, -5e-324, 0.0, 5e-324, 1e-300, 0.5, 1.0, 1e300, INFINITY};

	for (size_t i = 0; i + 1 < sizeof ordered / sizeof ordered[0]; i++)
		CHECK(pgs_score_key(ordered[i]) < pgs_score_key(ordered[i + 1]));
	CHECK(pgs_score_key(-0.0) == pgs_score_key(0.0));
	CHECK(pgs_key_score(pgs_score_key(-2.5)) == -2.5);
	CHECK(pgs_key_is_valid(pgs_score_key(1.0)) && !pgs_key_is_valid(pgs_score_key(NAN)));
	CHECK(!pgs_key_is_valid(pgs_score_key(INFINITY)));
}

static void
test_varints_round_trip_and_stay_canonical(void)
{
	const uint64_t values[] = {0, 1, 127, 128, 300, (uint64_t) 1 << 35, ((uint64_t) 1 << 56) - 1,
	(uint64_t) 1 << 56, UINT64_MAX};
	uint8_t		buf[32];
	uint64_t	v;

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
	{
		/* both the 8-byte fast path (room behind) and the byte loop (no room) */
		uint8_t    *end = pgs_varint_put(buf, values[i]);

		CHECK((size_t) (end - buf) == pgs_varint_size(values[i]));
		CHECK(pgs_varint_get(buf, buf + sizeof buf, &v) == end && v == values[i]);
		CHECK(pgs_varint_get(buf, end, &v) == end && v == values[i]);
		CHECK(pgs_varint_get(buf, end - 1, &v) == NULL);
	}
	/* overlong forms: 0 as two bytes, and an 11-byte value */
	memcpy(buf, "\x80\x00\x00\x00\x00\x00\x00\x00\x00", 9);
	CHECK(pgs_varint_get(buf, buf + 9, &v) == NULL);
	CHECK(pgs_varint_get(buf, buf + 2, &v) == NULL);
	memset(buf, 0xff, 10);
	buf[10] = 0x01;
	CHECK(pgs_varint_get(buf, buf + 11, &v) == NULL);
}

/* A small example by hand: positives 0.9 0.8 0.4, negatives 0.7 0.4 0.1 -> AUC (3 + 3 + 1.5) / 9. */
static void
test_hand_computed_auc_and_curve(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1};
	const bool	labels[] = {true, true, true, false, false, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 6, &len);
	pgs_roc_view v;
	pgs_roc_auc auc = delong_of(data, len);
	pgs_roc_curve curve;
	pgs_confusion p;
	const double thresholds[] = {INFINITY, 0.9, 0.8, 0.7, 0.4, 0.1};
	const int64_t tps[] = {0, 1, 2, 2, 3, 3},
				fps[] = {0, 0, 0, 1, 2, 3};
	int			i = 0;

	CHECKF(fabs(auc.auc - 7.5 / 9) < 1e-15, "auc %.17g", auc.auc);
	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK(v.distinct == 5 && v.positives == 3 && v.negatives == 3 && v.skipped == 0);
	pgs_roc_curve_begin(&curve, &v);
	while (pgs_roc_curve_next(&curve, &p) == 1 && i < 6)
	{
		CHECKF(p.threshold == thresholds[i] && p.tp == tps[i] && p.fp == fps[i] && p.tn == 3 - fps[i] &&
			   p.fn == 3 - tps[i], "point %d: %g %lld %lld", i, p.threshold, (long long) p.tp, (long long) p.fp);
		i++;
	}
	CHECK(i == 6);
	/* DeLong by hand: V10 = (1, 1, 1/2), V01 = (2/3, 5/6, 1), S10 = 1/12, S01 = 1/36, variance = 1/27 */
	CHECKF(fabs(auc.variance - 1.0 / 27) < 1e-16, "variance %.17g", auc.variance);
	free(data);
}

static void
test_operating_points_and_confusion(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1};
	const bool	labels[] = {true, true, true, false, false, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 6, &len);
	pgs_roc_view v;
	pgs_confusion p;

	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SENSITIVITY, 2.0 / 3, &p, &err), &err);
	CHECK(p.threshold == 0.8 && p.tp == 2 && p.fp == 0);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SENSITIVITY, 0.7, &p, &err), &err);
	CHECK(p.threshold == 0.4 && p.tp == 3 && p.fp == 2);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SENSITIVITY, 0.0, &p, &err), &err);
	CHECK(isinf(p.threshold) && p.tp == 0);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SPECIFICITY, 2.0 / 3, &p, &err), &err);
	CHECK(p.threshold == 0.7 && p.tn == 2 && p.tp == 2);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SPECIFICITY, 1.0, &p, &err), &err);
	CHECK(p.threshold == 0.8 && p.tn == 3 && p.tp == 2);
	CHECK_OK(pgs_roc_operating_point(&v, PGS_TARGET_SPECIFICITY, 0.0, &p, &err), &err);
	CHECK(p.threshold == 0.1 && p.tn == 0 && p.tp == 3);
	CHECK_FAILS(pgs_roc_operating_point(&v, PGS_TARGET_SENSITIVITY, 1.5, &p, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_roc_operating_point(&v, PGS_TARGET_SPECIFICITY, NAN, &p, &err), PGS_ERR_INVALID_ARGUMENT, &err);

	CHECK_OK(pgs_roc_confusion(&v, 0.5, &p, &err), &err);
	CHECK(p.tp == 2 && p.fp == 1 && p.tn == 2 && p.fn == 1);
	CHECK_OK(pgs_roc_confusion(&v, INFINITY, &p, &err), &err);
	CHECK(p.tp == 0 && p.fp == 0);
	CHECK_OK(pgs_roc_confusion(&v, -INFINITY, &p, &err), &err);
	CHECK(p.tp == 3 && p.fp == 3);
	CHECK_FAILS(pgs_roc_confusion(&v, NAN, &p, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(data);
}

/* Many rows with ties, across several buffer flushes and merges: equal to counting by hand. */
static void
test_builder_matches_direct_counts(void)
{
	const int	n = 300000;
	double	   *scores = malloc(sizeof(double) * n);
	bool	   *labels = malloc(sizeof(bool) * n);
	int64_t		pos[2001] = {0},
				neg[2001] = {0};
	unsigned long long state = 42;
	size_t		len;
	uint8_t    *data;
	pgs_roc_view v;
	pgs_roc_cursor c;
	pgs_roc_group g;
	int			expected = 2000,
				bad = 0;

	for (int i = 0; i < n; i++)
	{
		int			bucket = (int) (unit_random(&state) % 2001);

		labels[i] = unit_random(&state) % 3 == 0;
		scores[i] = (bucket - 1000) / 1000.0;	/* -1.000 .. 1.000, with -0.0 folded to 0 */
		if (bucket == 1000 && i % 2)
			scores[i] = -0.0;
		(labels[i] ? pos : neg)[bucket]++;
	}
	data = build(scores, labels, n, &len);
	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK(v.positives + v.negatives == n);
	pgs_roc_cursor_init(&c, &v);
	while (pgs_roc_cursor_next(&c, &g) == 1)
	{
		int			bucket = (int) lround(g.score * 1000) + 1000;

		while (expected > bucket && pos[expected] + neg[expected] == 0)
			expected--;
		if (bucket != expected || g.positives != pos[bucket] || g.negatives != neg[bucket])
			bad++;
		expected--;
	}
	CHECK(bad == 0 && v.distinct <= 2001);
	CHECK_OK(pgs_roc_validate(data, len, &err), &err);
	free(data);
	free(scores);
	free(labels);
}

/* Parallel aggregation's path: three partial builders absorbed or decoded give the same bytes as one. */
static void
test_absorb_and_decode_give_identical_bytes(void)
{
	const int	n = 4500000;	/* the negatives fill a 2 Mi-key buffer once in the whole builder */
	pgs_roc_builder *whole,
			   *parts[3],
			   *from_bytes;
	unsigned long long state = 7;
	uint8_t    *a,
			   *b,
			   *c,
			   *part_bytes;
	size_t		la,
				lb,
				lc,
				lp;

	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &whole, &err), &err);
	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &from_bytes, &err), &err);
	for (int k = 0; k < 3; k++)
		CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &parts[k], &err), &err);
	for (int i = 0; i < n; i++)
	{
		double		score = (double) (float) ((double) (unit_random(&state) % 1000000) / 1e6);
		bool		label = unit_random(&state) % 5 == 0;

		CHECK_OK(pgs_roc_builder_add(whole, score, label, &err), &err);
		CHECK_OK(pgs_roc_builder_add(parts[i % 3], score, label, &err), &err);
	}
	pgs_roc_builder_skip(whole, 3);
	pgs_roc_builder_skip(parts[1], 3);
	CHECK_OK(pgs_roc_builder_encode(whole, &pgs_malloc_allocator, &a, &la, &err), &err);
	CHECK_OK(pgs_roc_builder_absorb(parts[0], parts[1], &err), &err);
	CHECK_OK(pgs_roc_builder_absorb(parts[0], parts[2], &err), &err);
	CHECK_OK(pgs_roc_builder_encode(parts[0], &pgs_malloc_allocator, &b, &lb, &err), &err);
	CHECK(la == lb && memcmp(a, b, la) == 0);
	CHECK_OK(pgs_roc_builder_encode(parts[1], &pgs_malloc_allocator, &part_bytes, &lp, &err), &err);
	CHECK_OK(pgs_roc_builder_add_encoded(from_bytes, a, la, &err), &err);
	CHECK_OK(pgs_roc_builder_encode(from_bytes, &pgs_malloc_allocator, &c, &lc, &err), &err);
	CHECK(lc == la && memcmp(a, c, la) == 0);
	/* encoding twice, and after adding more, keeps the builder usable */
	free(c);
	CHECK_OK(pgs_roc_builder_add_encoded(from_bytes, part_bytes, lp, &err), &err);
	CHECK(pgs_roc_builder_cases(from_bytes) == n + n / 3 + (n % 3 > 1));
	free(a);
	free(b);
	free(part_bytes);
	pgs_roc_builder_free(whole);
	pgs_roc_builder_free(from_bytes);
	for (int k = 0; k < 3; k++)
		pgs_roc_builder_free(parts[k]);
}

/*
 * Seventy partial states (a parallel leader combining many workers' results) give seventy runs per class:
 * past 64 the shortest merge, plain and counted runs mixed, and encoding merges the rest through its heap.
 */
static void
test_many_runs_merge_to_the_same_bytes(void)
{
	pgs_roc_builder *whole,
			   *all;
	unsigned long long state = 11;
	uint8_t    *a,
			   *b;
	size_t		la,
				lb;

	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &whole, &err), &err);
	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &all, &err), &err);
	for (int part = 0; part < 70; part++)
	{
		pgs_roc_builder *p;

		CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &p, &err), &err);
		for (int i = 0; i < 1000 + part * 37; i++)
		{
			/* odd parts: heavy ties (counted runs); even parts: nearly continuous (plain runs) */
			uint64_t	r = unit_random(&state);
			double		score = part % 2 ? (double) (r % 50) / 50 : (double) (r % 100000) / 100000;
			bool		label = unit_random(&state) % 3 == 0;

			CHECK_OK(pgs_roc_builder_add(p, score, label, &err), &err);
			CHECK_OK(pgs_roc_builder_add(whole, score, label, &err), &err);
		}
		CHECK_OK(pgs_roc_builder_absorb(all, p, &err), &err);
		pgs_roc_builder_free(p);
	}
	CHECK_OK(pgs_roc_builder_encode(whole, &pgs_malloc_allocator, &a, &la, &err), &err);
	CHECK_OK(pgs_roc_builder_encode(all, &pgs_malloc_allocator, &b, &lb, &err), &err);
	CHECK(la == lb && memcmp(a, b, la) == 0);
	CHECK_OK(pgs_roc_validate(b, lb, &err), &err);
	free(a);
	free(b);
	pgs_roc_builder_free(whole);
	pgs_roc_builder_free(all);
}

static void
test_bad_scores_and_empty_input(void)
{
	pgs_roc_builder *b;
	uint8_t    *data;
	size_t		len;
	pgs_roc_view v;
	pgs_roc_auc auc;

	CHECK_OK(pgs_roc_builder_create(&pgs_malloc_allocator, &b, &err), &err);
	CHECK_FAILS(pgs_roc_builder_add(b, NAN, true, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "NaN") != NULL);
	CHECK_FAILS(pgs_roc_builder_add(b, -INFINITY, true, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "-Infinity") != NULL);
	pgs_roc_builder_skip(b, 2);
	CHECK_OK(pgs_roc_builder_encode(b, &pgs_malloc_allocator, &data, &len, &err), &err);
	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK(v.distinct == 0 && v.positives == 0 && v.negatives == 0 && v.skipped == 2);
	CHECK_OK(pgs_roc_delong(&v, true, &auc, &err), &err);
	CHECK(isnan(auc.auc) && isnan(auc.variance));
	CHECK_OK(pgs_roc_validate(data, len, &err), &err);
	free(data);
	pgs_roc_builder_free(b);
}

/* One class with a single case: an AUC, but no DeLong variance (it divides by m - 1). */
static void
test_variance_needs_two_cases_per_class(void)
{
	const double scores[] = {0.3, 0.2, 0.1};
	const bool	labels[] = {true, false, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 3, &len);
	pgs_roc_auc auc = delong_of(data, len);

	CHECK(auc.auc == 1.0 && isnan(auc.variance));
	free(data);
}

/* Counts beyond 2^31 per class leave the exact 128-bit path for the floating-point two-pass one. */
static void
test_huge_counts_take_the_two_pass_path(void)
{
	pgs_roc_group small[4] = {{0.9, 3, 1}, {0.6, 2, 2}, {0.5, 1, 0}, {0.2, 1, 4}};
	pgs_roc_group huge[4];
	const int64_t scale = (int64_t) 1 << 33;
	uint8_t    *a,
			   *b;
	size_t		la,
				lb;
	pgs_roc_auc sa,
				sb;

	for (int i = 0; i < 4; i++)
		huge[i] = (pgs_roc_group) {small[i].score, small[i].positives * scale, small[i].negatives * scale};
	CHECK_OK(pgs_roc_encode(small, 4, 0, &pgs_malloc_allocator, &a, &la, &err), &err);
	CHECK_OK(pgs_roc_encode(huge, 4, 0, &pgs_malloc_allocator, &b, &lb, &err), &err);
	sa = delong_of(a, la);
	sb = delong_of(b, lb);
	CHECKF(fabs(sa.auc - sb.auc) < 1e-15, "%.17g vs %.17g", sa.auc, sb.auc);
	/*
	 * With m = n = 7 and every case repeated s times, the components are unchanged and each sample variance
	 * is scaled by (m - 1) s / (s m - 1), so the variance is the small one times (m - 1) / (s m - 1).
	 */
	CHECKF(fabs(sb.variance / (sa.variance * 6.0 / (7.0 * (double) scale - 1.0)) - 1) < 1e-12,
		   "%.17g vs %.17g", sb.variance, sa.variance * 6.0 / (7.0 * (double) scale - 1.0));
	free(a);
	free(b);
}

static void
test_corrupt_forms_are_refused(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1, 0.25, 0.33};
	const bool	labels[] = {true, true, true, false, false, false, true, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 8, &len);
	uint8_t    *copy = malloc(len);
	pgs_roc_view v;

	CHECK_OK(pgs_roc_validate(data, len, &err), &err);
	for (size_t cut = 0; cut < len; cut++)
		CHECK(pgs_roc_validate(data, cut, &err) == PGS_ERR_BAD_DATA);
	/*
	 * Every one-bit change either fails validation or is another valid value (a flipped key step is just
	 * another score), on which every computation still runs within bounds.
	 */
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++)
		{
			memcpy(copy, data, len);
			copy[i] ^= (uint8_t) (1 << bit);
			if (pgs_roc_validate(copy, len, &err) == PGS_OK)
			{
				pgs_roc_auc auc;

				CHECK_OK(pgs_roc_open(copy, len, &v, &err), &err);
				CHECK_OK(pgs_roc_delong(&v, true, &auc, &err), &err);
			}
		}
	memcpy(copy, data, len);
	copy[3] = 2;				/* another format version */
	CHECK_FAILS(pgs_roc_open(copy, len, &v, &err), PGS_ERR_BAD_DATA, &err);
	free(copy);
	free(data);
}

static void
test_encode_checks_its_groups(void)
{
	pgs_roc_group unordered[2] = {{0.1, 1, 0}, {0.2, 0, 1}};
	pgs_roc_group empty_group[1] = {{0.1, 0, 0}};
	pgs_roc_group nan_group[1] = {{NAN, 1, 0}};
	uint8_t    *data;
	size_t		len;

	CHECK_FAILS(pgs_roc_encode(unordered, 2, 0, &pgs_malloc_allocator, &data, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_roc_encode(empty_group, 1, 0, &pgs_malloc_allocator, &data, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_roc_encode(nan_group, 1, 0, &pgs_malloc_allocator, &data, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_distributions_known_values(void)
{
	double		lower,
				upper;

	CHECK(fabs(pgs_normal_quantile(0.975) - 1.959963984540054) < 1e-15);
	CHECK(fabs(pgs_normal_quantile(0.025) + 1.959963984540054) < 1e-15);
	CHECK(pgs_normal_quantile(0.5) == 0.0 && isinf(pgs_normal_quantile(1.0)) && isnan(pgs_normal_quantile(2)));
	CHECK(fabs(pgs_normal_cdf(1.959963984540054) - 0.975) < 1e-15);
	/* k = 0: the upper bound solves (1 - u)^n = alpha/2 */
	CHECK_OK(pgs_clopper_pearson(0, 10, 0.95, &lower, &upper, &err), &err);
	CHECK(lower == 0.0 && fabs(upper - (1 - pow(0.025, 0.1))) < 1e-15);
	CHECK_OK(pgs_clopper_pearson(5, 10, 0.95, &lower, &upper, &err), &err);
	CHECK(fabs(lower - 0.18708602844739839) < 1e-14 && fabs(upper - 0.81291397155260161) < 1e-14);
	CHECK_OK(pgs_clopper_pearson(10, 10, 0.95, &lower, &upper, &err), &err);
	CHECK(upper == 1.0 && fabs(lower - pow(0.025, 0.1)) < 1e-15);
	CHECK_OK(pgs_clopper_pearson(0, 0, 0.95, &lower, &upper, &err), &err);
	CHECK(isnan(lower) && isnan(upper));
	CHECK_FAILS(pgs_clopper_pearson(11, 10, 0.95, &lower, &upper, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_clopper_pearson(-1, 10, 0.95, &lower, &upper, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_clopper_pearson(1, 10, 1.0, &lower, &upper, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_clopper_pearson(1, 10, NAN, &lower, &upper, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	/* I_x(1, b) = 1 - (1 - x)^b exactly, and the inverse returns x */
	CHECK(fabs(pgs_beta_inc(1, 10, 0.1) - (1 - pow(0.9, 10))) < 1e-15);
	CHECK(fabs(pgs_beta_inc_inv(1, 10, 1 - pow(0.9, 10)) - 0.1) < 1e-15);
	CHECK(isnan(pgs_beta_inc(-1, 1, 0.5)) && pgs_beta_inc(2, 3, 0) == 0 && pgs_beta_inc(2, 3, 1) == 1);
}

static void
test_bootstrap_is_seeded(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1, 0.25, 0.33, 0.5, 0.55, 0.61, 0.2};
	const bool	labels[] = {true, true, true, false, false, false, true, false, false, true, true, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 12, &len);
	pgs_roc_view v;
	pgs_roc_bootstrap *b1,
			   *b2;
	double		r1[200],
				r2[200],
				lower,
				upper,
				se;
	double		known[5] = {0.5, 0.1, 0.4, 0.3, 0.2};

	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_create(&v, 99, &pgs_malloc_allocator, &b1, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_create(&v, 99, &pgs_malloc_allocator, &b2, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_run(b1, 150, r1, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_run(b1, 50, r1 + 150, &err), &err);	/* continued: the same replicates */
	CHECK_OK(pgs_roc_bootstrap_run(b2, 200, r2, &err), &err);
	CHECK(memcmp(r1, r2, sizeof r1) == 0);
	for (int i = 0; i < 200; i++)
		CHECK(r1[i] >= 0 && r1[i] <= 1);
	pgs_roc_bootstrap_free(b1);
	pgs_roc_bootstrap_free(b2);
	/* quantiles as R's type 7: sorted 0.1..0.5, q = 0.25 -> 0.2, q = 0.75 -> 0.4 */
	pgs_bootstrap_summary(known, 5, 0.5, &lower, &upper, &se);
	CHECK(fabs(lower - 0.2) < 1e-15 && fabs(upper - 0.4) < 1e-15 && fabs(se - sqrt(0.025)) < 1e-15);
	free(data);
}

static void
test_pairs_serialize_and_compare(void)
{
	pgs_roc_pairs *p,
			   *q;
	pgs_roc_comparison c;
	unsigned long long state = 3;
	uint8_t    *bytes;
	size_t		len;

	CHECK_OK(pgs_roc_pairs_create(&pgs_malloc_allocator, &p, &err), &err);
	CHECK_OK(pgs_roc_pairs_create(&pgs_malloc_allocator, &q, &err), &err);
	for (int i = 0; i < 1000; i++)
	{
		double		a = (double) (unit_random(&state) % 100) / 100;

		/* b ranks the cases exactly as a does */
		CHECK_OK(pgs_roc_pairs_add(p, a, 3 * a + 1, unit_random(&state) % 4 == 0, &err), &err);
	}
	CHECK_FAILS(pgs_roc_pairs_add(p, 0.5, NAN, true, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	pgs_roc_pairs_skip(p, 4);
	CHECK_OK(pgs_roc_pairs_serialize(p, 8, &pgs_malloc_allocator, &bytes, &len, &err), &err);
	CHECK_OK(pgs_roc_pairs_add_serialized(q, bytes + 8, len - 8, &err), &err);
	CHECK_FAILS(pgs_roc_pairs_add_serialized(q, bytes + 8, len - 9, &err), PGS_ERR_BAD_DATA, &err);
	CHECK_OK(pgs_roc_pairs_compare(q, &c, &err), &err);
	CHECK(c.positives + c.negatives == 1000 && c.skipped == 4);
	CHECK(c.auc_a == c.auc_b && c.variance_a == c.variance_b && c.variance_a == c.covariance);
	CHECK_FAILS(pgs_roc_pairs_compare(q, &c, &err), PGS_ERR_INTERNAL, &err);
	free(bytes);
	pgs_roc_pairs_free(p);
	pgs_roc_pairs_free(q);
}

static void
test_svg_is_escaped_ascii(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1};
	const bool	labels[] = {true, true, true, false, false, false};
	size_t		len,
				svg_len;
	uint8_t    *data = build(scores, labels, 6, &len);
	double		marks[] = {0.5};
	pgs_roc_plot_curve curve = {data, len, "model <A> & \"B\" \xc3\xa9\x01", marks, 1};
	pgs_roc_plot_options o = {560, 560, 0.95, "Retinopathy \xe2\x80\x94 test set"};
	char	   *svg;

	CHECK_OK(pgs_roc_svg(&curve, 1, &o, &pgs_malloc_allocator, &svg, &svg_len, &err), &err);
	CHECK(strlen(svg) == svg_len);
	for (size_t i = 0; i < svg_len; i++)
		CHECK((unsigned char) svg[i] < 0x80);
	CHECK(strstr(svg, "model &#60;A&#62; &#38; &#34;B&#34; &#233;&#65533;") != NULL);
	CHECK(strstr(svg, "Retinopathy &#8212; test set") != NULL);
	CHECK(strstr(svg, "<polyline") != NULL && strstr(svg, "<circle") != NULL);
	CHECK(strstr(svg, "AUC 0.833") != NULL);
	free(svg);
	o.width = 100;
	CHECK_FAILS(pgs_roc_svg(&curve, 1, &o, &pgs_malloc_allocator, &svg, &svg_len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	o.width = 560;
	o.level = 1.0;
	CHECK_FAILS(pgs_roc_svg(&curve, 1, &o, &pgs_malloc_allocator, &svg, &svg_len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(data);
}

/* An attribute's number in one element's opening tag, or fallback when the tag has none. */
static double
svg_attribute(const char *tag, const char *tag_end, const char *name, double fallback)
{
	char		key[40];
	const char *at;

	snprintf(key, sizeof key, " %s=\"", name);
	at = strstr(tag, key);
	return at && at < tag_end ? strtod(at + strlen(key), NULL) : fallback;
}

/*
 * Every <text> element's extent, estimated independently of the drawing code at 0.6 em per character (a
 * character reference counts as one) and from 0.8 em above to 0.2 em below the baseline, lies inside the
 * width×height viewBox; rotated text (the y axis's title) is checked along its rotated extent.
 */
static void
check_text_inside(const char *svg, int width, int height)
{
	int			texts = 0;

	for (const char *tag = strstr(svg, "<text "); tag; tag = strstr(tag + 1, "<text "))
	{
		const char *tag_end = strchr(tag, '>');
		const char *content_end = strstr(tag, "</text>");
		const char *anchor = strstr(tag, "text-anchor=\"");
		const char *rotate = strstr(tag, "rotate(-90)");
		double		font = svg_attribute(tag, tag_end, "font-size", 12),
					x = svg_attribute(tag, tag_end, "x", 0),
					y = svg_attribute(tag, tag_end, "y", 0),
					length = 0,
					along_start,
					left,
					right,
					top,
					bottom;
		int			chars = 0;

		if (!tag_end || !content_end)
		{
			CHECKF(false, "unterminated <text> element");
			return;
		}
		texts++;
		for (const char *c = tag_end + 1; c < content_end; c++)
		{
			if (c[0] == '&' && c[1] == '#')
				c = strchr(c, ';');
			chars++;
		}
		length = 0.6 * font * chars;
		along_start = !anchor || anchor > tag_end ? 0 :
			strncmp(anchor + 13, "middle", 6) == 0 ? -length / 2 :
			strncmp(anchor + 13, "end", 3) == 0 ? -length : 0;
		if (rotate && rotate < tag_end)
		{
			const char *translate = strstr(tag, "translate(");

			x = strtod(translate + 10, NULL);
			y = strtod(strchr(translate + 10, ' '), NULL);
			left = x - 0.8 * font;
			right = x + 0.2 * font;
			bottom = y - along_start;
			top = bottom - length;
		}
		else
		{
			left = x + along_start;
			right = left + length;
			top = y - 0.8 * font;
			bottom = y + 0.2 * font;
		}
		CHECKF(left >= 0 && right <= width && top >= 0 && bottom <= height,
			   "text \"%.*s\" spans x %.1f..%.1f, y %.1f..%.1f outside 0 0 %d %d", (int) (content_end - tag_end - 1),
			   tag_end + 1, left, right, top, bottom, width, height);
	}
	CHECK(texts >= 10);
}

/* Operating points anywhere on the curve keep their labels inside the picture, whatever its size. */
static void
test_svg_text_stays_inside(void)
{
	enum {N = 400};
	double		scores[N];
	bool		labels[N];
	unsigned long long state = 17;
	size_t		len,
				svg_len;
	uint8_t    *data;
	/* from a point at the far right (everything positive) to one at the far left (nothing positive) */
	double		marks[] = {0.0, 0.087, 0.3, 0.5, 0.8, 0.99, 2.0};
	const int	sizes[][2] = {{560, 560}, {800, 400}, {360, 360}, {200, 200}, {4000, 4000}};
	pgs_roc_plot_curve curve;
	char	   *svg;

	for (int i = 0; i < N; i++)
	{
		labels[i] = i % 5 == 0;
		scores[i] = fmin(1.0, (double) (unit_random(&state) % 1000) / 1000 * (labels[i] ? 1.6 : 0.9) + 0.001);
	}
	data = build(scores, labels, N, &len);
	curve = (pgs_roc_plot_curve) {data, len, "demo_dr", marks, (int) (sizeof marks / sizeof marks[0])};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
	{
		pgs_roc_plot_options o = {sizes[s][0], sizes[s][1], 0.95, "Test set"};

		CHECK_OK(pgs_roc_svg(&curve, 1, &o, &pgs_malloc_allocator, &svg, &svg_len, &err), &err);
		/* the axes' titles are wider than the smallest pictures; only the marks' labels must fit there */
		if (o.width >= 360)
			check_text_inside(svg, o.width, o.height);
		else
			check_text_inside(strstr(svg, "<circle"), o.width, o.height);
		free(svg);
	}
	free(data);
}

/* Each replicate is a cancel point: stopped at the nth, the n − 1 replicates before it are those of a full run. */
static void
test_bootstrap_cancel_points(void)
{
	const double scores[] = {0.9, 0.8, 0.4, 0.7, 0.4, 0.1, 0.25, 0.33, 0.5, 0.55, 0.61, 0.2};
	const bool	labels[] = {true, true, true, false, false, false, true, false, false, true, true, false};
	size_t		len;
	uint8_t    *data = build(scores, labels, 12, &len);
	pgs_roc_view v;
	pgs_roc_bootstrap *full,
			   *stopped;
	double		all[50],
				some[50];

	CHECK_OK(pgs_roc_open(data, len, &v, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_create(&v, 7, &pgs_malloc_allocator, &full, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_run(full, 50, all, &err), &err);
	CHECK_OK(pgs_roc_bootstrap_create(&v, 7, &pgs_malloc_allocator, &stopped, &err), &err);
	memset(some, 0, sizeof(some));
	cancel_arm(31);
	CHECK_FAILS(pgs_roc_bootstrap_run(stopped, 50, some, &err), PGS_ERR_CANCELLED, &err);
	cancel_arm(0);
	CHECK(memcmp(some, all, 30 * sizeof(double)) == 0 && some[30] == 0.0);
	pgs_roc_bootstrap_free(full);
	pgs_roc_bootstrap_free(stopped);
	free(data);
}

int
main(void)
{
	RUN(test_keys_keep_numeric_order);
	RUN(test_varints_round_trip_and_stay_canonical);
	RUN(test_hand_computed_auc_and_curve);
	RUN(test_operating_points_and_confusion);
	RUN(test_builder_matches_direct_counts);
	RUN(test_absorb_and_decode_give_identical_bytes);
	RUN(test_many_runs_merge_to_the_same_bytes);
	RUN(test_bad_scores_and_empty_input);
	RUN(test_variance_needs_two_cases_per_class);
	RUN(test_huge_counts_take_the_two_pass_path);
	RUN(test_corrupt_forms_are_refused);
	RUN(test_encode_checks_its_groups);
	RUN(test_distributions_known_values);
	RUN(test_bootstrap_is_seeded);
	RUN(test_pairs_serialize_and_compare);
	RUN(test_svg_is_escaped_ascii);
	RUN(test_svg_text_stays_inside);
	RUN(test_bootstrap_cancel_points);
	return unit_done();
}
