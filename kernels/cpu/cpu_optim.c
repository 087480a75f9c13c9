/* CPU optimiser step: the shared per-element rules of optim_math.h over a flat parameter buffer. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "../device/optim_math.h"

typedef struct optim_job
{
	const pgs_optimizer_update *u;
	pgs_adam_corrections c;
	float	   *param;
	const float *grad;
	float	   *s1;
	float	   *s2;
} optim_job;

static void
update_range(void *arg, size_t begin, size_t end)
{
	const optim_job *j = arg;
	const pgs_optimizer_update *u = j->u;

	for (size_t i = begin; i < end; i++)
	{
		float		g = j->grad[i] * u->grad_scale;

		switch (u->kind)
		{
			case PGS_OPTIMIZER_SGD:
				pgs_sgd_element(u, &j->param[i], g, j->s1 ? &j->s1[i] : NULL);
				break;
			case PGS_OPTIMIZER_RMSPROP:
				pgs_rmsprop_element(u, &j->param[i], g, j->s1 ? &j->s1[i] : NULL, &j->s2[i]);
				break;
			case PGS_OPTIMIZER_ADAM:
				pgs_adam_element(u, j->c, &j->param[i], g, &j->s1[i], &j->s2[i]);
				break;
		}
	}
}

pgs_status
pgs_cpu_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param, const float *grad,
						 float *state1, float *state2, pgs_error *err)
{
	optim_job	job = {u, {0.0f, 1.0f}, param, grad, state1, state2};

	if (!pgs_optimizer_update_ready(u, state1, state2))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "optimiser %d lacks its state or step number", (int) u->kind);
	if (u->kind == PGS_OPTIMIZER_ADAM)
		job.c = pgs_adam_corrections_for(u);
	pgs_parallel_range(n, 65536, update_range, &job);
	return PGS_OK;
}
