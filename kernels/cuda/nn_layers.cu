// CUDA batch norm, pooling and ReLU (cuDNN), concatenation (strided cuDNN transforms) and FC (cuBLAS).
#include "../device/layer_shapes.h"
#include "nn_cuda.h"

/* Batch-norm statistics and parameters: one (1, C, 1, 1) descriptor derived from the data's. */
static pgs_status
bn_descs(const pgs_bn_desc *d, pgs_tensor_desc &x, pgs_tensor_desc &params, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_bn_desc(d, err)) != PGS_OK ||
		(st = pgs_nchw_desc(x, d->x.n, d->x.c, d->x.h, d->x.w, err)) != PGS_OK ||
		(st = params.create(err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnDeriveBNTensorDescriptor(params, x, CUDNN_BATCHNORM_SPATIAL), err);
	return PGS_OK;
}

/*
 * CUDNN_BATCHNORM_SPATIAL, not the faster _PERSISTENT variant, whose statistics can overflow on large
 * activations (cuDNN's documentation) — a freshly initialised Inception-v3 has very large ones.
 */
pgs_status
pgs_gpu_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
						 float *y, float *running_mean, float *running_var, float *save_mean, float *save_invstd,
						 pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_tensor_desc xd,
				pd;
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = bn_descs(d, xd, pd, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnBatchNormalizationForwardTraining(dev->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x, xd,
														 y, pd, gamma, beta, d->momentum, running_mean, running_var,
														 d->eps, save_mean, save_invstd), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
						 const float *running_mean, const float *running_var, float *y, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_tensor_desc xd,
				pd;
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = bn_descs(d, xd, pd, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnBatchNormalizationForwardInference(dev->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, x,
														  xd, y, pd, gamma, beta, running_mean, running_var, d->eps),
				  err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
					const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta,
					pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_tensor_desc xd,
				pd;
	pgs_status	st;
	const float one = 1.0f;

	if (dx == nullptr)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "batch norm backward on the GPU needs an input gradient");
	if ((st = bn_descs(d, xd, pd, err)) != PGS_OK)
		return st;
	/* All betas 1: dx, dgamma and dbeta accumulate. */
	PGS_CUDNN_TRY(cudnnBatchNormalizationBackward(dev->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &one, &one, &one, xd, x,
												  xd, dy, xd, dx, pd, gamma, dgamma, dbeta, d->eps, save_mean,
												  save_invstd), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

/* A flat run of n floats as a (1, 1, 1, n) tensor; cuDNN's dimensions are ints. */
static pgs_status
flat_desc(pgs_tensor_desc &desc, size_t n, pgs_error *err)
{
	if (n == 0 || n > (size_t) 0x7fffffff)
		return pgs_fail(err, PGS_ERR_LIMIT, "an element-wise op over %zu elements is out of cuDNN's range", n);
	return pgs_nchw_desc(desc, 1, 1, 1, (int) n, err);
}

static pgs_status
relu_desc(pgs_activation_desc &act, pgs_error *err)
{
	pgs_status	st;

	if ((st = act.create(err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnSetActivationDescriptor(act, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0), err);
	return PGS_OK;
}

pgs_status
pgs_gpu_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_tensor_desc t;
	pgs_activation_desc act;
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if (n == 0)
		return PGS_OK;
	if ((st = flat_desc(t, n, err)) != PGS_OK || (st = relu_desc(act, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnActivationForward(dev->cudnn, act, &one, t, x, &zero, t, y), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_tensor_desc t;
	pgs_activation_desc act;
	pgs_status	st;
	const float one = 1.0f;

	if (n == 0)
		return PGS_OK;
	if ((st = flat_desc(t, n, err)) != PGS_OK || (st = relu_desc(act, err)) != PGS_OK)
		return st;
	/* ReLU's output stands in for its input: y > 0 exactly where x > 0. */
	PGS_CUDNN_TRY(cudnnActivationBackward(dev->cudnn, act, &one, t, y, t, dy, t, y, &one, t, dx), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static pgs_status
pool_descs(const pgs_pool_desc *d, pgs_pooling_desc &pool, pgs_tensor_desc &x, pgs_tensor_desc &y, pgs_error *err)
{
	pgs_status	st;
	pgs_shape4	o;
	cudnnPoolingMode_t mode = d->mode == PGS_POOL_MAX ? CUDNN_POOLING_MAX_DETERMINISTIC
		: d->mode == PGS_POOL_AVG_INCLUDE_PAD ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
		: CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	o = pgs_pool_output_shape(d);
	if ((st = pool.create(err)) != PGS_OK || (st = pgs_nchw_desc(x, d->x.n, d->x.c, d->x.h, d->x.w, err)) != PGS_OK ||
		(st = pgs_nchw_desc(y, o.n, o.c, o.h, o.w, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnSetPooling2dDescriptor(pool, mode, CUDNN_PROPAGATE_NAN, d->kernel_h, d->kernel_w, d->pad_h,
											  d->pad_w, d->stride_h, d->stride_w), err);
	return PGS_OK;
}

pgs_status
pgs_gpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_pooling_desc pool;
	pgs_tensor_desc xd,
				yd;
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = pool_descs(d, pool, xd, yd, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnPoolingForward(dev->cudnn, pool, &one, xd, x, &zero, yd, y), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y, const float *dy,
					  float *dx, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_pooling_desc pool;
	pgs_tensor_desc xd,
				yd;
	pgs_status	st;
	const float one = 1.0f;

	if ((st = pool_descs(d, pool, xd, yd, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnPoolingBackward(dev->cudnn, pool, &one, yd, y, yd, dy, xd, x, &one, xd, dx), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

/*
 * Concatenation without a kernel of our own: part i is the channel slice [offset, offset + c_i) of y, a
 * strided view (N, c_i, H, W) with y's strides, and cudnnTransformTensor copies between views (beta = 0
 * forward) or adds (beta = 1 backward).
 */
static pgs_status
slice_descs(const pgs_shape4 *part, int total_c, pgs_tensor_desc &dense, pgs_tensor_desc &slice, pgs_error *err)
{
	pgs_status	st;
	int			hw = part->h * part->w;

	if ((st = pgs_nchw_desc(dense, part->n, part->c, part->h, part->w, err)) != PGS_OK ||
		(st = slice.create(err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnSetTensor4dDescriptorEx(slice, CUDNN_DATA_FLOAT, part->n, part->c, part->h, part->w,
											   total_c * hw, hw, part->w, 1), err);
	return PGS_OK;
}

static int
total_channels(int n_parts, const pgs_shape4 *parts)
{
	int			c = 0;

	for (int i = 0; i < n_parts; i++)
		c += parts[i].c;
	return c;
}

pgs_status
pgs_gpu_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x, float *y,
					   pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;
	int			total,
				offset = 0;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	total = total_channels(n_parts, parts);
	for (int i = 0; i < n_parts; i++)
	{
		pgs_tensor_desc dense,
					slice;

		if ((st = slice_descs(&parts[i], total, dense, slice, err)) != PGS_OK)
			return st;
		PGS_CUDNN_TRY(cudnnTransformTensor(dev->cudnn, &one, dense, x[i], &zero, slice,
										   y + (size_t) offset * parts[i].h * parts[i].w), err);
		offset += parts[i].c;
	}
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy, float *const *dx,
						pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;
	int			total,
				offset = 0;
	const float one = 1.0f;

	if ((st = pgs_check_concat(n_parts, parts, err)) != PGS_OK)
		return st;
	total = total_channels(n_parts, parts);
	for (int i = 0; i < n_parts; i++)
	{
		pgs_tensor_desc dense,
					slice;

		if ((st = slice_descs(&parts[i], total, dense, slice, err)) != PGS_OK)
			return st;
		PGS_CUDNN_TRY(cudnnTransformTensor(dev->cudnn, &one, slice, dy + (size_t) offset * parts[i].h * parts[i].w,
										   &one, dense, dx[i]), err);
		offset += parts[i].c;
	}
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

/*
 * Fully connected with cuBLAS, which is column-major: a row-major (r × c) matrix is its column-major
 * transpose, so y = x·wᵀ becomes yᵀ = w·xᵀ, and so on for the gradients.
 */
static pgs_status
fc_math(pgs_cuda_device *dev, pgs_error *err)
{
	pgs_cuda_nn *nn;
	pgs_status	st;

	if ((st = pgs_cuda_nn_state(dev, &nn, err)) != PGS_OK)
		return st;
	PGS_CUBLAS_TRY(cublasSetMathMode(dev->cublas, nn->options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
									 : CUBLAS_DEFAULT_MATH), err);
	return PGS_OK;
}

static pgs_status
check_fc(int n, int in, int out, pgs_error *err)
{
	if (n < 1 || in < 1 || out < 1 || n > (1 << 24) || in > (1 << 24) || out > (1 << 24))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "fully connected layer: invalid shape (%d, %d → %d)", n, in,
						out);
	return PGS_OK;
}

pgs_status
pgs_gpu_fc_forward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *b, float *y,
				   pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = check_fc(n, in, out, err)) != PGS_OK || (st = fc_math(dev, err)) != PGS_OK)
		return st;
	PGS_CUBLAS_TRY(cublasSgemm(dev->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x, in, &zero, y, out),
				   err);
	if (b != nullptr)
	{
		pgs_tensor_desc bias,
					yd;

		if ((st = pgs_nchw_desc(bias, 1, out, 1, 1, err)) != PGS_OK ||
			(st = pgs_nchw_desc(yd, n, out, 1, 1, err)) != PGS_OK)
			return st;
		PGS_CUDNN_TRY(cudnnAddTensor(dev->cudnn, &one, bias, b, &one, yd, y), err);
	}
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_fc_backward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *dy,
					float *dx, float *dw, float *db, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_status	st;
	const float one = 1.0f;

	if ((st = check_fc(n, in, out, err)) != PGS_OK || (st = fc_math(dev, err)) != PGS_OK)
		return st;
	if (dx != nullptr)			/* dxᵀ (in × n) += wᵀ·dyᵀ */
		PGS_CUBLAS_TRY(cublasSgemm(dev->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in, dy, out, &one, dx,
								   in), err);
	if (dw != nullptr)			/* dwᵀ (in × out) += xᵀ·dy */
		PGS_CUBLAS_TRY(cublasSgemm(dev->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, in, dy, out, &one, dw,
								   in), err);
	if (db != nullptr)
	{
		pgs_tensor_desc bias,
					dyd;

		if ((st = pgs_nchw_desc(bias, 1, out, 1, 1, err)) != PGS_OK ||
			(st = pgs_nchw_desc(dyd, n, out, 1, 1, err)) != PGS_OK)
			return st;
		PGS_CUDNN_TRY(cudnnConvolutionBackwardBias(dev->cudnn, &one, dyd, dy, &one, bias, db), err);
	}
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}
