/* CPU batch normalization (per channel over N·H·W), following PyTorch's CPU kernels: double accumulators. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "../device/layer_shapes.h"

#include <math.h>

/* Below this many elements one thread does the whole layer: waking others would cost more. */
#define PARALLEL_MIN 65536

static int
workers_for_size(const pgs_shape4 *s)
{
	return pgs_shape4_numel(s) < PARALLEL_MIN ? 1 : 0;
}

/* Arguments of the per-channel loops (one task per channel). */
typedef struct bn_job
{
	const pgs_bn_desc *d;
	const float *x;
	const float *dy;
	const float *gamma;
	const float *beta;
	float	   *y;
	float	   *running_mean;	/* read-only in inference */
	float	   *running_var;
	float	   *mean;			/* saved by training forward, read by backward */
	float	   *invstd;
	float	   *dx;
	float	   *dgamma;
	float	   *dbeta;
} bn_job;

/* Channel c of image n starts at x + (n·C + c)·HW. */
static inline const float *
plane(const float *x, const pgs_shape4 *s, int n, int c)
{
	return x + ((size_t) n * s->c + c) * (size_t) s->h * s->w;
}

/* y = x·scale + shift over one channel of every image. */
static void
affine_channel(const pgs_shape4 *s, int c, const float *x, float *y, float scale, float shift)
{
	size_t		hw = (size_t) s->h * s->w;

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(x, s, n, c);
		float	   *out = (float *) plane(y, s, n, c);

		for (size_t i = 0; i < hw; i++)
			out[i] = in[i] * scale + shift;
	}
}

/*
 * The channel sums below keep LANES partial sums, one per position modulo LANES within each plane, added
 * together at the end: independent accumulators let the compiler vectorise the loop and run it at memory
 * speed, where a single double accumulator waits on one dependent addition per element. The order depends
 * on the shape alone, so results stay reproducible.
 */
#define LANES 8

static double
lanes_total(const double *acc)
{
	double		total = 0.0;

	for (int l = 0; l < LANES; l++)
		total += acc[l];
	return total;
}

/* Σ x over channel c of every image. */
static double
channel_sum(const pgs_shape4 *s, int c, const float *x)
{
	size_t		hw = (size_t) s->h * s->w;
	double		acc[LANES] = {0};

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(x, s, n, c);
		size_t		i = 0;

		for (; i + LANES <= hw; i += LANES)
			for (int l = 0; l < LANES; l++)
				acc[l] += in[i + l];
		for (; i < hw; i++)
			acc[i % LANES] += in[i];
	}
	return lanes_total(acc);
}

/* Σ (x − mean)² over channel c of every image. */
static double
channel_deviation_squares(const pgs_shape4 *s, int c, const float *x, double mean)
{
	size_t		hw = (size_t) s->h * s->w;
	double		acc[LANES] = {0};

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(x, s, n, c);
		size_t		i = 0;

		for (; i + LANES <= hw; i += LANES)
			for (int l = 0; l < LANES; l++)
			{
				double		dev = in[i + l] - mean;

				acc[l] += dev * dev;
			}
		for (; i < hw; i++)
		{
			double		dev = in[i] - mean;

			acc[i % LANES] += dev * dev;
		}
	}
	return lanes_total(acc);
}

/* Σ x and Σ x² over channel c of every image. */
static void
channel_sum_squares(const pgs_shape4 *s, int c, const float *x, double *sum, double *squares)
{
	size_t		hw = (size_t) s->h * s->w;
	double		acc[LANES] = {0},
				acc2[LANES] = {0};

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(x, s, n, c);
		size_t		i = 0;

		for (; i + LANES <= hw; i += LANES)
			for (int l = 0; l < LANES; l++)
			{
				acc[l] += in[i + l];
				acc2[l] += (double) in[i + l] * in[i + l];
			}
		for (; i < hw; i++)
		{
			acc[i % LANES] += in[i];
			acc2[i % LANES] += (double) in[i] * in[i];
		}
	}
	*sum = lanes_total(acc);
	*squares = lanes_total(acc2);
}

/* Σ dy and Σ (x − mean)·dy over channel c of every image: what backward needs. */
static void
channel_gradient_sums(const pgs_shape4 *s, int c, const float *x, const float *dy, double mean, double *sum,
					  double *dot)
{
	size_t		hw = (size_t) s->h * s->w;
	double		acc[LANES] = {0},
				acc2[LANES] = {0};

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(x, s, n, c);
		const float *g = plane(dy, s, n, c);
		size_t		i = 0;

		for (; i + LANES <= hw; i += LANES)
			for (int l = 0; l < LANES; l++)
			{
				acc[l] += g[i + l];
				acc2[l] += (in[i + l] - mean) * g[i + l];
			}
		for (; i < hw; i++)
		{
			acc[i % LANES] += g[i];
			acc2[i % LANES] += (in[i] - mean) * g[i];
		}
	}
	*sum = lanes_total(acc);
	*dot = lanes_total(acc2);
}

