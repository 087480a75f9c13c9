// CUDA batch norm split around per-channel sums, for statistics over several replicas (ops.h, version 4).
#include "../device/layer_shapes.h"
#include "nn_cuda.h"

#define BN_BLOCK 256

/* The block's threads add their values; thread 0 gets the total (BN_BLOCK a power of two). */
__device__ static double
block_sum(double v, double *shared)
{
	shared[threadIdx.x] = v;
	__syncthreads();
	for (int stride = BN_BLOCK / 2; stride > 0; stride /= 2)
	{
		if (threadIdx.x < stride)
			shared[threadIdx.x] += shared[threadIdx.x + stride];
		__syncthreads();
	}
	v = shared[0];
	__syncthreads();
	return v;
}

/* Element i of channel c (one block per channel, i over N·H·W). */
__device__ static inline size_t
bn_index(int c, size_t i, int channels, size_t hw)
{
	return ((i / hw) * channels + c) * hw + i % hw;
}

__global__ static void
bn_sums_kernel(int n, int channels, size_t hw, const float *x, double *sums)
{
	__shared__ double shared[BN_BLOCK];
	int			c = blockIdx.x;
	size_t		count = (size_t) n * hw;
	double		sum = 0.0,
				squares = 0.0;

	for (size_t i = threadIdx.x; i < count; i += BN_BLOCK)
	{
		double		v = x[bn_index(c, i, channels, hw)];

		sum += v;
		squares += v * v;
	}
	sum = block_sum(sum, shared);
	squares = block_sum(squares, shared);
	if (threadIdx.x == 0)
	{
		sums[c] = sum;
		sums[channels + c] = squares;
	}
}

__global__ static void
bn_forward_sums_kernel(int n, int channels, size_t hw, float eps, float momentum, const float *x,
					   const float *gamma, const float *beta, const double *sums, double count, float *y,
					   float *running_mean, float *running_var, float *save_mean, float *save_invstd)
{
	int			c = blockIdx.x;
	double		mean = sums[c] / count;
	double		var = fmax(sums[channels + c] / count - mean * mean, 0.0);
	double		invstd = 1.0 / sqrt(var + eps);
	float		scale = (float) (invstd * gamma[c]);
	float		shift = (float) (beta[c] - mean * (double) scale);
	size_t		elements = (size_t) n * hw;

	for (size_t i = threadIdx.x; i < elements; i += BN_BLOCK)
	{
		size_t		at = bn_index(c, i, channels, hw);

		y[at] = x[at] * scale + shift;
	}
	if (threadIdx.x == 0)
	{
		save_mean[c] = (float) mean;
		save_invstd[c] = (float) invstd;
		running_mean[c] = (float) (momentum * mean + (1.0 - momentum) * running_mean[c]);
		running_var[c] = (float) (momentum * (count > 1 ? var * count / (count - 1) : var) +
								  (1.0 - momentum) * running_var[c]);
	}
}

__global__ static void
bn_backward_sums_kernel(int n, int channels, size_t hw, const float *x, const float *dy, const float *save_mean,
						const float *save_invstd, double *sums, float *dgamma, float *dbeta)
{
	__shared__ double shared[BN_BLOCK];
	int			c = blockIdx.x;
	size_t		count = (size_t) n * hw;
	double		mean = save_mean[c],
				sum = 0.0,
				dot = 0.0;

	for (size_t i = threadIdx.x; i < count; i += BN_BLOCK)
	{
		size_t		at = bn_index(c, i, channels, hw);

		sum += dy[at];
		dot += (x[at] - mean) * dy[at];
	}
	sum = block_sum(sum, shared);
	dot = block_sum(dot, shared);
	if (threadIdx.x == 0)
	{
		sums[c] = sum;
		sums[channels + c] = dot;
		dgamma[c] += (float) (dot * save_invstd[c]);
		dbeta[c] += (float) sum;
	}
}

__global__ static void
bn_backward_data_kernel(int n, int channels, size_t hw, const float *x, const float *dy, const float *gamma,
						const float *save_mean, const float *save_invstd, const double *sums, double count,
						float *dx)
{
	int			c = blockIdx.x;
	double		invstd = save_invstd[c];
	float		k = (float) (sums[channels + c] * invstd * invstd / count),
				grad_mean = (float) (sums[c] / count),
				w = (float) (invstd * gamma[c]),
				m = save_mean[c];
	size_t		elements = (size_t) n * hw;

	for (size_t i = threadIdx.x; i < elements; i += BN_BLOCK)
	{
		size_t		at = bn_index(c, i, channels, hw);

		dx[at] += (dy[at] - grad_mean - (x[at] - m) * k) * w;
	}
}

static pgs_status
check_sums_desc(const pgs_bn_desc *d, double count, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK)
		return st;
	if (!(count >= 1.0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "batch norm over %g elements", count);
	return PGS_OK;
}

pgs_status
pgs_gpu_bn_sums(void *ctx, const pgs_bn_desc *d, const float *x, double *sums, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_sums_desc(d, 1.0, err)) != PGS_OK)
		return st;
	bn_sums_kernel<<<d->x.c, BN_BLOCK, 0, dev->stream>>>(d->x.n, d->x.c, (size_t) d->x.h * d->x.w, x, sums);
	PGS_CUDA_CHECK_LAUNCH("bn_sums_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_bn_forward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
						const double *sums, double count, float *y, float *running_mean, float *running_var,
						float *save_mean, float *save_invstd, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_sums_desc(d, count, err)) != PGS_OK)
		return st;
	bn_forward_sums_kernel<<<d->x.c, BN_BLOCK, 0, dev->stream>>>(d->x.n, d->x.c, (size_t) d->x.h * d->x.w, d->eps,
																 d->momentum, x, gamma, beta, sums, count, y,
																 running_mean, running_var, save_mean,
																 save_invstd);
	PGS_CUDA_CHECK_LAUNCH("bn_forward_sums_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_bn_backward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *save_mean,
						 const float *save_invstd, double *sums, float *dgamma, float *dbeta, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_sums_desc(d, 1.0, err)) != PGS_OK)
		return st;
	bn_backward_sums_kernel<<<d->x.c, BN_BLOCK, 0, dev->stream>>>(d->x.n, d->x.c, (size_t) d->x.h * d->x.w, x, dy,
																  save_mean, save_invstd, sums, dgamma, dbeta);
	PGS_CUDA_CHECK_LAUNCH("bn_backward_sums_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_bn_backward_data(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
						 const float *save_mean, const float *save_invstd, const double *sums, double count,
						 float *dx, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_sums_desc(d, count, err)) != PGS_OK)
		return st;
	bn_backward_data_kernel<<<d->x.c, BN_BLOCK, 0, dev->stream>>>(d->x.n, d->x.c, (size_t) d->x.h * d->x.w, x, dy,
																  gamma, save_mean, save_invstd, sums, count, dx);
	PGS_CUDA_CHECK_LAUNCH("bn_backward_data_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}
