// CUDA convolution through cuDNN: algorithms chosen once per shape (within a workspace limit) and cached.
#include <algorithm>

#include "../device/layer_shapes.h"
#include "nn_cuda.h"

pgs_status
pgs_nchw_desc(pgs_tensor_desc &desc, int n, int c, int h, int w, pgs_error *err)
{
	pgs_status	st;

	if ((st = desc.create(err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w), err);
	return PGS_OK;
}

static pgs_status
set_conv(pgs_convolution_desc &conv, const pgs_conv_desc *d, pgs_error *err)
{
	pgs_status	st;

	if ((st = conv.create(err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnSetConvolution2dDescriptor(conv, d->pad_h, d->pad_w, d->stride_h, d->stride_w, 1, 1,
												  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), err);
	return PGS_OK;
}

/*
 * Pick the first usable result (results come fastest first): it succeeded, fits the workspace limit and,
 * when asked, is deterministic. TF32 math is taken only when the options allow it.
 */
template <typename Perf>
static const Perf *
pick(const Perf *results, int count, const pgs_device_options *o)
{
	for (int i = 0; i < count; i++)
	{
		const Perf *p = &results[i];

		if (p->status != CUDNN_STATUS_SUCCESS || p->memory > o->conv_workspace_limit)
			continue;
		if (o->deterministic && p->determinism != CUDNN_DETERMINISTIC)
			continue;
		/* Never down-convert float32 data to half precision; TF32 only when allowed. */
		if (p->mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ||
			(!o->allow_tf32 && p->mathType == CUDNN_TENSOR_OP_MATH))
			continue;
		return p;
	}
	return nullptr;
}

static cudnnMathType_t
math_for(const pgs_device_options *o)
{
	/* FMA math is strict float32; the default lets cuDNN use TF32 tensor cores, as PyTorch's allow_tf32. */
	return o->allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

#define N_ALGOS 16

/*
 * Benchmarking (cudnnFind*, like torch.backends.cudnn.benchmark) picks the fastest algorithm but may pick a
 * different one on another run; with `deterministic` the heuristics (cudnnGet*_v7) choose, reproducibly,
 * among deterministic algorithms only.
 */
static pgs_status
choose_algorithms(pgs_cuda_device *dev, const pgs_device_options *o, pgs_conv_plan *plan, pgs_error *err)
{
	cudnnConvolutionFwdAlgoPerf_t fwd[N_ALGOS];
	cudnnConvolutionBwdDataAlgoPerf_t data[N_ALGOS];
	cudnnConvolutionBwdFilterAlgoPerf_t filter[N_ALGOS];
	int			n_fwd = 0,
				n_data = 0,
				n_filter = 0;

	for (pgs_convolution_desc *c : {&plan->forward_conv, &plan->data_conv, &plan->filter_conv})
		PGS_CUDNN_TRY(cudnnSetConvolutionMathType(*c, math_for(o)), err);
	if (o->deterministic)
	{
		PGS_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(dev->cudnn, plan->x, plan->w, plan->forward_conv,
															  plan->y, N_ALGOS, &n_fwd, fwd), err);
		PGS_CUDNN_TRY(cudnnGetConvolutionBackwardDataAlgorithm_v7(dev->cudnn, plan->w, plan->y, plan->data_conv,
																   plan->x, N_ALGOS, &n_data, data), err);
		PGS_CUDNN_TRY(cudnnGetConvolutionBackwardFilterAlgorithm_v7(dev->cudnn, plan->x, plan->y,
																	 plan->filter_conv, plan->w, N_ALGOS,
																	 &n_filter, filter), err);
	}
	else
	{
		PGS_CUDNN_TRY(cudnnFindConvolutionForwardAlgorithm(dev->cudnn, plan->x, plan->w, plan->forward_conv,
															plan->y, N_ALGOS, &n_fwd, fwd), err);
		PGS_CUDNN_TRY(cudnnFindConvolutionBackwardDataAlgorithm(dev->cudnn, plan->w, plan->y, plan->data_conv,
																 plan->x, N_ALGOS, &n_data, data), err);
		PGS_CUDNN_TRY(cudnnFindConvolutionBackwardFilterAlgorithm(dev->cudnn, plan->x, plan->y, plan->filter_conv,
																   plan->w, N_ALGOS, &n_filter, filter), err);
	}
	const cudnnConvolutionFwdAlgoPerf_t *f = pick(fwd, n_fwd, o);
	const cudnnConvolutionBwdDataAlgoPerf_t *bd = pick(data, n_data, o);
	const cudnnConvolutionBwdFilterAlgoPerf_t *bf = pick(filter, n_filter, o);

	if (f == nullptr || bd == nullptr || bf == nullptr)
		return pgs_fail(err, PGS_ERR_DEVICE,
						"cuDNN has no %sconvolution algorithm within the %zu-byte workspace limit for this shape",
						o->deterministic ? "deterministic " : "", o->conv_workspace_limit);
	plan->forward_algo = f->algo;
	plan->data_algo = bd->algo;
	plan->filter_algo = bf->algo;
	PGS_CUDNN_TRY(cudnnSetConvolutionMathType(plan->forward_conv, f->mathType), err);
	PGS_CUDNN_TRY(cudnnSetConvolutionMathType(plan->data_conv, bd->mathType), err);
	PGS_CUDNN_TRY(cudnnSetConvolutionMathType(plan->filter_conv, bf->mathType), err);
	plan->workspace = std::max({f->memory, bd->memory, bf->memory});
	return PGS_OK;
}

/* The cached plan for this shape, made (descriptors, algorithm search) the first time it is seen. */
static pgs_status
plan_for(pgs_cuda_device *dev, const pgs_conv_desc *d, pgs_conv_plan **out, pgs_error *err)
{
	pgs_cuda_nn *nn;
	pgs_status	st;
	pgs_shape4	y;

	*out = nullptr;
	if ((st = pgs_check_conv_desc(d, err)) != PGS_OK || (st = pgs_cuda_nn_state(dev, &nn, err)) != PGS_OK)
		return st;
	pgs_conv_key key(d->x.n, d->x.c, d->x.h, d->x.w, d->c_out, d->kernel_h, d->kernel_w, d->stride_h,
					 d->stride_w, d->pad_h, d->pad_w);
	auto		found = nn->conv_plans.find(key);

	if (found != nn->conv_plans.end())
	{
		*out = found->second;
		return PGS_OK;
	}
	y = pgs_conv_output_shape(d);
	pgs_conv_plan *plan = new pgs_conv_plan();

	if ((st = pgs_nchw_desc(plan->x, d->x.n, d->x.c, d->x.h, d->x.w, err)) != PGS_OK ||
		(st = pgs_nchw_desc(plan->y, y.n, y.c, y.h, y.w, err)) != PGS_OK ||
		(st = plan->w.create(err)) != PGS_OK ||
		(st = set_conv(plan->forward_conv, d, err)) != PGS_OK ||
		(st = set_conv(plan->data_conv, d, err)) != PGS_OK ||
		(st = set_conv(plan->filter_conv, d, err)) != PGS_OK)
	{
		delete plan;
		return st;
	}
	cudnnStatus_t s = cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->c_out, d->x.c,
												 d->kernel_h, d->kernel_w);

	if (s != CUDNN_STATUS_SUCCESS)
	{
		delete plan;
		return pgs_cudnn_fail(err, s, "cudnnSetFilter4dDescriptor");
	}
	if ((st = choose_algorithms(dev, &nn->options, plan, err)) != PGS_OK)
	{
		delete plan;
		return st;
	}
	nn->conv_plans[key] = plan;
	*out = plan;
	return PGS_OK;
}

pgs_status
pgs_gpu_conv_workspace(void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_conv_plan *plan;
	pgs_status	st;

	*bytes = 0;
	if ((st = plan_for(dev, d, &plan, err)) != PGS_OK)
		return st;
	*bytes = plan->workspace;
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static pgs_status
check_workspace(const pgs_conv_plan *plan, size_t workspace_bytes, pgs_error *err)
{
	if (workspace_bytes < plan->workspace)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "convolution workspace of %zu bytes is too small (%zu needed)",
						workspace_bytes, plan->workspace);
	return PGS_OK;
}

pgs_status
pgs_gpu_conv_forward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y,
					 void *workspace, size_t workspace_bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_conv_plan *plan;
	pgs_status	st;
	const float one = 1.0f,
				zero = 0.0f;

	if ((st = plan_for(dev, d, &plan, err)) != PGS_OK || (st = check_workspace(plan, workspace_bytes, err)) != PGS_OK)
		return st;
	PGS_CUDNN_TRY(cudnnConvolutionForward(dev->cudnn, &one, plan->x, x, plan->w, w, plan->forward_conv,
										  plan->forward_algo, workspace, workspace_bytes, &zero, plan->y, y), err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

pgs_status
pgs_gpu_conv_backward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, const float *dy,
					  float *dx, float *dw, void *workspace, size_t workspace_bytes, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	PGS_CUDA_DEVICE(ctx);
	pgs_conv_plan *plan;
	pgs_status	st;
	const float one = 1.0f;

	if ((st = plan_for(dev, d, &plan, err)) != PGS_OK || (st = check_workspace(plan, workspace_bytes, err)) != PGS_OK)
		return st;
	/* beta = 1: gradients accumulate, as the ops table requires. */
	if (dw != nullptr)
		PGS_CUDNN_TRY(cudnnConvolutionBackwardFilter(dev->cudnn, &one, plan->x, x, plan->y, dy, plan->filter_conv,
													 plan->filter_algo, workspace, workspace_bytes, &one, plan->w,
													 dw), err);
	if (dx != nullptr)
		PGS_CUDNN_TRY(cudnnConvolutionBackwardData(dev->cudnn, &one, plan->w, w, plan->y, dy, plan->data_conv,
												   plan->data_algo, workspace, workspace_bytes, &one, plan->x, dx),
					  err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}
