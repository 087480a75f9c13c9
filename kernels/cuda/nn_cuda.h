// The CUDA network ops (nn_*.cu): declarations, per-device state and cuDNN descriptor helpers.
#ifndef PGS_NN_CUDA_H
#define PGS_NN_CUDA_H

#include <map>
#include <tuple>

#include "../device/ops.h"
#include "cuda_check.h"
#include "cuda_device.h"

/* A cuDNN descriptor that frees itself; init() returns a status instead of throwing. */
template <typename T, cudnnStatus_t (*Create) (T *), cudnnStatus_t (*Destroy) (T)>
struct pgs_cudnn_desc
{
	T			d = nullptr;

	pgs_cudnn_desc() = default;
	pgs_cudnn_desc(const pgs_cudnn_desc &) = delete;
	pgs_cudnn_desc &operator=(const pgs_cudnn_desc &) = delete;
	~pgs_cudnn_desc()
	{
		if (d != nullptr)
			(void) Destroy(d);
	}
	pgs_status	create(pgs_error *err)
	{
		PGS_CUDNN_TRY(Create(&d), err);
		return PGS_OK;
	}
	operator	T() const
	{
		return d;
	}
};

typedef pgs_cudnn_desc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor> pgs_tensor_desc;
typedef pgs_cudnn_desc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor> pgs_filter_desc;
typedef pgs_cudnn_desc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor> pgs_convolution_desc;
typedef pgs_cudnn_desc<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor> pgs_pooling_desc;
typedef pgs_cudnn_desc<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor> pgs_activation_desc;

/* A dense NCHW float tensor descriptor (create + set). */
pgs_status	pgs_nchw_desc(pgs_tensor_desc &desc, int n, int c, int h, int w, pgs_error *err);

/*
 * Everything cuDNN needs for one convolution shape, found once and kept for the life of the device:
 * descriptors, and for each direction the algorithm chosen (benchmarked with cudnnFind*, or by heuristics
 * when deterministic results are asked for), its math type and its workspace.
 */
struct pgs_conv_plan
{
	pgs_tensor_desc x,
				y;
	pgs_filter_desc w;
	pgs_convolution_desc forward_conv,
				data_conv,
				filter_conv;	/* one per direction: each carries its algorithm's math type */
	cudnnConvolutionFwdAlgo_t forward_algo;
	cudnnConvolutionBwdDataAlgo_t data_algo;
	cudnnConvolutionBwdFilterAlgo_t filter_algo;
	size_t		workspace;		/* the largest of the three */
};

typedef std::tuple<int, int, int, int, int, int, int, int, int, int, int> pgs_conv_key;

/* Per-device state of the network ops, hung off pgs_cuda_device. */
struct pgs_cuda_nn
{
	pgs_device_options options;
	std::map<pgs_conv_key, pgs_conv_plan *> conv_plans;
	double	   *partials;		/* sum_squares: one double per block */
	size_t		partial_count;
};

/* The device's network state, created on first use. */
pgs_status	pgs_cuda_nn_state(pgs_cuda_device *dev, pgs_cuda_nn **out, pgs_error *err);

/* Launch geometry for grid-stride loops: enough blocks to fill the GPU, never more than the data needs. */
static inline unsigned
pgs_grid_for(size_t n, unsigned block)
{
	size_t		blocks = (n + block - 1) / block;

	return (unsigned) (blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

#define PGS_CUDA_DEVICE(ctx) \
	pgs_cuda_device *dev = (pgs_cuda_device *) (ctx); \
	PGS_CUDA_TRY(cudaSetDevice(dev->ordinal), err)

/* The ops (nn_conv.cu, nn_layers.cu, nn_kernels.cu), with the signatures of pgs_ops. */
pgs_status	pgs_gpu_configure(void *ctx, const pgs_device_options *options, pgs_error *err);
pgs_status	pgs_gpu_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err);
pgs_status	pgs_gpu_fill(void *ctx, size_t n, float value, float *x, pgs_error *err);
pgs_status	pgs_gpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err);
pgs_status	pgs_gpu_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err);
pgs_status	pgs_gpu_conv_workspace(void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err);
pgs_status	pgs_gpu_conv_forward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y,
								 void *workspace, size_t workspace_bytes, pgs_error *err);
pgs_status	pgs_gpu_conv_backward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w,
								  const float *dy, float *dx, float *dw, void *workspace, size_t workspace_bytes,
								  pgs_error *err);
pgs_status	pgs_gpu_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, float *y, float *running_mean, float *running_var,
									 float *save_mean, float *save_invstd, pgs_error *err);
pgs_status	pgs_gpu_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, const float *running_mean, const float *running_var,
									 float *y, pgs_error *err);
pgs_status	pgs_gpu_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
								const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
								float *dgamma, float *dbeta, pgs_error *err);
pgs_status	pgs_gpu_bn_sums(void *ctx, const pgs_bn_desc *d, const float *x, double *sums, pgs_error *err);
pgs_status	pgs_gpu_bn_forward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									const float *beta, const double *sums, double count, float *y,
									float *running_mean, float *running_var, float *save_mean,
									float *save_invstd, pgs_error *err);
pgs_status	pgs_gpu_bn_backward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *save_mean, const float *save_invstd, double *sums,
									 float *dgamma, float *dbeta, pgs_error *err);
pgs_status	pgs_gpu_bn_backward_data(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *gamma, const float *save_mean, const float *save_invstd,
									 const double *sums, double count, float *dx, pgs_error *err);
pgs_status	pgs_gpu_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err);
pgs_status	pgs_gpu_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx,
								  pgs_error *err);
pgs_status	pgs_gpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err);
pgs_status	pgs_gpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y,
								  const float *dy, float *dx, pgs_error *err);
pgs_status	pgs_gpu_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x,
								   float *y, pgs_error *err);
pgs_status	pgs_gpu_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy,
									float *const *dx, pgs_error *err);
pgs_status	pgs_gpu_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y,
									pgs_error *err);
pgs_status	pgs_gpu_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx,
									 pgs_error *err);
pgs_status	pgs_gpu_fc_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
							   const float *b, float *y, pgs_error *err);
pgs_status	pgs_gpu_fc_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
								const float *dy, float *dx, float *dw, float *db, pgs_error *err);
pgs_status	pgs_gpu_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses,
								float *dlogits, float grad_scale, pgs_error *err);
pgs_status	pgs_gpu_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels,
							   float *losses, float *dlogits, float grad_scale, pgs_error *err);
pgs_status	pgs_gpu_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param,
									 const float *grad, float *state1, float *state2, pgs_error *err);

#endif
