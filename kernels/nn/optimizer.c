/* Host side of the optimisers: defaults, learning-rate schedules, global-norm clipping, state buffers. */
#include "optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

struct pgs_optimizer
{
	pgs_net    *net;
	pgs_optimizer_config config;
	float	   *state1;
	float	   *state2;
	int64_t		steps;
	size_t		decayed;		/* the first `decayed` parameters are convolution/FC weights */
};

void
pgs_optimizer_config_defaults(pgs_optimizer_config *c, pgs_optimizer_kind kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->beta1 = 0.9f;
	c->beta2 = 0.999f;
	c->rho = 0.9f;
	switch (kind)
	{
		case PGS_OPTIMIZER_SGD:
			c->lr = 3e-3f;
			c->momentum = 0.9f;
			c->nesterov = true;
			break;
		case PGS_OPTIMIZER_RMSPROP:
			c->lr = 1e-3f;
			c->momentum = 0.9f;
			c->eps = 1.0f;
			c->rmsprop_style = PGS_RMSPROP_TF;
			break;
		case PGS_OPTIMIZER_ADAM:
			c->lr = 1e-3f;
			c->eps = 1e-8f;
			break;
	}
	c->schedule.kind = PGS_LR_CONSTANT;
	c->schedule.gamma = 0.1f;
}

const char *
pgs_optimizer_kind_name(pgs_optimizer_kind kind)
{
	switch (kind)
	{
		case PGS_OPTIMIZER_SGD:
			return "sgd";
		case PGS_OPTIMIZER_RMSPROP:
			return "rmsprop";
		case PGS_OPTIMIZER_ADAM:
			return "adam";
	}
	return "unknown";
}

pgs_status
pgs_optimizer_kind_parse(const char *name, pgs_optimizer_kind *kind, pgs_error *err)
{
	if (strcmp(name, "sgd") == 0)
		*kind = PGS_OPTIMIZER_SGD;
	else if (strcmp(name, "rmsprop") == 0)
		*kind = PGS_OPTIMIZER_RMSPROP;
	else if (strcmp(name, "adam") == 0 || strcmp(name, "adamw") == 0)
		*kind = PGS_OPTIMIZER_ADAM;
	else
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"unknown optimizer \"%s\" (sgd, rmsprop, adam and adamw are known)", name);
	return PGS_OK;
}

pgs_status
pgs_optimizer_config_check(const pgs_optimizer_config *c, pgs_error *err)
{
	if (c->kind != PGS_OPTIMIZER_SGD && c->kind != PGS_OPTIMIZER_RMSPROP && c->kind != PGS_OPTIMIZER_ADAM)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown optimizer %d", (int) c->kind);
	if (!(c->lr > 0.0f && isfinite(c->lr)))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "learning rate %g must be positive", (double) c->lr);
	if (!(c->weight_decay >= 0.0f) || !(c->momentum >= 0.0f && c->momentum < 1.0f) || !(c->clip_norm >= 0.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"weight decay and clipping must be ≥ 0 and momentum in [0, 1)");
	if (c->nesterov && (c->kind != PGS_OPTIMIZER_SGD || c->momentum == 0.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "Nesterov momentum needs SGD with momentum > 0");
	if (c->kind == PGS_OPTIMIZER_RMSPROP && (!(c->rho >= 0.0f && c->rho < 1.0f) || !(c->eps > 0.0f)))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "RMSProp needs rho in [0, 1) and eps > 0");
	if (c->kind == PGS_OPTIMIZER_ADAM &&
		(!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f) || !(c->eps > 0.0f)))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "Adam needs beta1, beta2 in [0, 1) and eps > 0");
	if ((c->schedule.kind == PGS_LR_STEP && (c->schedule.step_size < 1 || !(c->schedule.gamma > 0.0f))) ||
		(c->schedule.kind == PGS_LR_COSINE && (c->schedule.total_steps < 1 || !(c->schedule.min_lr >= 0.0f))) ||
		c->schedule.warmup_steps < 0 || c->schedule.kind > PGS_LR_COSINE)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid learning-rate schedule");
	return PGS_OK;
}

double
pgs_lr_at(const pgs_optimizer_config *c, int64_t step)
{
	const pgs_lr_schedule *s = &c->schedule;
	double		lr = c->lr;

	switch (s->kind)
	{
		case PGS_LR_CONSTANT:
			break;
		case PGS_LR_STEP:
			lr = c->lr * pow(s->gamma, (double) (step / s->step_size));
			break;
		case PGS_LR_COSINE:
			if (step >= s->total_steps)
				lr = s->min_lr;
			else
				lr = s->min_lr + (c->lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * (double) step / s->total_steps));
			break;
	}
	if (s->warmup_steps > 0 && step < s->warmup_steps)
		lr *= (double) (step + 1) / (double) s->warmup_steps;
	return lr;
}

