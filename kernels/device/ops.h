/* The ops table: one set of device operations with a CPU implementation (the reference) and a CUDA one. */
#ifndef PGS_OPS_H
#define PGS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_device_kind
{
	PGS_DEVICE_CPU = 0,
	PGS_DEVICE_CUDA
} pgs_device_kind;

/*
 * Layer ops see activations as 4-D tensors. The memory layout is a property of the shape, not an
 * assumption: every op checks it and refuses layouts it does not implement (PGS_ERR_UNSUPPORTED), so NHWC
 * can arrive later op by op. Tensors are dense (no padding between rows or images).
 */
typedef enum pgs_layout
{
	PGS_LAYOUT_NCHW = 0			/* batch, channels, height, width; width varies fastest */
} pgs_layout;

typedef struct pgs_shape4
{
	int			n;				/* batch */
	int			c;				/* channels */
	int			h;				/* height */
	int			w;				/* width */
	pgs_layout	layout;
} pgs_shape4;

/* 2-D convolution without bias, cross-correlation as PyTorch computes it, dilation 1, one group. */
typedef struct pgs_conv_desc
{
	pgs_shape4	x;				/* input (N, C, H, W) */
	int			c_out;			/* K filters: weights are (K, C, kernel_h, kernel_w), PyTorch's OIHW */
	int			kernel_h;
	int			kernel_w;
	int			stride_h;
	int			stride_w;
	int			pad_h;			/* zero padding on each side */
	int			pad_w;
} pgs_conv_desc;

/* Batch normalization over (N, H, W) per channel, with a learnt scale (gamma) and shift (beta). */
typedef struct pgs_bn_desc
{
	pgs_shape4	x;
	float		eps;			/* added to the variance: 0.001 in Inception-v3 */
	float		momentum;		/* running = (1 − momentum)·running + momentum·batch, PyTorch's convention */
} pgs_bn_desc;

typedef enum pgs_pool_mode
{
	PGS_POOL_MAX = 0,
	PGS_POOL_AVG_INCLUDE_PAD,	/* divisor counts the zero padding (PyTorch's count_include_pad=True) */
	PGS_POOL_AVG_EXCLUDE_PAD	/* divisor counts only the input elements under the window */
} pgs_pool_mode;

/* Pooling with floor rounding of the output size (ceil_mode=False); padding never wins a max. */
typedef struct pgs_pool_desc
{
	pgs_shape4	x;
	pgs_pool_mode mode;
	int			kernel_h;
	int			kernel_w;
	int			stride_h;
	int			stride_w;
	int			pad_h;
	int			pad_w;
} pgs_pool_desc;

#define PGS_CONCAT_MAX_PARTS 8

typedef enum pgs_optimizer_kind
{
	PGS_OPTIMIZER_SGD = 1,		/* momentum, optionally Nesterov */
	PGS_OPTIMIZER_RMSPROP,
	PGS_OPTIMIZER_ADAM			/* AdamW with decoupled_weight_decay */
} pgs_optimizer_kind;

/*
 * RMSProp exists in two incompatible flavours; see kernels/device/optim_math.h for the formulas.
 * TF: mean square starts at 1, ε inside the square root, learning rate inside the momentum.
 * TORCH: mean square starts at 0, ε outside the square root, learning rate outside the momentum.
 */
typedef enum pgs_rmsprop_style
{
	PGS_RMSPROP_TF = 0,
	PGS_RMSPROP_TORCH
} pgs_rmsprop_style;

