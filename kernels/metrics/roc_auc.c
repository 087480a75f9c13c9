/* Exact Mann-Whitney AUC and DeLong's variance from grouped counts (Sun & Xu's midrank form), Wald intervals. */
#include "roc.h"

#include <math.h>

#include "encoding.h"

#include "distributions.h"

pgs_status
pgs_check_level(double level, pgs_error *err)
{
	if (level > 0.0 && level < 1.0)
		return PGS_OK;
	if (isnan(level))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "level must be between 0 and 1 (exclusive), got NaN");
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "level must be between 0 and 1 (exclusive), got %g", level);
}

void
pgs_wald_interval(double estimate, double se, double level, double min, double max, double *lower, double *upper)
{
	double		z = pgs_normal_quantile(0.5 + 0.5 * level);

	*lower = fmax(min, estimate - z * se);
	*upper = fmin(max, estimate + z * se);
}

static pgs_status
corrupt(pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: malformed groups");
}

/*
 * With m positives and n negatives, Sun & Xu (2014) write DeLong's structural components through midranks:
 * V10(x) = (T_Z(x) - T_X(x)) / n for a positive x, where T_Z is its midrank among all cases and T_X among the
 * positives; V01(y) = 1 - (T_Z(y) - T_Y(y)) / m for a negative y. Sorting gives the midranks in O(N log N).
 * The roc value is already sorted and grouped: in a group of p positives and q negatives with b negatives
 * and c positives scoring higher, T_Z - T_X = (negatives below) + q/2, so every positive of the group has
 * V10 = u / 2n with u = 2(n - b - q) + q, and every negative V01 = w / 2m with w = 2c + p. The AUC is the mean
 * of V10 over the positives (and of V01 over the negatives); the variance is S10/m + S01/n, with S10 and S01
 * the sample variances of V10 and V01 over the cases.
 *
 * u and w are integers, so with fewer than 2^31 cases per class one pass sums p·u, p·u², q·w and q·w² exactly
 * in 128 bits (m·Σpu² < 2^126), and S10 = (m·Σpu² - (Σpu)²) / (m(m-1)·4n²) is rounded only at the end.
 * Larger classes take two passes in floating point, centring on the AUC found by the first.
 */
#define EXACT_CLASS_LIMIT ((int64_t) 1 << 31)

typedef unsigned __int128 u128;

static pgs_status
delong_exact(const pgs_roc_view *view, pgs_roc_auc *result, pgs_error *err)
{
	const int64_t m = view->positives,
				n = view->negatives;
	pgs_roc_cursor cursor;
	pgs_roc_group g;
	u128		sum_u = 0,
				sum_uu = 0,
				sum_w = 0,
				sum_ww = 0;
	uint64_t	negatives_above = 0,
				positives_above = 0;
	int			r;

	pgs_roc_cursor_init(&cursor, view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1)
	{
		uint64_t	p = (uint64_t) g.positives,
					q = (uint64_t) g.negatives;
		uint64_t	u = 2 * ((uint64_t) n - negatives_above - q) + q;
		uint64_t	w = 2 * positives_above + p;
		u128		pu = (u128) p * u,
					qw = (u128) q * w;

		sum_u += pu;
		sum_uu += pu * u;
		sum_w += qw;
		sum_ww += qw * w;
		negatives_above += q;
		positives_above += p;
	}
	if (r < 0)
		return corrupt(err);
	result->auc = (double) sum_u / (2.0 * (double) m * (double) n);
	if (m >= 2 && n >= 2)
	{
		double		s10 = (double) ((u128) m * sum_uu - sum_u * sum_u) /
			((double) m * (double) (m - 1) * 4.0 * (double) n * (double) n);
		double		s01 = (double) ((u128) n * sum_ww - sum_w * sum_w) /
			((double) n * (double) (n - 1) * 4.0 * (double) m * (double) m);

		result->variance = s10 / (double) m + s01 / (double) n;
	}
	return PGS_OK;
}

static pgs_status
delong_two_pass(const pgs_roc_view *view, pgs_roc_auc *result, pgs_error *err)
{
	const int64_t m = view->positives,
				n = view->negatives;
	pgs_roc_cursor cursor;
	pgs_roc_group g;
	u128		twice_sum = 0;
	int64_t		negatives_above = 0,
				positives_above = 0;
	double		auc,
				s10 = 0.0,
				s01 = 0.0;
	int			r;

	pgs_roc_cursor_init(&cursor, view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1)
	{
		uint64_t	below = (uint64_t) (n - negatives_above - g.negatives);

		twice_sum += (u128) g.positives * (2 * below + (uint64_t) g.negatives);
		negatives_above += g.negatives;
	}
	if (r < 0)
		return corrupt(err);
	auc = (double) twice_sum / (2.0 * (double) m * (double) n);
	result->auc = auc;

	negatives_above = 0;
	pgs_roc_cursor_init(&cursor, view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1)
	{
		if (g.positives > 0)
		{
			double		v10 = ((double) (n - negatives_above - g.negatives) + 0.5 * (double) g.negatives) / (double) n;

			s10 += (double) g.positives * (v10 - auc) * (v10 - auc);
		}
		if (g.negatives > 0)
		{
			double		v01 = ((double) positives_above + 0.5 * (double) g.positives) / (double) m;

			s01 += (double) g.negatives * (v01 - auc) * (v01 - auc);
		}
		negatives_above += g.negatives;
		positives_above += g.positives;
	}
	if (r < 0)
		return corrupt(err);
	result->variance = s10 / (double) (m - 1) / (double) m + s01 / (double) (n - 1) / (double) n;
	return PGS_OK;
}

pgs_status
pgs_roc_delong(const pgs_roc_view *view, bool want_variance, pgs_roc_auc *result, pgs_error *err)
{
	result->auc = NAN;
	result->variance = NAN;
	if (view->positives == 0 || view->negatives == 0)
		return PGS_OK;
	if (view->positives < EXACT_CLASS_LIMIT && view->negatives < EXACT_CLASS_LIMIT)
	{
		pgs_status	st = delong_exact(view, result, err);

		if (!want_variance)
			result->variance = NAN;
		return st;
	}
	/* Both passes are needed for the AUC alone too: the first computes it. */
	return delong_two_pass(view, result, err);
}
