/* CPU batch normalisation (per channel over N·H·W), following PyTorch's CPU kernels: double accumulators. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "layer_shapes.h"

#include <math.h>

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

pgs_status
pgs_cpu_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
						 const float *beta, float *y, float *running_mean, float *running_var, float *save_mean,
						 float *save_invstd, pgs_error *err)
{
	const pgs_shape4 *s = &d->x;
	size_t		hw = (size_t) s->h * s->w;
	double		count = (double) s->n * (double) hw;
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static)
	for (int c = 0; c < s->c; c++)
	{
		double		sum = 0.0,
					var_sum = 0.0,
					mean,
					invstd;
		float		scale,
					shift;

		for (int n = 0; n < s->n; n++)
		{
			const float *in = plane(x, s, n, c);

			for (size_t i = 0; i < hw; i++)
				sum += in[i];
		}
		mean = sum / count;
		for (int n = 0; n < s->n; n++)
		{
			const float *in = plane(x, s, n, c);

			for (size_t i = 0; i < hw; i++)
			{
				double		dev = in[i] - mean;

				var_sum += dev * dev;
			}
		}
		invstd = 1.0 / sqrt(var_sum / count + d->eps);
		save_mean[c] = (float) mean;
		save_invstd[c] = (float) invstd;
		/* Running variance takes the unbiased estimate (Bessel's correction), as PyTorch and cuDNN do. */
		running_mean[c] = (float) (d->momentum * mean + (1.0 - d->momentum) * running_mean[c]);
		running_var[c] = (float) (d->momentum * (count > 1 ? var_sum / (count - 1) : var_sum) +
								  (1.0 - d->momentum) * running_var[c]);
		scale = (float) (invstd * gamma[c]);
		shift = (float) (beta[c] - mean * (double) scale);
		affine_channel(s, c, x, y, scale, shift);
	}
	return PGS_OK;
}

pgs_status
pgs_cpu_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
						 const float *beta, const float *running_mean, const float *running_var, float *y,
						 pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static)
	for (int c = 0; c < d->x.c; c++)
	{
		double		invstd = 1.0 / sqrt((double) running_var[c] + d->eps);
		float		scale = (float) (invstd * gamma[c]);
		float		shift = (float) (beta[c] - running_mean[c] * (double) scale);

		affine_channel(&d->x, c, x, y, scale, shift);
	}
	return PGS_OK;
}

/*
 * With x̂ = (x − mean)·invstd and m = N·H·W:
 *   dgamma += Σ dy·x̂,  dbeta += Σ dy,
 *   dx += gamma·invstd·(dy − Σdy/m − (x − mean)·invstd²·Σ dy·(x − mean)/m).
 */
pgs_status
pgs_cpu_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
					const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta,
					pgs_error *err)
{
	const pgs_shape4 *s = &d->x;
	size_t		hw = (size_t) s->h * s->w;
	double		count = (double) s->n * (double) hw;
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static)
	for (int c = 0; c < s->c; c++)
	{
		double		mean = save_mean[c],
					invstd = save_invstd[c],
					sum = 0.0,
					dot = 0.0;

		for (int n = 0; n < s->n; n++)
		{
			const float *in = plane(x, s, n, c);
			const float *g = plane(dy, s, n, c);

			for (size_t i = 0; i < hw; i++)
			{
				sum += g[i];
				dot += (in[i] - mean) * g[i];
			}
		}
		dgamma[c] += (float) (dot * invstd);
		dbeta[c] += (float) sum;
		if (dx == NULL)
			continue;
		{
			float		k = (float) (dot * invstd * invstd / count);
			float		grad_mean = (float) (sum / count);
			float		w = (float) (invstd * gamma[c]);
			float		m = (float) mean;

			for (int n = 0; n < s->n; n++)
			{
				const float *in = plane(x, s, n, c);
				const float *g = plane(dy, s, n, c);
				float	   *out = (float *) plane(dx, s, n, c);

				for (size_t i = 0; i < hw; i++)
					out[i] += (g[i] - grad_mean - (in[i] - m) * k) * w;
			}
		}
	}
	return PGS_OK;
}