/* Mean first, then the sum of squared deviations: two passes, as PyTorch, never E[x²] − E[x]². */
static void
train_channel(void *arg, int c, int worker)
{
	const bn_job *j = arg;
	const pgs_bn_desc *d = j->d;
	const pgs_shape4 *s = &d->x;
	size_t		hw = (size_t) s->h * s->w;
	double		count = (double) s->n * (double) hw;
	double		sum = 0.0,
				var_sum = 0.0,
				mean,
				invstd;
	float		scale,
				shift;

	sum = channel_sum(s, c, j->x);
	mean = sum / count;
	var_sum = channel_deviation_squares(s, c, j->x, mean);
	invstd = 1.0 / sqrt(var_sum / count + d->eps);
	j->mean[c] = (float) mean;
	j->invstd[c] = (float) invstd;
	/* The running variance takes the unbiased estimate (Bessel's correction), as PyTorch and cuDNN do. */
	j->running_mean[c] = (float) (d->momentum * mean + (1.0 - d->momentum) * j->running_mean[c]);
	j->running_var[c] = (float) (d->momentum * (count > 1 ? var_sum / (count - 1) : var_sum) +
								 (1.0 - d->momentum) * j->running_var[c]);
	scale = (float) (invstd * j->gamma[c]);
	shift = (float) (j->beta[c] - mean * (double) scale);
	affine_channel(s, c, j->x, j->y, scale, shift);
}

pgs_status
pgs_cpu_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
						 const float *beta, float *y, float *running_mean, float *running_var, float *save_mean,
						 float *save_invstd, pgs_error *err)
{
	bn_job		job = {.d = d, .x = x, .gamma = gamma, .beta = beta, .y = y, .running_mean = running_mean,
	.running_var = running_var, .mean = save_mean, .invstd = save_invstd};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), train_channel, &job);
	return PGS_OK;
}

static void
infer_channel(void *arg, int c, int worker)
{
	const bn_job *j = arg;
	double		invstd = 1.0 / sqrt((double) j->running_var[c] + j->d->eps);
	float		scale = (float) (invstd * j->gamma[c]);
	float		shift = (float) (j->beta[c] - j->running_mean[c] * (double) scale);

	affine_channel(&j->d->x, c, j->x, j->y, scale, shift);
}

pgs_status
pgs_cpu_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
						 const float *beta, const float *running_mean, const float *running_var, float *y,
						 pgs_error *err)
{
	bn_job		job = {.d = d, .x = x, .gamma = gamma, .beta = beta, .y = y,
	.running_mean = (float *) running_mean, .running_var = (float *) running_var};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), infer_channel, &job);
	return PGS_OK;
}

/*
 * With x̂ = (x − mean)·invstd and m = N·H·W:
 *   dgamma += Σ dy·x̂,  dbeta += Σ dy,
 *   dx += gamma·invstd·(dy − Σdy/m − (x − mean)·invstd²·Σ dy·(x − mean)/m).
 */
static void
backward_channel(void *arg, int c, int worker)
{
	const bn_job *j = arg;
	const pgs_shape4 *s = &j->d->x;
	size_t		hw = (size_t) s->h * s->w;
	double		count = (double) s->n * (double) hw;
	double		mean = j->mean[c],
				invstd = j->invstd[c],
				sum = 0.0,
				dot = 0.0;
	float		k,
				grad_mean,
				w,
				m;

	channel_gradient_sums(s, c, j->x, j->dy, mean, &sum, &dot);
	j->dgamma[c] += (float) (dot * invstd);
	j->dbeta[c] += (float) sum;
	if (j->dx == NULL)
		return;
	k = (float) (dot * invstd * invstd / count);
	grad_mean = (float) (sum / count);
	w = (float) (invstd * j->gamma[c]);
	m = (float) mean;
	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(j->x, s, n, c);
		const float *g = plane(j->dy, s, n, c);
		float	   *out = (float *) plane(j->dx, s, n, c);

		for (size_t i = 0; i < hw; i++)
			out[i] += (g[i] - grad_mean - (in[i] - m) * k) * w;
	}
}

pgs_status
pgs_cpu_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
					const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta,
					pgs_error *err)
{
	bn_job		job = {.d = d, .x = x, .dy = dy, .gamma = gamma, .mean = (float *) save_mean,
	.invstd = (float *) save_invstd, .dx = dx, .dgamma = dgamma, .dbeta = dbeta};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), backward_channel, &job);
	return PGS_OK;
}

/* ---- batch norm with statistics summed over replicas: the same arithmetic, split around the sums ---- */

/* Arguments of the split loops; sums are double, as the accumulators above. */
typedef struct bn_sums_job
{
	bn_job		base;
	double	   *sums;
	const double *total;
	double		count;
} bn_sums_job;

