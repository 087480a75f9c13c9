/* The normal and beta distributions pgscreen's intervals need, and the exact binomial (Clopper-Pearson) interval. */
#ifndef PGS_DISTRIBUTIONS_H
#define PGS_DISTRIBUTIONS_H

#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Standard normal distribution function and its inverse (accurate to a few ulp; ±Infinity at 0 and 1). */
double		pgs_normal_cdf(double x);
double		pgs_normal_quantile(double p);

/*
 * The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1, and its inverse in x.
 * Both keep about 13 significant digits for a and b up to 1e12 (the log of the x^a (1-x)^b / B(a, b) factor is
 * formed without the cancellation of lgamma differences); NaN for arguments outside their domain.
 */
double		pgs_beta_inc(double a, double b, double x);
double		pgs_beta_inc_inv(double a, double b, double p);

/*
 * Exact (Clopper-Pearson) interval for k successes in n trials at the given level: the bounds are beta
 * quantiles, 0 when k = 0 and 1 when k = n. n = 0 gives NaN bounds (no information).
 */
pgs_status	pgs_clopper_pearson(int64_t k, int64_t n, double level, double *lower, double *upper, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
