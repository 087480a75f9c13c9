/* Regularized incomplete beta function, its inverse, and the Clopper-Pearson interval built on them. */
#include "distributions.h"

#include <math.h>

#include "roc.h"

#define HALF_LOG_2PI 0.91893853320467274178
/* Below this size a shape parameter's lgamma is small enough to use directly. */
#define LARGE_SHAPE 10.0
#define CF_EPSILON 1e-18L
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
		double		e1 = -lambda / a,
					e2 = lambda / b;
		/* far from the mean, 1 + e loses digits that x/x0 = xs/a and y/y0 = ys/b keep */
		double		u = fabs(e1) > 0.5 ? e1 - log(x * s / a) : log1p_deficit(e1);
		double		v = fabs(e2) > 0.5 ? e2 - log(y * s / b) : log1p_deficit(e2);

		return -(a * u + b * v) +
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
 * The continued fraction of I_x(a, b) (DLMF 8.17.22), y = 1 - x:
 *   I = x^a y^b / (a B(a,b)) · 1/(1 + d1/(1 + d2/(1 + ...))),
 *   d(2m+1) = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),  d(2m) = m(b-m) x / ((a+2m-1)(a+2m)),
 * by the modified Lentz method. It converges quickly for x < (a+1)/(a+b+2), in O(sqrt(max(a, b))) steps at
 * worst. Its odd steps compute 1 - x(1 + b/a)·(...), which cancels when x is close to 1 (a large, b small:
 * the Clopper-Pearson bounds of a proportion near 1): with y = 6e-8 a double keeps only 9 digits. Long
 * double (64-bit significand on x86-64) keeps 12 there, so the fraction is evaluated in it.
 */
static double
beta_continued_fraction(double a_, double b_, double x_, double y_)
{
	const long double tiny = 1e-300L;
	const long double a = a_,
				b = b_,
				x = x_,
				y = y_;
	long double c = 1.0L,
				d,
				h;

	/* The first denominator 1 - (a+b)x/(a+1) equals [(a+b)y + 1 - b]/(a+1), which keeps its digits near x = 1. */
	d = x <= 0.5L ? 1.0L - (a + b) * x / (a + 1.0L) : ((a + b) * y + (1.0L - b)) / (a + 1.0L);
	if (fabsl(d) < tiny)
		d = tiny;
	d = 1.0L / d;
	h = d;
	for (int m = 1; m <= CF_MAX_ITERATIONS; m++)
	{
		long double m2 = 2.0L * m;
		long double coef = m * (b - m) * x / ((a + m2 - 1.0L) * (a + m2));
		long double delta;

		d = 1.0L + coef * d;
		c = 1.0L + coef / c;
		d = 1.0L / (fabsl(d) < tiny ? tiny : d);
		c = fabsl(c) < tiny ? tiny : c;
		h *= d * c;
		coef = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0L));
		d = 1.0L + coef * d;
		c = 1.0L + coef / c;
		d = 1.0L / (fabsl(d) < tiny ? tiny : d);
		c = fabsl(c) < tiny ? tiny : c;
		delta = d * c;
		h *= delta;
		if (fabsl(delta - 1.0L) < CF_EPSILON)
			return (double) h;
	}
	return NAN;
}

/*
 * Both tails for integer shapes when the smaller is at most 1000, the case of exact binomial intervals with
 * few successes or few failures: with N = a + b - 1, I_x(a, b) = P(Bin(N, x) >= a) = P(Bin(N, y) <= b - 1).
 * The smaller shape's tail is a sum of at most 1000 positive binomial probabilities, each from the previous
 * by one multiplication, in long double (whose range also holds e^-11000). The other tail is one minus it,
 * or, when that would cancel, the sum of the probabilities above, which fall quickly past the mode there.
 * Returns false when the shapes do not qualify.
 */
#define BINOMIAL_SHAPE_LIMIT 1000.0

static bool
beta_inc_binomial(double a, double b, double x, double y, double *lower, double *upper)
{
	bool		small_b = b <= a;
	double		s = small_b ? b : a;
	long double n,
				z,
				ratio,
				term,
				below = 0.0L,
				above = 0.0L;

	if (s > BINOMIAL_SHAPE_LIMIT || a != floor(a) || b != floor(b) || a + b > 9007199254740992.0)
		return false;
	n = (long double) a + (long double) b - 1.0L;
	z = small_b ? y : x;		/* below = P(Bin(n, z) <= s - 1) */
	ratio = z / (small_b ? (long double) x : (long double) y);
	term = expl(n * (z < 0.5L ? log1pl(-z) : logl(small_b ? (long double) x : (long double) y)));
	for (long double i = 0; i < s; i++)
	{
		below += term;
		term *= (n - i) / (i + 1.0L) * ratio;
	}
	if (below <= 0.5L)
		above = 1.0L - below;
	else
	{
		for (long double i = s; i <= n && i < s + 1e7L; i++)
		{
			above += term;
			if (term <= 1e-21L * above && i > n * z)
				break;
			term *= (n - i) / (i + 1.0L) * ratio;
		}
		below = 1.0L - above;
	}
	*lower = (double) (small_b ? below : above);
	*upper = (double) (small_b ? above : below);
	return true;
}