static void
sums_channel(void *arg, int c, int worker)
{
	const bn_sums_job *j = arg;
	const pgs_shape4 *s = &j->base.d->x;
	double		sum,
				squares;

	channel_sum_squares(s, c, j->base.x, &sum, &squares);
	j->sums[c] = sum;
	j->sums[s->c + c] = squares;
}

pgs_status
pgs_cpu_bn_sums(void *ctx, const pgs_bn_desc *d, const float *x, double *sums, pgs_error *err)
{
	bn_sums_job job = {.base = {.d = d, .x = x}, .sums = sums};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), sums_channel, &job);
	return PGS_OK;
}

static void
forward_sums_channel(void *arg, int c, int worker)
{
	const bn_sums_job *j = arg;
	const bn_job *b = &j->base;
	const pgs_bn_desc *d = b->d;
	double		mean = j->total[c] / j->count;
	/* E[x²] − E[x]² in double over sums of floats; clamped, as rounding can take it below zero. */
	double		var = j->total[d->x.c + c] / j->count - mean * mean;
	double		invstd;
	float		scale,
				shift;

	var = var > 0.0 ? var : 0.0;
	invstd = 1.0 / sqrt(var + d->eps);
	b->mean[c] = (float) mean;
	b->invstd[c] = (float) invstd;
	b->running_mean[c] = (float) (d->momentum * mean + (1.0 - d->momentum) * b->running_mean[c]);
	b->running_var[c] = (float) (d->momentum * (j->count > 1 ? var * j->count / (j->count - 1) : var) +
								 (1.0 - d->momentum) * b->running_var[c]);
	scale = (float) (invstd * b->gamma[c]);
	shift = (float) (b->beta[c] - mean * (double) scale);
	affine_channel(&d->x, c, b->x, b->y, scale, shift);
}

pgs_status
pgs_cpu_bn_forward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
						const double *sums, double count, float *y, float *running_mean, float *running_var,
						float *save_mean, float *save_invstd, pgs_error *err)
{
	bn_sums_job job = {.base = {.d = d, .x = x, .gamma = gamma, .beta = beta, .y = y,
	.running_mean = running_mean, .running_var = running_var, .mean = save_mean, .invstd = save_invstd},
	.total = sums, .count = count};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	if (!(count >= 1.0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "batch norm over %g elements", count);
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), forward_sums_channel, &job);
	return PGS_OK;
}

static void
backward_sums_channel(void *arg, int c, int worker)
{
	const bn_sums_job *j = arg;
	const bn_job *b = &j->base;
	const pgs_shape4 *s = &b->d->x;
	double		mean = b->mean[c],
				sum,
				dot;

	channel_gradient_sums(s, c, b->x, b->dy, mean, &sum, &dot);
	j->sums[c] = sum;
	j->sums[s->c + c] = dot;
	b->dgamma[c] += (float) (dot * b->invstd[c]);
	b->dbeta[c] += (float) sum;
}

pgs_status
pgs_cpu_bn_backward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *save_mean,
						 const float *save_invstd, double *sums, float *dgamma, float *dbeta, pgs_error *err)
{
	bn_sums_job job = {.base = {.d = d, .x = x, .dy = dy, .mean = (float *) save_mean,
	.invstd = (float *) save_invstd, .dgamma = dgamma, .dbeta = dbeta}, .sums = sums};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), backward_sums_channel, &job);
	return PGS_OK;
}

static void
backward_data_channel(void *arg, int c, int worker)
{
	const bn_sums_job *j = arg;
	const bn_job *b = &j->base;
	const pgs_shape4 *s = &b->d->x;
	size_t		hw = (size_t) s->h * s->w;
	double		invstd = b->invstd[c];
	float		k = (float) (j->total[s->c + c] * invstd * invstd / j->count),
				grad_mean = (float) (j->total[c] / j->count),
				w = (float) (invstd * b->gamma[c]),
				m = b->mean[c];

	for (int n = 0; n < s->n; n++)
	{
		const float *in = plane(b->x, s, n, c);
		const float *g = plane(b->dy, s, n, c);
		float	   *out = (float *) plane(b->dx, s, n, c);

		for (size_t i = 0; i < hw; i++)
			out[i] += (g[i] - grad_mean - (in[i] - m) * k) * w;
	}
}

pgs_status
pgs_cpu_bn_backward_data(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
						 const float *save_mean, const float *save_invstd, const double *sums, double count,
						 float *dx, pgs_error *err)
{
	bn_sums_job job = {.base = {.d = d, .x = x, .dy = dy, .gamma = gamma, .mean = (float *) save_mean,
	.invstd = (float *) save_invstd, .dx = dx}, .total = sums, .count = count};
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	if (!(count >= 1.0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "batch norm over %g elements", count);
	pgs_parallel_for(d->x.c, workers_for_size(&d->x), backward_data_channel, &job);
	return PGS_OK;
}