pgs_status
pgs_optimizer_create(pgs_net *net, const pgs_optimizer_config *config, pgs_optimizer **out, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	size_t		n = net->n_params;
	pgs_optimizer *opt;
	pgs_status	st;
	bool		needs1 = config->momentum != 0.0f || config->kind == PGS_OPTIMIZER_ADAM;
	bool		needs2 = config->kind != PGS_OPTIMIZER_SGD;

	*out = NULL;
	if ((st = pgs_optimizer_config_check(config, err)) != PGS_OK)
		return st;
	if ((opt = calloc(1, sizeof(*opt))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory creating an optimizer");
	opt->net = net;
	opt->config = *config;
	for (int i = 0; i < net->n_tensors; i++)
		if (net->tensors[i].decayed)
			opt->decayed += net->tensors[i].numel;
	if ((needs1 && (st = ops->alloc(ops->ctx, n * sizeof(float), (void **) &opt->state1, err)) != PGS_OK) ||
		(needs2 && (st = ops->alloc(ops->ctx, n * sizeof(float), (void **) &opt->state2, err)) != PGS_OK) ||
		(needs1 && (st = ops->zero(ops->ctx, opt->state1, n * sizeof(float), err)) != PGS_OK) ||
		(needs2 && (st = ops->fill(ops->ctx, n,
								   config->kind == PGS_OPTIMIZER_RMSPROP && config->rmsprop_style == PGS_RMSPROP_TF
								   ? 1.0f : 0.0f, opt->state2, err)) != PGS_OK))
	{
		pgs_optimizer_free(opt);
		return st;
	}
	*out = opt;
	return PGS_OK;
}

void
pgs_optimizer_free(pgs_optimizer *opt)
{
	if (opt == NULL)
		return;
	opt->net->ops->free(opt->net->ops->ctx, opt->state1);
	opt->net->ops->free(opt->net->ops->ctx, opt->state2);
	free(opt);
}

pgs_status
pgs_optimizer_step(pgs_optimizer *opt, double *grad_norm, pgs_error *err)
{
	pgs_net    *net = opt->net;
	const pgs_ops *ops = net->ops;
	const pgs_optimizer_config *c = &opt->config;
	pgs_optimizer_update u;
	size_t		n = net->n_params,
				head = opt->decayed;
	pgs_status	st;

	memset(&u, 0, sizeof(u));
	u.kind = c->kind;
	u.lr = (float) pgs_lr_at(c, opt->steps);
	u.grad_scale = 1.0f;
	u.decoupled_weight_decay = c->decoupled_weight_decay;
	u.momentum = c->momentum;
	u.nesterov = c->nesterov;
	u.rho = c->rho;
	u.eps = c->eps;
	u.rmsprop_style = c->rmsprop_style;
	u.beta1 = c->beta1;
	u.beta2 = c->beta2;
	u.step = opt->steps + 1;
	if (grad_norm != NULL)
		*grad_norm = 0;
	if (c->clip_norm > 0.0f)
	{
		double		sum;

		if ((st = ops->sum_squares(ops->ctx, n, net->grads, &sum, err)) != PGS_OK)
			return st;
		if (!isfinite(sum))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the gradients are not finite (the loss diverged)");
		if (grad_norm != NULL)
			*grad_norm = sqrt(sum);
		/* PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1. */
		if (sqrt(sum) + 1e-6 > c->clip_norm)
			u.grad_scale = (float) (c->clip_norm / (sqrt(sum) + 1e-6));
	}
	/* Decayed weights first, then batch norm and biases (decayed only with decay_all). */
	u.weight_decay = c->weight_decay;
	if (head > 0 && (st = ops->optimizer_update(ops->ctx, &u, head, net->params, net->grads, opt->state1,
												opt->state2, err)) != PGS_OK)
		return st;
	u.weight_decay = c->decay_all ? c->weight_decay : 0.0f;
	if (n > head && (st = ops->optimizer_update(ops->ctx, &u, n - head, net->params + head, net->grads + head,
												opt->state1 ? opt->state1 + head : NULL,
												opt->state2 ? opt->state2 + head : NULL, err)) != PGS_OK)
		return st;
	opt->steps++;
	return PGS_OK;
}

int64_t
pgs_optimizer_steps(const pgs_optimizer *opt)
{
	return opt->steps;
}

void
pgs_optimizer_set_steps(pgs_optimizer *opt, int64_t steps)
{
	opt->steps = steps;
}

const pgs_optimizer_config *
pgs_optimizer_get_config(const pgs_optimizer *opt)
{
	return &opt->config;
}

pgs_net *
pgs_optimizer_net(pgs_optimizer *opt)
{
	return opt->net;
}

float *
pgs_optimizer_state(pgs_optimizer *opt, int which)
{
	return which == 1 ? opt->state1 : which == 2 ? opt->state2 : NULL;
}
