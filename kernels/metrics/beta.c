/* Regularized incomplete beta function, its inverse, and the Clopper-Pearson interval built on them. */
#include "distributions.h"

#include <math.h>

#include "roc.h"

#define HALF_LOG_2PI 0.91893853320467274178
/* Below this size a shape parameter's lgamma is small enough to use directly. */
#define LARGE_SHAPE 10.0
#define CF_EPSILON 1e-15
#define CF_MAX_ITERATIONS 10000000

/*
 * δ(z) = lgamma(z) - [(z - 1/2) ln z - z + ln(2π)/2], the remainder of Stirling's formula, from its
 * asymptotic series (Bernoulli numbers B2..B14); for z >= 10 the first omitted term is below 1e-16.
 */
static double
stirling_remainder(double z)
{
	double		r = 1.0 / (z * z);

	return (1.0 / 12 + r * (-1.0 / 360 + r * (1.0 / 1260 + r * (-1.0 / 1680 + r * (1.0 / 1188 +
			r * (-691.0 / 360360 + r * (1.0 / 156))))))) / z;
}

/*
 * e - ln(1 + e) without cancellation. With t = e / (2 + e), ln(1 + e) = 2 atanh(t), so
 * e - ln(1 + e) = t e - 2 (t^3/3 + t^5/5 + ...), whose terms are small beside t e for |e| <= 1/2.
 */
static double
log1p_deficit(double e)
{
	double		t,
				t2,
				power,
				sum = 0.0;

	if (fabs(e) > 0.5)
		return e - log1p(e);
	t = e / (2.0 + e);
	t2 = t * t;
	power = t;
	for (int k = 3; k < 200; k += 2)
	{
		double		term;

		power *= t2;
		term = power / k;
		sum += term;
		if (fabs(term) <= 1e-17 * fabs(sum))
			break;
	}
	return t * e - 2.0 * sum;
}

/* ln[Γ(a+b) / (Γ(a) Γ(b))] · x^a y^b with a < 10 <= b, y = 1 - x. */
static double
log_prefactor_small_large(double a, double b, double x, double y)
{
	double		s = a + b;

	/* ln Γ(a+b)/Γ(b) = (b - 1/2) ln(1 + a/b) + a ln(a+b) - a + δ(a+b) - δ(b), by Stirling on both. */
	return a * log(x * s) + b * (x < 0.5 ? log1p(-x) : log(y)) + (b - 0.5) * log1p(a / b) - a +
		stirling_remainder(s) - stirling_remainder(b) - lgamma(a);
}

/*
 * ln[x^a y^b / B(a, b)], y = 1 - x given separately so that neither loses digits. For large a and b the
 * lgamma differences would cancel catastrophically (lgamma(1e7) is 1.5e8, so its rounding alone is 3e-8);
 * instead, with x0 = a/(a+b), y0 = b/(a+b), Stirling's formula turns the whole into
 *   -[a·d(x/x0 - 1) + b·d(y/y0 - 1)] + ln(ab/(a+b))/2 - ln(2π)/2 + δ(a+b) - δ(a) - δ(b),
 * d(e) = e - ln(1+e) >= 0, a sum of terms of one sign (a·(x/x0 - 1) + b·(y/y0 - 1) = 0 cancels exactly).
 */
static double
log_prefactor(double a, double b, double x, double y)
{
	if (a >= LARGE_SHAPE && b >= LARGE_SHAPE)
	{
		double		s = a + b;
		double		lambda = a <= b ? a - s * x : s * y - b;

		return -(a * log1p_deficit(-lambda / a) + b * log1p_deficit(lambda / b)) +
			0.5 * log(a / s * b) - HALF_LOG_2PI +
			stirling_remainder(s) - stirling_remainder(a) - stirling_remainder(b);
	}
	if (b >= LARGE_SHAPE)
		return log_prefactor_small_large(a, b, x, y);
	if (a >= LARGE_SHAPE)
		return log_prefactor_small_large(b, a, y, x);
	return a * log(x) + b * log(y) + lgamma(a + b) - lgamma(a) - lgamma(b);
}

/*
 * The continued fraction of I_x(a, b) (DLMF 8.17.22), I = x^a y^b / (a B(a,b)) · 1/(1 + d1/(1 + d2/(1 + ...))),
 * d(2m+1) = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)), d(2m) = m(b-m) x / ((a+2m-1)(a+2m)), by the modified Lentz
 * method. It converges quickly for x < (a+1)/(a+b+2), in O(sqrt(max(a, b))) steps at worst.
 */
static double
beta_continued_fraction(double a, double b, double x)
{
	const double tiny = 1e-300;
	double		c = 1.0,
				d = 1.0 - (a + b) * x / (a + 1.0),
				h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m <= CF_MAX_ITERATIONS; m++)
	{
		double		m2 = 2.0 * m;
		double		coef = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		double		delta;

		d = 1.0 + coef * d;
		c = 1.0 + coef / c;
		d = 1.0 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		h *= d * c;
		coef = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + coef * d;
		c = 1.0 + coef / c;
		d = 1.0 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < CF_EPSILON)
			return h;
	}
	return NAN;
}

