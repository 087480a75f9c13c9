/* CPU element-wise ops: memory helpers, ReLU, dropout, concatenation, the two losses, sums of squares. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "layer_shapes.h"
#include "nn_math.h"

#include <math.h>
#include <string.h>

/* Below this many elements a loop is not worth waking the pool for. */
#define PARALLEL_MIN 32768

pgs_status
pgs_cpu_configure(void *ctx, const pgs_device_options *options, pgs_error *err)
{
	if (options->cpu_threads < 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "cpu_threads must be 0 (all cores) or positive, not %d",
						options->cpu_threads);
	pgs_cpu_set_thread_count(options->cpu_threads);
	return PGS_OK;
}

pgs_status
pgs_cpu_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err)
{
	if (bytes > 0)
		memset(ptr, 0, bytes);
	return PGS_OK;
}

pgs_status
pgs_cpu_fill(void *ctx, size_t n, float value, float *x, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
		x[i] = value;
	return PGS_OK;
}

pgs_status
pgs_cpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	if (bytes > 0 && dst != src)
		memmove(dst, src, bytes);
	return PGS_OK;
}

/* Per-thread partial sums added in thread order, so the result does not depend on scheduling. */
pgs_status
pgs_cpu_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err)
{
	enum
	{
		CHUNKS = 64
	};
	double		partial[CHUNKS] = {0};
	size_t		chunk = (n + CHUNKS - 1) / CHUNKS;

#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (n > PARALLEL_MIN)
	for (int c = 0; c < CHUNKS; c++)
	{
		size_t		begin = (size_t) c * chunk;
		size_t		end = begin + chunk < n ? begin + chunk : n;
		double		s = 0.0;

		for (size_t i = begin; i < end; i++)
			s += (double) x[i] * x[i];
		partial[c] = s;
	}
	*result = 0.0;
	for (int c = 0; c < CHUNKS; c++)
		*result += partial[c];
	return PGS_OK;
}

pgs_status
pgs_cpu_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err)
{
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (n > PARALLEL_MIN)
	for (size_t i = 0; i < n; i++)
		y[i] = pgs_relu(x[i]);
	return PGS_OK;
}

pgs_status
pgs_cpu_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx, pgs_error *err)
{
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (n > PARALLEL_MIN)
	for (size_t i = 0; i < n; i++)
		dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
	return PGS_OK;
}

static pgs_status
check_dropout(float p, pgs_error *err)
{
	if (!(p >= 0.0f && p < 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "dropout probability %g is not in [0, 1)", (double) p);
	return PGS_OK;
}

pgs_status
pgs_cpu_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y, pgs_error *err)
{
	pgs_status	st;
	float		scale = 1.0f / (1.0f - p);

	if ((st = check_dropout(p, err)) != PGS_OK)
		return st;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (n > PARALLEL_MIN)
	for (size_t i = 0; i < n; i++)
		y[i] = pgs_dropout_keep(seed, i, p) ? x[i] * scale : 0.0f;
	return PGS_OK;
}

pgs_status
pgs_cpu_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx,
						 pgs_error *err)
{
	pgs_status	st;
	float		scale = 1.0f / (1.0f - p);

	if ((st = check_dropout(p, err)) != PGS_OK)
		return st;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (n > PARALLEL_MIN)
	for (size_t i = 0; i < n; i++)
		dx[i] += pgs_dropout_keep(seed, i, p) ? dy[i] * scale : 0.0f;
	return PGS_OK;
}

/* In NCHW each image's channels are contiguous, so part i of image n is one block of c_i·H·W floats. */
pgs_status
pgs_cpu_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x, float *y,
					   pgs_error *err)
{
	pgs_status	st;
	size_t		plane = 0,
				image = 0;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	plane = (size_t) parts[0].h * parts[0].w;
	for (int i = 0; i < n_parts; i++)
		image += (size_t) parts[i].c * plane;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (image * parts[0].n > PARALLEL_MIN)
	for (int n = 0; n < parts[0].n; n++)
	{
		float	   *out = y + (size_t) n * image;

		for (int i = 0; i < n_parts; i++)
		{
			size_t		block = (size_t) parts[i].c * plane;

			memcpy(out, x[i] + (size_t) n * block, block * sizeof(float));
			out += block;
		}
	}
	return PGS_OK;
}

pgs_status
pgs_cpu_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy, float *const *dx,
						pgs_error *err)
{
	pgs_status	st;
	size_t		plane,
				image = 0;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	plane = (size_t) parts[0].h * parts[0].w;
	for (int i = 0; i < n_parts; i++)
		image += (size_t) parts[i].c * plane;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static) if (image * parts[0].n > PARALLEL_MIN)
	for (int n = 0; n < parts[0].n; n++)
	{
		const float *in = dy + (size_t) n * image;

		for (int i = 0; i < n_parts; i++)
		{
			size_t		block = (size_t) parts[i].c * plane;
			float	   *out = dx[i] + (size_t) n * block;

			for (size_t e = 0; e < block; e++)
				out[e] += in[e];
			in += block;
		}
	}
	return PGS_OK;
}

pgs_status
pgs_cpu_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses,
					float *dlogits, float grad_scale, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
	{
		losses[i] = pgs_bce_with_logit(logits[i], targets[i]);
		if (dlogits != NULL)
			dlogits[i] += grad_scale * pgs_bce_with_logit_grad(logits[i], targets[i]);
	}
	return PGS_OK;
}

/* loss = log Σ exp(z) − z[label], computed around the row maximum; ∂/∂z = softmax(z) − onehot(label). */
pgs_status
pgs_cpu_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels, float *losses,
				   float *dlogits, float grad_scale, pgs_error *err)
{
	if (k < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "softmax over %d classes", k);
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "class label %d is not in [0, %d)", labels[i], k);
	for (int i = 0; i < n; i++)
	{
		const float *z = logits + (size_t) i * k;
		float		max = z[0];
		double		sum = 0.0;
		float		log_sum;

		for (int j = 1; j < k; j++)
			max = z[j] > max ? z[j] : max;
		for (int j = 0; j < k; j++)
			sum += expf(z[j] - max);
		log_sum = (float) log(sum);
		losses[i] = log_sum - (z[labels[i]] - max);
		if (dlogits != NULL)
			for (int j = 0; j < k; j++)
				dlogits[(size_t) i * k + j] += grad_scale * (expf(z[j] - max - log_sum) - (j == labels[i]));
	}
	return PGS_OK;
}
