/* Optimiser update rules for one parameter, shared verbatim by the CPU reference and the CUDA kernels. */
#ifndef PGS_OPTIM_MATH_H
#define PGS_OPTIM_MATH_H

#include <math.h>

#include "../common/hostdev.h"
#include "ops.h"

/*
 * Each function updates one parameter p from its gradient g and the optimiser's state (s1, s2) in place.
 * The gradient has already been multiplied by u->grad_scale. Operation order follows PyTorch's
 * torch.optim implementations (1.13, foreach=False), so float32 results agree with it to rounding.
 *
 * SGD (PyTorch and TensorFlow agree when dampening is 0):
 *   g += wd·p;  s1 = momentum·s1 + g;  p −= lr·(nesterov ? g + momentum·s1 : s1)
 * s1 starts at 0, which equals PyTorch's "first step copies g".
 */
PGS_HOSTDEV void
pgs_sgd_element(const pgs_optimizer_update *u, float *p, float g, float *s1)
{
	if (u->weight_decay != 0.0f)
		g = g + u->weight_decay * *p;
	if (u->momentum != 0.0f)
	{
		float		buf = *s1 * u->momentum + g;

		*s1 = buf;
		g = u->nesterov ? g + u->momentum * buf : buf;
	}
	*p = *p - u->lr * g;
}

/*
 * RMSProp, two published flavours (both with decay ρ of the mean square s2 and momentum buffer s1):
 *
 * TF (tf.compat.v1.train.RMSPropOptimizer, used by the Inception-v3 and Gulshan recipes; s2 starts at 1):
 *   s2 = ρ·s2 + (1 − ρ)·g²;  s1 = momentum·s1 + lr·g / sqrt(s2 + ε);  p −= s1
 * TORCH (torch.optim.RMSprop with alpha = ρ; s2 starts at 0):
 *   s2 = ρ·s2 + (1 − ρ)·g²;  d = sqrt(s2) + ε;  s1 = momentum·s1 + g / d;  p −= lr·s1
 *   (without momentum: p −= lr·g / d)
 * They differ in where ε sits (TF's ε = 1.0 of the Inception recipe is a large damping term, PyTorch's
 * 1e-8 is not), in the starting mean square, and in whether a learning-rate change affects the momentum
 * already accumulated (TF: no, the buffer holds lr·g; PyTorch: yes).
 */
PGS_HOSTDEV void
pgs_rmsprop_element(const pgs_optimizer_update *u, float *p, float g, float *s1, float *s2)
{
	if (u->weight_decay != 0.0f)
		g = g + u->weight_decay * *p;
	float		ms = *s2 * u->rho + (1.0f - u->rho) * g * g;

	*s2 = ms;
	if (u->rmsprop_style == PGS_RMSPROP_TF)
	{
		float		step = u->lr * g / sqrtf(ms + u->eps);

		if (u->momentum != 0.0f)
		{
			step = u->momentum * *s1 + step;
			*s1 = step;
		}
		*p = *p - step;
		return;
	}
	float		avg = sqrtf(ms) + u->eps;

	if (u->momentum != 0.0f)
	{
		float		buf = *s1 * u->momentum + g / avg;

		*s1 = buf;
		*p = *p - u->lr * buf;
	}
	else
		*p = *p - u->lr * (g / avg);
}

/*
 * Adam (torch.optim.Adam 1.13) and AdamW (decoupled weight decay, torch.optim.AdamW):
 *   AdamW: p *= 1 − lr·wd;  Adam: g += wd·p
 *   s1 = β1·s1 + (1 − β1)·g;  s2 = β2·s2 + (1 − β2)·g²
 *   p −= (lr / (1 − β1^t)) · s1 / (sqrt(s2) / sqrt(1 − β2^t) + ε)
 * The two bias corrections are computed once per step on the host (adam_corrections) in double, as
 * PyTorch does in Python, then rounded to float.
 */
typedef struct pgs_adam_corrections
{
	float		step_size;		/* lr / (1 − β1^t) */
	float		bc2_sqrt;		/* sqrt(1 − β2^t) */
} pgs_adam_corrections;

static inline pgs_adam_corrections
pgs_adam_corrections_for(const pgs_optimizer_update *u)
{
	pgs_adam_corrections c;
	double		bc1 = 1.0 - pow((double) u->beta1, (double) u->step);
	double		bc2 = 1.0 - pow((double) u->beta2, (double) u->step);

	c.step_size = (float) ((double) u->lr / bc1);
	c.bc2_sqrt = (float) sqrt(bc2);
	return c;
}

PGS_HOSTDEV void
pgs_adam_element(const pgs_optimizer_update *u, pgs_adam_corrections c, float *p, float g, float *s1, float *s2)
{
	if (u->weight_decay != 0.0f)
	{
		if (u->decoupled_weight_decay)
			*p = *p * (1.0f - u->lr * u->weight_decay);
		else
			g = g + u->weight_decay * *p;
	}
	float		m = *s1 * u->beta1 + (1.0f - u->beta1) * g;
	float		v = *s2 * u->beta2 + (1.0f - u->beta2) * g * g;

	*s1 = m;
	*s2 = v;
	*p = *p - c.step_size * (m / (sqrtf(v) / c.bc2_sqrt + u->eps));
}

/* Whether an update of this kind has the state it needs (both devices check before touching memory). */
static inline bool
pgs_optimizer_update_ready(const pgs_optimizer_update *u, const float *state1, const float *state2)
{
	switch (u->kind)
	{
		case PGS_OPTIMIZER_SGD:
			return u->momentum == 0.0f || state1 != NULL;
		case PGS_OPTIMIZER_RMSPROP:
			return state2 != NULL && (u->momentum == 0.0f || state1 != NULL);
		case PGS_OPTIMIZER_ADAM:
			return state1 != NULL && state2 != NULL && u->step >= 1;
	}
	return false;
}

#endif