/*
 * I_x(a, b) and its complement 1 - I_x(a, b) for 0 < x < 1, y = 1 - x: by the binomial sums above where they
 * apply, else one of them straight from the continued fraction (on whichever side of the mean it converges
 * fast), the other as one minus it, so the smaller of the two keeps its relative precision.
 */
static void
beta_inc_both(double a, double b, double x, double y, double *lower, double *upper)
{
	if (beta_inc_binomial(a, b, x, y, lower, upper))
		return;
	if (x < (a + 1.0) / (a + b + 2.0))
	{
		*lower = exp(log_prefactor(a, b, x, y)) * beta_continued_fraction(a, b, x, y) / a;
		*upper = 1.0 - *lower;
	}
	else
	{
		*upper = exp(log_prefactor(b, a, y, x)) * beta_continued_fraction(b, a, y, x) / b;
		*lower = 1.0 - *upper;
	}
}

double
pgs_beta_inc(double a, double b, double x)
{
	if (!(a > 0.0) || !(b > 0.0) || isinf(a) || isinf(b) || isnan(x) || x < 0.0 || x > 1.0)
		return NAN;
	double		lower,
				upper;

	if (x == 0.0 || x == 1.0)
		return x;
	beta_inc_both(a, b, x, 1.0 - x, &lower, &upper);
	return lower;
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

/*
 * The x where the lower tail I_x(a, b) (or, with upper_tail, the upper tail 1 - I_x(a, b)) equals p <= 1/2.
 * Working on the smaller tail keeps p's digits, and working in x (never 1 - x) keeps the digits of quantiles
 * near 0, which is where exact intervals for rare events lie. Halley's method from the first guess, inside a
 * bracket: a step that leaves the bracket, or fails to halve |f|, is replaced by bisection (geometric when
 * the bracket spans orders of magnitude).
 */
static double
beta_quantile(double a, double b, double p, bool upper_tail)
{
	double		lo = 0.0,
				hi = 1.0,
				previous = INFINITY,
				x = initial_guess(a, b, upper_tail ? 1.0 - p : p);

	for (int iteration = 0; iteration < 400; iteration++)
	{
		double		y = 1.0 - x;
		double		tail_lower,
					tail_upper,
					f,
					density,
					next = NAN;

		beta_inc_both(a, b, x, y, &tail_lower, &tail_upper);
		/* f is increasing in x for either tail */
		f = upper_tail ? p - tail_upper : tail_lower - p;
		if (isnan(f))
			return NAN;
		if (f == 0.0)
			return x;
		if (f < 0.0)
			lo = x;
		else
			hi = x;
		density = exp(log_prefactor(a, b, x, y) - log(x) - log(y));
		if (density > 0.0 && isfinite(density))
		{
			double		u = f / density;
			double		curvature = u * ((a - 1.0) / x - (b - 1.0) / y);

			next = x - u / (1.0 - 0.5 * fmin(1.0, curvature));
			if (fabs(next - x) <= 4e-16 * x)
				return next;
		}
		if (!(next > lo && next < hi) || fabs(f) > 0.5 * previous)
			next = lo == 0.0 ? hi / 16.0 : (hi > 4.0 * lo ? sqrt(lo * hi) : 0.5 * (lo + hi));
		if (hi - lo <= 4e-16 * lo)
			return 0.5 * (lo + hi);
		previous = fabs(f);
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
	return p <= 0.5 ? beta_quantile(a, b, p, false) : beta_quantile(a, b, 1.0 - p, true);
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
	/* lower: Beta(k, n-k+1) quantile at alpha/2; upper: Beta(k+1, n-k) quantile at 1 - alpha/2, found from
	 * its upper tail alpha/2 */
	*lower = k == 0 ? 0.0 : beta_quantile((double) k, (double) (n - k) + 1.0, alpha / 2.0, false);
	*upper = k == n ? 1.0 : beta_quantile((double) k + 1.0, (double) (n - k), alpha / 2.0, true);
	if (isnan(*lower) || isnan(*upper))
		return pgs_fail(err, PGS_ERR_INTERNAL, "beta quantile did not converge for %lld of %lld",
						(long long) k, (long long) n);
	return PGS_OK;
}
