/* Optimisers on a network's flat parameters: SGD (Nesterov), RMSProp, Adam/AdamW, schedules, clipping. */
#ifndef PGS_OPTIMIZER_H
#define PGS_OPTIMIZER_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_lr_kind
{
	PGS_LR_CONSTANT = 0,
	PGS_LR_STEP,				/* lr · gamma^⌊step / step_size⌋ */
	PGS_LR_COSINE				/* from lr down to min_lr over total_steps (half a cosine), then min_lr */
} pgs_lr_kind;

typedef struct pgs_lr_schedule
{
	pgs_lr_kind kind;
	int64_t		step_size;		/* STEP */
	float		gamma;			/* STEP */
	int64_t		total_steps;	/* COSINE */
	float		min_lr;			/* COSINE */
	int64_t		warmup_steps;	/* any kind: linear ramp from lr/warmup_steps up to the schedule's value */
} pgs_lr_schedule;

typedef struct pgs_optimizer_config
{
	pgs_optimizer_kind kind;
	float		lr;
	float		weight_decay;
	bool		decay_all;		/* also decay batch-norm γ/β and biases (PyTorch's default param group) */
	bool		decoupled_weight_decay;	/* AdamW */
	float		momentum;
	bool		nesterov;
	float		rho;
	float		eps;
	pgs_rmsprop_style rmsprop_style;
	float		beta1;
	float		beta2;
	float		clip_norm;		/* clip the global gradient L2 norm to this; 0 = no clipping */
	pgs_lr_schedule schedule;
} pgs_optimizer_config;

/*
 * The recipes' defaults. SGD: lr 3e-3, Nesterov momentum 0.9 (the thesis). RMSProp: lr 1e-3 (the published
 * replication), TF flavour with ρ = 0.9, momentum 0.9, ε = 1.0 (the Inception-v3 paper and TF-slim's
 * train_image_classifier). Adam: lr 1e-3, β = (0.9, 0.999), ε = 1e-8. No weight decay, no clipping,
 * constant learning rate. Weight decay, when set, applies to convolution and FC weights only (TF-slim's
 * regulariser), unless decay_all.
 */
void		pgs_optimizer_config_defaults(pgs_optimizer_config *config, pgs_optimizer_kind kind);
pgs_status	pgs_optimizer_config_check(const pgs_optimizer_config *config, pgs_error *err);
const char *pgs_optimizer_kind_name(pgs_optimizer_kind kind);
pgs_status	pgs_optimizer_kind_parse(const char *name, pgs_optimizer_kind *kind, pgs_error *err);

/* Learning rate of 0-based step `step` under the schedule. */
double		pgs_lr_at(const pgs_optimizer_config *config, int64_t step);

typedef struct pgs_optimizer pgs_optimizer;

/* State (momentum, mean squares, moments) lives on the network's device, laid out like its parameters. */
pgs_status	pgs_optimizer_create(pgs_net *net, const pgs_optimizer_config *config, pgs_optimizer **out,
								 pgs_error *err);
void		pgs_optimizer_free(pgs_optimizer *opt);

/*
 * One update from the network's accumulated gradients: clip by global norm if asked, schedule the learning
 * rate, update every parameter. *grad_norm (may be NULL) receives the norm before clipping when clipping
 * is on, else 0. Leaves the gradients as they were.
 */
pgs_status	pgs_optimizer_step(pgs_optimizer *opt, double *grad_norm, pgs_error *err);

int64_t		pgs_optimizer_steps(const pgs_optimizer *opt);
const pgs_optimizer_config *pgs_optimizer_get_config(const pgs_optimizer *opt);
pgs_net    *pgs_optimizer_net(pgs_optimizer *opt);

/* The state buffers (device; NULL when the kind has none), for checkpoints; n is the parameter count. */
float	   *pgs_optimizer_state(pgs_optimizer *opt, int which);
void		pgs_optimizer_set_steps(pgs_optimizer *opt, int64_t steps);

#ifdef __cplusplus
}
#endif

#endif
