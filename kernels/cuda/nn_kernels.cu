// CUDA kernels where cuDNN has nothing: fill, sums of squares, dropout, the losses and the optimiser step.
#include "../device/nn_math.h"
#include "../device/optim_math.h"
#include "nn_cuda.h"

#define BLOCK 256
#define MAX_PARTIALS 1024

pgs_status
pgs_cuda_nn_state(pgs_cuda_device *dev, pgs_cuda_nn **out, pgs_error *err)
{
	if (dev->nn == nullptr)
	{
		pgs_cuda_nn *nn = new pgs_cuda_nn();

		/* Defaults until configure: 1 GiB of convolution workspace, TF32 allowed as in PyTorch's convolutions. */
		nn->options.cpu_threads = 0;
		nn->options.conv_workspace_limit = (size_t) 1 << 30;
		nn->options.deterministic = false;
		nn->options.allow_tf32 = true;
		nn->partials = nullptr;
		nn->partial_count = 0;
		dev->nn = nn;
	}
	*out = dev->nn;
	return PGS_OK;
}

pgs_status
pgs_gpu_configure(void *ctx, const pgs_device_options *options, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_cuda_nn *nn;
	pgs_status	st;

	if ((st = pgs_cuda_nn_state(dev, &nn, err)) != PGS_OK)
		return st;
	if (options->conv_workspace_limit != nn->options.conv_workspace_limit ||
		options->deterministic != nn->options.deterministic || options->allow_tf32 != nn->options.allow_tf32)
	{
		/* Algorithms were chosen under the old settings: choose again. */
		for (auto &entry : nn->conv_plans)
			delete entry.second;
		nn->conv_plans.clear();
	}
	nn->options = *options;
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);

	if (bytes > 0)
		PGS_CUDA_TRY(cudaMemsetAsync(ptr, 0, bytes, dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);

	if (bytes > 0 && dst != src)
		PGS_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, dev->stream), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

__global__ static void
fill_kernel(size_t n, float value, float *x)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
		x[i] = value;
}

pgs_status
pgs_gpu_fill(void *ctx, size_t n, float value, float *x, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);

	if (n == 0)
		return PGS_OK;
	fill_kernel<<<pgs_grid_for(n, BLOCK), BLOCK, 0, dev->stream>>>(n, value, x);
	PGS_CUDA_CHECK_LAUNCH("fill_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

/* Each block's sum of squares (in double) into partials[block], reduced in the block in a fixed order. */
__global__ static void
sum_squares_kernel(size_t n, const float *x, double *partials)
{
	__shared__ double sums[BLOCK];
	double		s = 0.0;

	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
		s += (double) x[i] * x[i];
	sums[threadIdx.x] = s;
	__syncthreads();
	for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2)
	{
		if (threadIdx.x < stride)
			sums[threadIdx.x] += sums[threadIdx.x + stride];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		partials[blockIdx.x] = sums[0];
}

/*
 * Two passes and no atomics, so the result is the same on every run (gradient clipping would otherwise
 * make training non-deterministic): block partials on the GPU, their sum on the host in block order.
 */
pgs_status
pgs_gpu_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_cuda_nn *nn;
	pgs_status	st;
	unsigned	blocks = pgs_grid_for(n, BLOCK);
	double		host[MAX_PARTIALS];

	*result = 0.0;
	if (n == 0)
		return PGS_OK;
	if ((st = pgs_cuda_nn_state(dev, &nn, err)) != PGS_OK)
		return st;
	if (blocks > MAX_PARTIALS)
		blocks = MAX_PARTIALS;
	if (nn->partials == nullptr)
	{
		PGS_CUDA_TRY(cudaMalloc((void **) &nn->partials, MAX_PARTIALS * sizeof(double)), err);
		nn->partial_count = MAX_PARTIALS;
	}
	sum_squares_kernel<<<blocks, BLOCK, 0, dev->stream>>>(n, x, nn->partials);
	PGS_CUDA_CHECK_LAUNCH("sum_squares_kernel", err);
	PGS_CUDA_TRY(cudaMemcpyAsync(host, nn->partials, blocks * sizeof(double), cudaMemcpyDeviceToHost, dev->stream),
				 err);
	PGS_CUDA_TRY(cudaStreamSynchronize(dev->stream), err);
	for (unsigned b = 0; b < blocks; b++)
		*result += host[b];
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

__global__ static void
dropout_forward_kernel(size_t n, float p, float scale, uint64_t seed, const float *x, float *y)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
		y[i] = pgs_dropout_keep(seed, i, p) ? x[i] * scale : 0.0f;
}

__global__ static void
dropout_backward_kernel(size_t n, float p, float scale, uint64_t seed, const float *dy, float *dx)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
		dx[i] += pgs_dropout_keep(seed, i, p) ? dy[i] * scale : 0.0f;
}

