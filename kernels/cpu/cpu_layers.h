/* The CPU reference implementations of the network ops of pgs_ops (kernels/device/ops.h says what each does). */
#ifndef PGS_CPU_LAYERS_H
#define PGS_CPU_LAYERS_H

#include "../device/ops.h"

/* general */
pgs_status	pgs_cpu_configure(void *ctx, const pgs_device_options *options, pgs_error *err);
pgs_status	pgs_cpu_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err);
pgs_status	pgs_cpu_fill(void *ctx, size_t n, float value, float *x, pgs_error *err);
pgs_status	pgs_cpu_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err);
pgs_status	pgs_cpu_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err);

/* convolution (cpu_conv.c) */
pgs_status	pgs_cpu_conv_workspace(void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err);
pgs_status	pgs_cpu_conv_forward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y,
								 void *workspace, size_t workspace_bytes, pgs_error *err);
pgs_status	pgs_cpu_conv_backward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w,
								  const float *dy, float *dx, float *dw, void *workspace, size_t workspace_bytes,
								  pgs_error *err);

/* batch normalization (cpu_batchnorm.c) */
pgs_status	pgs_cpu_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, float *y, float *running_mean, float *running_var,
									 float *save_mean, float *save_invstd, pgs_error *err);
pgs_status	pgs_cpu_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									 const float *beta, const float *running_mean, const float *running_var,
									 float *y, pgs_error *err);
pgs_status	pgs_cpu_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
								const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
								float *dgamma, float *dbeta, pgs_error *err);
pgs_status	pgs_cpu_bn_sums(void *ctx, const pgs_bn_desc *d, const float *x, double *sums, pgs_error *err);
pgs_status	pgs_cpu_bn_forward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma,
									const float *beta, const double *sums, double count, float *y,
									float *running_mean, float *running_var, float *save_mean,
									float *save_invstd, pgs_error *err);
pgs_status	pgs_cpu_bn_backward_sums(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *save_mean, const float *save_invstd, double *sums,
									 float *dgamma, float *dbeta, pgs_error *err);
pgs_status	pgs_cpu_bn_backward_data(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy,
									 const float *gamma, const float *save_mean, const float *save_invstd,
									 const double *sums, double count, float *dx, pgs_error *err);

/* pooling (cpu_pool.c) */
pgs_status	pgs_cpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err);
pgs_status	pgs_cpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y,
								  const float *dy, float *dx, pgs_error *err);

/* element-wise layers, concatenation and losses (cpu_pointwise.c) */
pgs_status	pgs_cpu_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err);
pgs_status	pgs_cpu_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx,
								  pgs_error *err);
pgs_status	pgs_cpu_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x,
								   float *y, pgs_error *err);
pgs_status	pgs_cpu_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy,
									float *const *dx, pgs_error *err);
pgs_status	pgs_cpu_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y,
									pgs_error *err);
pgs_status	pgs_cpu_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx,
									 pgs_error *err);
pgs_status	pgs_cpu_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses,
								float *dlogits, float grad_scale, pgs_error *err);
pgs_status	pgs_cpu_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels,
							   float *losses, float *dlogits, float grad_scale, pgs_error *err);

/* fully connected (cpu_fc.c) */
pgs_status	pgs_cpu_fc_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
							   const float *b, float *y, pgs_error *err);
pgs_status	pgs_cpu_fc_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
								const float *dy, float *dx, float *dw, float *db, pgs_error *err);

/* optimisers (cpu_optim.c) */
pgs_status	pgs_cpu_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param,
									 const float *grad, float *state1, float *state2, pgs_error *err);

#endif