/* One optimiser step's hyper-parameters, resolved on the host (learning rate already scheduled). */
typedef struct pgs_optimizer_update
{
	pgs_optimizer_kind kind;
	float		lr;
	float		grad_scale;		/* gradients are multiplied by this first (clipping by global norm) */
	float		weight_decay;	/* L2: added to the gradient as wd·param, or decoupled (AdamW) */
	bool		decoupled_weight_decay;
	float		momentum;		/* SGD and RMSProp */
	bool		nesterov;		/* SGD */
	float		rho;			/* RMSProp: decay of the mean square */
	float		eps;			/* RMSProp and Adam */
	pgs_rmsprop_style rmsprop_style;
	float		beta1;			/* Adam */
	float		beta2;
	int64_t		step;			/* 1-based step number, for Adam's bias correction */
} pgs_optimizer_update;

/* Settings a caller may change on a device; fields a device does not use are ignored. */
typedef struct pgs_device_options
{
	int			cpu_threads;	/* CPU: threads for compute ops; 0 = one per online core */
	size_t		conv_workspace_limit;	/* CUDA: most bytes a convolution algorithm may use as scratch */
	bool		deterministic;	/* CUDA: only algorithms with bitwise reproducible results */
	bool		allow_tf32;		/* CUDA: TF32 tensor-core maths in convolutions and FC layers */
} pgs_device_options;

/*
 * Code above this line (networks, preprocessing, training) calls devices only through a pgs_ops, so the
 * same code runs on either device and `make gpucheck` can compare the two tables op by op. Pointers passed
 * to compute ops are device pointers obtained from `alloc` (plain host memory on the CPU); small arrays of
 * such pointers or shapes (concat) are host memory. Each op returns a status and fills err on failure; CUDA
 * ops are asynchronous on the device's stream until `synchronize` or a download. Later layers append their
 * ops to this struct (never reorder it) and bump PGS_OPS_VERSION so both modules agree on its layout.
 *
 * Layer ops come in forward/backward pairs. Forward ops overwrite their output. Backward ops ACCUMULATE
 * (+=) into every gradient they produce, input gradients included, so a tensor read by several layers
 * collects its gradient from each; the caller zeroes gradient buffers first. A NULL input gradient means
 * "not needed" (the network's input).
 */
#define PGS_OPS_VERSION 4

struct pgs_augment_params;		/* kernels/device/augment.h */

