/* Helpers for the network engine's unit tests: random tensors and finite-difference gradient checks. */
#ifndef PGS_NN_TESTING_H
#define PGS_NN_TESTING_H

#include <math.h>

#include "unit.h"

/* Uniform in [lo, hi). */
static inline void
nn_fill_uniform(float *x, size_t n, float lo, float hi, unsigned long long *state)
{
	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * (float) ((double) (unit_random(state) >> 11) / 9007199254740992.0);
}

static inline float *
nn_random(size_t n, float lo, float hi, unsigned long long seed)
{
	float	   *x = malloc((n ? n : 1) * sizeof(float));
	unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 1;

	nn_fill_uniform(x, n, lo, hi, &state);
	return x;
}

static inline float *
nn_zeros(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

/* Σ a[i]·b[i] in double: the scalar "loss" whose gradient with respect to a is b. */
static inline double
nn_dot(const float *a, const float *b, size_t n)
{
	double		s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

/*
 * Compare an analytic gradient with central differences of loss(): for up to `samples` coordinates of x
 * (all when samples ≥ n), perturb x[i] by ±h and difference the loss. The error is measured against the
 * largest gradient magnitude seen (a norm-wise relative error), which is robust where single entries are
 * near zero. Returns the worst error and prints it with the coordinate.
 */
typedef double (*nn_loss_fn) (void *ctx);

static inline double
nn_gradient_check(const char *what, float *x, const float *analytic, size_t n, size_t samples, float h,
				  nn_loss_fn loss, void *ctx)
{
	double		worst = 0,
				scale = 1e-3;
	size_t		worst_at = 0;
	double		worst_numeric = 0;
	size_t		step = samples >= n ? 1 : n / samples;
	double	   *numeric = malloc(((n + step - 1) / step + 1) * sizeof(double));
	size_t		k = 0;

	for (size_t i = 0; i < n; i += step, k++)
	{
		float		saved = x[i];
		double		plus,
					minus;

		x[i] = saved + h;
		plus = loss(ctx);
		x[i] = saved - h;
		minus = loss(ctx);
		x[i] = saved;
		/* divide by the step actually taken in float, not by 2h */
		numeric[k] = (plus - minus) / ((double) (saved + h) - (double) (saved - h));
		scale = fmax(scale, fabs(numeric[k]));
	}
	k = 0;
	for (size_t i = 0; i < n; i += step, k++)
	{
		double		e = fabs(numeric[k] - analytic[i]) / scale;

		if (e > worst || isnan(e))
		{
			worst = isnan(e) ? INFINITY : e;
			worst_at = i;
			worst_numeric = numeric[k];
		}
	}
	printf("# %-44s worst error %.2e at %zu (analytic %.6g, numeric %.6g)\n", what, worst, worst_at,
		   n ? analytic[worst_at] : 0.0, worst_numeric);
	free(numeric);
	return worst;
}

#endif