/* I_x(a, b) for 0 < x < 1 with y = 1 - x, using the symmetry I_x(a,b) = 1 - I_y(b,a) where that converges faster. */
static double
beta_inc_xy(double a, double b, double x, double y)
{
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(log_prefactor(a, b, x, y)) * beta_continued_fraction(a, b, x) / a;
	return 1.0 - exp(log_prefactor(b, a, y, x)) * beta_continued_fraction(b, a, y) / b;
}

double
pgs_beta_inc(double a, double b, double x)
{
	if (!(a > 0.0) || !(b > 0.0) || isinf(a) || isinf(b) || isnan(x) || x < 0.0 || x > 1.0)
		return NAN;
	if (x == 0.0 || x == 1.0)
		return x;
	return beta_inc_xy(a, b, x, 1.0 - x);
}

/*
 * A first guess for the p-quantile (p <= 1/2). For a, b >= 1, the normal approximation with a skewness
 * correction of Abramowitz & Stegun 26.5.22; for smaller shapes, the behaviour near 0 and 1 of the density,
 * I ≈ x^a/(a·B) and 1 - I ≈ y^b/(b·B), with B replaced by the two tails' share.
 */
static double
initial_guess(double a, double b, double p)
{
	double		x;

	if (a >= 1.0 && b >= 1.0)
	{
		double		z = -pgs_normal_quantile(p);
		double		lambda = (z * z - 3.0) / 6.0;
		double		h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0));
		double		w = z * sqrt(h + lambda) / h -
			(1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (lambda + 5.0 / 6.0 - 2.0 / (3.0 * h));

		x = a / (a + b * exp(2.0 * w));
	}
	else
	{
		double		t = exp(a * log(a / (a + b))) / a;
		double		u = exp(b * log(b / (a + b))) / b;
		double		w = t + u;

		x = p < t / w ? pow(a * w * p, 1.0 / a) : 1.0 - pow(b * w * (1.0 - p), 1.0 / b);
	}
	if (!(x > 0.0) || !(x < 1.0) || isnan(x))
		x = 0.5;
	return x;
}

/* The p-quantile for p <= 1/2: Halley's method on I_x - p, kept inside a bracket that bisects on a bad step. */
static double
lower_quantile(double a, double b, double p)
{
	double		lo = 0.0,
				hi = 1.0,
				x = initial_guess(a, b, p);

	for (int iteration = 0; iteration < 300; iteration++)
	{
		double		y = 1.0 - x;
		double		f = beta_inc_xy(a, b, x, y) - p;
		double		density,
					next;

		if (isnan(f))
			return NAN;
		if (f == 0.0)
			return x;
		if (f < 0.0)
			lo = x;
		else
			hi = x;
		density = exp(log_prefactor(a, b, x, y) - log(x) - log(y));
		next = -1.0;
		if (density > 0.0 && isfinite(density))
		{
			double		u = f / density;
			double		curvature = u * ((a - 1.0) / x - (b - 1.0) / y);

			next = x - u / (1.0 - 0.5 * fmin(1.0, curvature));
		}
		if (!(next > lo && next < hi))
			next = lo == 0.0 ? hi / 16.0 : (hi > 4.0 * lo ? sqrt(lo * hi) : 0.5 * (lo + hi));
		if (fabs(next - x) <= 2e-16 * x || hi - lo <= 2e-16 * x)
			return next;
		x = next;
	}
	return x;
}

double
pgs_beta_inc_inv(double a, double b, double p)
{
	if (!(a > 0.0) || !(b > 0.0) || isinf(a) || isinf(b) || isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0 || p == 1.0)
		return p;
	/* I_x(a,b) = p  <=>  I_{1-x}(b,a) = 1 - p: solve whichever tail is the smaller probability. */
	if (p <= 0.5)
		return lower_quantile(a, b, p);
	return 1.0 - lower_quantile(b, a, 1.0 - p);
}

pgs_status
pgs_clopper_pearson(int64_t k, int64_t n, double level, double *lower, double *upper, pgs_error *err)
{
	double		alpha;
	pgs_status	st = pgs_check_level(level, err);

	if (st != PGS_OK)
		return st;
	if (n < 0 || k < 0 || k > n)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"successes must be between 0 and the number of trials, got %lld of %lld",
						(long long) k, (long long) n);
	if (n == 0)
	{
		*lower = *upper = NAN;
		return PGS_OK;
	}
	alpha = 1.0 - level;
	/* lower = Beta(k, n-k+1) quantile at alpha/2; upper = Beta(k+1, n-k) quantile at 1 - alpha/2, i.e. one
	 * minus the Beta(n-k, k+1) quantile at alpha/2, which keeps its digits when the bound is near 1. */
	*lower = k == 0 ? 0.0 : lower_quantile((double) k, (double) (n - k) + 1.0, alpha / 2.0);
	*upper = k == n ? 1.0 : 1.0 - lower_quantile((double) (n - k), (double) k + 1.0, alpha / 2.0);
	if (isnan(*lower) || isnan(*upper))
		return pgs_fail(err, PGS_ERR_INTERNAL, "beta quantile did not converge for %lld of %lld",
						(long long) k, (long long) n);
	return PGS_OK;
}