typedef struct pgs_ops
{
	int			version;
	pgs_device_kind kind;
	int			ordinal;		/* GPU number; 0 for the CPU */
	const char *name;			/* "cpu", "cuda:0", ... */
	void	   *ctx;			/* the device's private state (stream, library handles) */

	/* memory */
	pgs_status	(*alloc) (void *ctx, size_t bytes, void **out, pgs_error *err);
	void		(*free) (void *ctx, void *ptr);
	pgs_status	(*upload) (void *ctx, void *dst_device, const void *src_host, size_t bytes, pgs_error *err);
	pgs_status	(*download) (void *ctx, void *dst_host, const void *src_device, size_t bytes, pgs_error *err);
	pgs_status	(*synchronize) (void *ctx, pgs_error *err);

	/* compute: y = a·x + y over n floats (the template every element-wise op follows) */
	pgs_status	(*axpy) (void *ctx, size_t n, float a, const float *x, float *y, pgs_error *err);

	/* ---- version 2: the network engine (kernels/nn is the CPU reference, kernels/cuda the GPU one) ---- */

	pgs_status	(*configure) (void *ctx, const pgs_device_options *options, pgs_error *err);
	pgs_status	(*zero) (void *ctx, void *ptr, size_t bytes, pgs_error *err);
	pgs_status	(*fill) (void *ctx, size_t n, float value, float *x, pgs_error *err);
	pgs_status	(*copy) (void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err);
	/* *result = Σ x[i]² (in double), on the host when the op returns: for gradient clipping */
	pgs_status	(*sum_squares) (void *ctx, size_t n, const float *x, double *result, pgs_error *err);

	/*
	 * Convolution. x is (N,C,H,W), w is (K,C,R,S), y is (N,K,P,Q) with P = (H + 2·pad_h − R)/stride_h + 1.
	 * conv_workspace says how much scratch memory forward and backward need for this shape (the same
	 * buffer serves both); the caller allocates it once for all layers.
	 */
	pgs_status	(*conv_workspace) (void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err);
	pgs_status	(*conv_forward) (void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y,
								 void *workspace, size_t workspace_bytes, pgs_error *err);
	/* dx += ∂L/∂x (skipped when dx is NULL), dw += ∂L/∂w */
	pgs_status	(*conv_backward) (void *ctx, const pgs_conv_desc *d, const float *x, const float *w,
								  const float *dy, float *dx, float *dw, void *workspace, size_t workspace_bytes,
								  pgs_error *err);

	/*
	 * Batch normalization. Training normalises with the batch's mean and biased variance, updates the
	 * running statistics (running variance with the unbiased estimate, as PyTorch and cuDNN do) and saves
	 * the batch mean and 1/sqrt(var + eps) (C floats each) for backward. Inference uses the running ones.
	 */
	pgs_status	(*bn_forward_train) (void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, float *y, float *running_mean, float *running_var,
									 float *save_mean, float *save_invstd, pgs_error *err);
	pgs_status	(*bn_forward_infer) (void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, const float *running_mean, const float *running_var,
									 float *y, pgs_error *err);
	/* dx += ∂L/∂x, dgamma += ∂L/∂gamma, dbeta += ∂L/∂beta (training-mode statistics) */
	pgs_status	(*bn_backward) (void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
								const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
								float *dgamma, float *dbeta, pgs_error *err);

	/* ReLU over n floats; backward uses the output: dx += dy where y > 0 */
	pgs_status	(*relu_forward) (void *ctx, size_t n, const float *x, float *y, pgs_error *err);
	pgs_status	(*relu_backward) (void *ctx, size_t n, const float *y, const float *dy, float *dx,
								  pgs_error *err);

	/* Pooling: y is (N, C, P, Q). Max backward sends dy to the first maximum of each window. */
	pgs_status	(*pool_forward) (void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err);
	pgs_status	(*pool_backward) (void *ctx, const pgs_pool_desc *d, const float *x, const float *y,
								  const float *dy, float *dx, pgs_error *err);

	/* Channel concatenation of n_parts tensors of equal N, H, W into y (N, Σc, H, W), and its backward. */
	pgs_status	(*concat_forward) (void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x,
								   float *y, pgs_error *err);
	pgs_status	(*concat_backward) (void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy,
									float *const *dx, pgs_error *err);

	/*
	 * Inverted dropout over n floats: element i is dropped (zero) when pgs_dropout_keep(seed, i, p) says so
	 * and scaled by 1/(1 − p) otherwise. The mask is a pure function of (seed, i) (kernels/device/nn_math.h), so
	 * backward recomputes it and CPU and GPU drop the same elements.
	 */
	pgs_status	(*dropout_forward) (void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y,
									pgs_error *err);
	pgs_status	(*dropout_backward) (void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx,
									 pgs_error *err);

	/* Fully connected: x (N, in), w (out, in) as PyTorch's Linear, b (out) or NULL; y = x·wᵀ + b */
	pgs_status	(*fc_forward) (void *ctx, int n, int in, int out, const float *x, const float *w,
							   const float *b, float *y, pgs_error *err);
	/* dx += dy·w (skipped when NULL), dw += dyᵀ·x, db += Σ dy (skipped when NULL) */
	pgs_status	(*fc_backward) (void *ctx, int n, int in, int out, const float *x, const float *w,
								const float *dy, float *dx, float *dw, float *db, pgs_error *err);

	/*
	 * Losses, per element (sigmoid + binary cross-entropy over n logits with float targets in [0, 1]) or per
	 * sample (softmax + cross-entropy over n rows of k logits with int32 class labels). losses gets each
	 * element's or row's loss; dlogits (when not NULL) += grad_scale·∂loss/∂logit, so grad_scale = 1/n
	 * gives the gradient of the mean.
	 */
	pgs_status	(*sigmoid_bce) (void *ctx, size_t n, const float *logits, const float *targets, float *losses,
								float *dlogits, float grad_scale, pgs_error *err);
	pgs_status	(*softmax_ce) (void *ctx, int n, int k, const float *logits, const int32_t *labels,
							   float *losses, float *dlogits, float grad_scale, pgs_error *err);

	/*
	 * One optimiser step over n parameters with their gradients and the optimiser's state (state1: momentum
	 * or Adam's first moment; state2: RMSProp's mean square or Adam's second moment; NULL when the kind
	 * needs none). Element-wise maths in kernels/device/optim_math.h, shared by both devices.
	 */
	pgs_status	(*optimizer_update) (void *ctx, const pgs_optimizer_update *u, size_t n, float *param,
									 const float *grad, float *state1, float *state2, pgs_error *err);

	/* ---- version 3: network input preparation (kernels/device/augment.h) ---- */

	/*
	 * Network input from preprocessed images (kernels/device/augment.h): n uint8 H×W×C images become
	 * float32 n×C×H×W (a transpose, never a reshape), scaled to [0, 1], flipped and colour-augmented with
	 * params[i] when params is not NULL (n entries, device memory), then normalised (pgs_normalization).
	 */
	pgs_status	(*prepare_input) (void *ctx, int n, int height, int width, int channels,
								  const unsigned char *images, const struct pgs_augment_params *params,
								  int normalization, float *out, pgs_error *err);

	/* ---- version 4: batch norm whose statistics span several replicas' batches (kernels/train/replica.h) ---- */

	/*
	 * The split of bn_forward_train and bn_backward around a sum over replicas: each replica computes its
	 * per-channel sums, the sums are added across replicas, and each replica finishes with the totals over
	 * `count` elements per channel (N·H·W summed over replicas). sums is device memory, 2·C doubles.
	 * bn_sums: sums[c] = Σ x, sums[C + c] = Σ x² of channel c.
	 * bn_forward_sums: bn_forward_train with the mean and biased variance of the summed statistics.
	 * bn_backward_sums: sums[c] = Σ dy, sums[C + c] = Σ dy·(x − mean); dgamma += Σ dy·x̂, dbeta += Σ dy (this
	 * replica's share, summed over replicas with the other parameter gradients).
	 * bn_backward_data: dx += gamma·invstd·(dy − sums[c]/count − (x − mean)·invstd²·sums[C + c]/count).
	 */
	pgs_status	(*bn_sums) (void *ctx, const pgs_bn_desc *d, const float *x, double *sums, pgs_error *err);
	pgs_status	(*bn_forward_sums) (void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									const float *beta, const double *sums, double count, float *y,
									float *running_mean, float *running_var, float *save_mean, float *save_invstd,
									pgs_error *err);
	pgs_status	(*bn_backward_sums) (void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *save_mean, const float *save_invstd, double *sums, float *dgamma,
									 float *dbeta, pgs_error *err);
	pgs_status	(*bn_backward_data) (void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *gamma, const float *save_mean, const float *save_invstd,
									 const double *sums, double count, float *dx, pgs_error *err);
} pgs_ops;

/* The CPU device, always available: the readable reference every other device is checked against. */
const pgs_ops *pgs_cpu_ops(void);

/* Output size of a convolution or pooling window along one axis (floor rounding); < 1 means invalid. */
static inline int
pgs_window_output_size(int in, int kernel, int stride, int pad)
{
	if (stride < 1 || kernel < 1 || pad < 0 || in + 2 * pad < kernel)
		return 0;
	return (in + 2 * pad - kernel) / stride + 1;
}

static inline size_t
pgs_shape4_numel(const pgs_shape4 *s)
{
	return (size_t) s->n * (size_t) s->c * (size_t) s->h * (size_t) s->w;
}

#ifdef __cplusplus
}
#endif

#endif