static pgs_status
check_dropout(float p, pgs_error *err)
{
	if (!(p >= 0.0f && p < 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "dropout probability %g is not in [0, 1)", (double) p);
	return PGS_OK;
}

pgs_status
pgs_gpu_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_dropout(p, err)) != PGS_OK || n == 0)
		return st;
	dropout_forward_kernel<<<pgs_grid_for(n, BLOCK), BLOCK, 0, dev->stream>>>(n, p, 1.0f / (1.0f - p), seed, x, y);
	PGS_CUDA_CHECK_LAUNCH("dropout_forward_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;

	if ((st = check_dropout(p, err)) != PGS_OK || n == 0)
		return st;
	dropout_backward_kernel<<<pgs_grid_for(n, BLOCK), BLOCK, 0, dev->stream>>>(n, p, 1.0f / (1.0f - p), seed, dy,
																			   dx);
	PGS_CUDA_CHECK_LAUNCH("dropout_backward_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

__global__ static void
sigmoid_bce_kernel(size_t n, const float *z, const float *t, float *losses, float *dz, float grad_scale)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
	{
		losses[i] = pgs_bce_with_logit(z[i], t[i]);
		if (dz != nullptr)
			dz[i] += grad_scale * pgs_bce_with_logit_grad(z[i], t[i]);
	}
}

pgs_status
pgs_gpu_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses, float *dlogits,
					float grad_scale, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);

	if (n == 0)
		return PGS_OK;
	sigmoid_bce_kernel<<<pgs_grid_for(n, BLOCK), BLOCK, 0, dev->stream>>>(n, logits, targets, losses, dlogits,
																		  grad_scale);
	PGS_CUDA_CHECK_LAUNCH("sigmoid_bce_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

/* One thread per row, the CPU reference's arithmetic; a label outside [0, k) gives a NaN loss. */
__global__ static void
softmax_ce_kernel(int n, int k, const float *logits, const int32_t *labels, float *losses, float *dz,
				  float grad_scale)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
	{
		const float *z = logits + (size_t) i * k;
		int			label = labels[i];
		float		max = z[0];
		double		sum = 0.0;
		float		log_sum;

		if (label < 0 || label >= k)
		{
			losses[i] = nanf("");
			continue;
		}
		for (int j = 1; j < k; j++)
			max = z[j] > max ? z[j] : max;
		for (int j = 0; j < k; j++)
			sum += expf(z[j] - max);
		log_sum = (float) log(sum);
		losses[i] = log_sum - (z[label] - max);
		if (dz != nullptr)
			for (int j = 0; j < k; j++)
				dz[(size_t) i * k + j] += grad_scale * (expf(z[j] - max - log_sum) - (j == label));
	}
}

pgs_status
pgs_gpu_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels, float *losses,
				   float *dlogits, float grad_scale, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);

	if (k < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "softmax over %d classes", k);
	if (n <= 0)
		return PGS_OK;
	softmax_ce_kernel<<<pgs_grid_for((size_t) n, 128), 128, 0, dev->stream>>>(n, k, logits, labels, losses, dlogits,
																			  grad_scale);
	PGS_CUDA_CHECK_LAUNCH("softmax_ce_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

__global__ static void
optimizer_kernel(pgs_optimizer_update u, pgs_adam_corrections c, size_t n, float *param, const float *grad,
				 float *s1, float *s2)
{
	for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x)
	{
		float		g = grad[i] * u.grad_scale;

		switch (u.kind)
		{
			case PGS_OPTIMIZER_SGD:
				pgs_sgd_element(&u, &param[i], g, s1 ? &s1[i] : nullptr);
				break;
			case PGS_OPTIMIZER_RMSPROP:
				pgs_rmsprop_element(&u, &param[i], g, s1 ? &s1[i] : nullptr, &s2[i]);
				break;
			case PGS_OPTIMIZER_ADAM:
				pgs_adam_element(&u, c, &param[i], g, &s1[i], &s2[i]);
				break;
		}
	}
}

pgs_status
pgs_gpu_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param, const float *grad,
						 float *state1, float *state2, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_adam_corrections c = {0.0f, 1.0f};

	if (!pgs_optimizer_update_ready(u, state1, state2))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "optimiser %d lacks its state or step number", (int) u->kind);
	if (u->kind == PGS_OPTIMIZER_ADAM)
		c = pgs_adam_corrections_for(u);
	if (n == 0)
		return PGS_OK;
	optimizer_kernel<<<pgs_grid_for(n, BLOCK), BLOCK, 0, dev->stream>>>(*u, c, n, param, grad, state1, state2);
	PGS_CUDA_CHECK_LAUNCH("optimizer_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}
