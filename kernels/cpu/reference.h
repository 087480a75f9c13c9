/* The naive reference of every compute op of the ops table: what the fast CPU path and CUDA must compute. */
#ifndef PGS_REFERENCE_H
#define PGS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "../device/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The contract: plain loops straight from each op's definition in ops.h, double accumulators, no im2col,
 * no threads, no BLAS, so that each function can be checked by reading it. Outputs come first, then
 * inputs, then sizes (llm.c's convention). Backward functions ACCUMULATE (+=) into every gradient, as
 * the ops do; NULL input gradients are skipped. Argument checks are the ops table's (pgs_reference_ops).
 */

/* x is (N,C,H,W), w is (K,C,R,S), y is (N,K,P,Q); y[n,k,p,q] = Σ_c,r,s x[n,c,p·sh−ph+r,q·sw−pw+s]·w[k,c,r,s] */
void		pgs_ref_conv_forward(float *y, const float *x, const float *w, const pgs_conv_desc *d);
/* dy is (N,K,P,Q): dx (N,C,H,W) += Σ dy·w, dw (K,C,R,S) += Σ dy·x over the same index map */
void		pgs_ref_conv_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
								  const pgs_conv_desc *d);

/* x, y are (N,C,H,W); mean, invstd, running_* and gamma, beta are (C) */
void		pgs_ref_bn_forward_train(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
									 const float *x, const float *gamma, const float *beta, const pgs_bn_desc *d);
void		pgs_ref_bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
									 const float *running_mean, const float *running_var, const pgs_bn_desc *d);
void		pgs_ref_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
								const float *gamma, const float *mean, const float *invstd, const pgs_bn_desc *d);

/* x, y are (n) */
void		pgs_ref_relu_forward(float *y, const float *x, size_t n);
void		pgs_ref_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* x is (N,C,H,W), y is (N,C,P,Q) */
void		pgs_ref_pool_forward(float *y, const float *x, const pgs_pool_desc *d);
void		pgs_ref_pool_backward(float *dx, const float *dy, const float *x, const pgs_pool_desc *d);

/* part i is (N,C_i,H,W), y is (N,ΣC_i,H,W) */
void		pgs_ref_concat_forward(float *y, const float *const *x, const pgs_shape4 *parts, int n_parts);
void		pgs_ref_concat_backward(float *const *dx, const float *dy, const pgs_shape4 *parts, int n_parts);

/* x, y are (n) */
void		pgs_ref_dropout_forward(float *y, const float *x, size_t n, float p, uint64_t seed);
void		pgs_ref_dropout_backward(float *dx, const float *dy, size_t n, float p, uint64_t seed);

/* x is (N,in), w is (out,in), b is (out) or NULL, y is (N,out) */
void		pgs_ref_fc_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out);
void		pgs_ref_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
								int n, int in, int out);

/* logits, targets, losses are (n); dlogits (n) or NULL */
void		pgs_ref_sigmoid_bce(float *losses, float *dlogits, const float *logits, const float *targets, size_t n,
								float grad_scale);
/* logits, dlogits are (n,k); labels, losses are (n) */
void		pgs_ref_softmax_ce(float *losses, float *dlogits, const float *logits, const int32_t *labels, int n, int k,
							   float grad_scale);

/* param, grad, state1, state2 are (n) */
void		pgs_ref_optimizer_update(float *param, float *state1, float *state2, const float *grad, size_t n,
									 const pgs_optimizer_update *u);
double		pgs_ref_sum_squares(const float *x, size_t n);

/* The ops table of these functions on host memory: the reference the CPU and CUDA tables are checked against. */
const pgs_ops *pgs_reference_ops(void);

#ifdef __cplusplus
}
#endif

#endif
