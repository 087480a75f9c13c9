/* CPU optimiser step: the shared per-element rules of optim_math.h over a flat parameter buffer. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "optim_math.h"

pgs_status
pgs_cpu_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param, const float *grad,
						 float *state1, float *state2, pgs_error *err)
{
	int			threads = n > 65536 ? pgs_cpu_thread_count() : 1;

	switch (u->kind)
	{
		case PGS_OPTIMIZER_SGD:
			if (u->momentum != 0.0f && state1 == NULL)
				break;
#pragma omp parallel for num_threads(threads) schedule(static)
			for (size_t i = 0; i < n; i++)
				pgs_sgd_element(u, &param[i], grad[i] * u->grad_scale, state1 ? &state1[i] : NULL);
			return PGS_OK;
		case PGS_OPTIMIZER_RMSPROP:
			if (state2 == NULL || (u->momentum != 0.0f && state1 == NULL))
				break;
#pragma omp parallel for num_threads(threads) schedule(static)
			for (size_t i = 0; i < n; i++)
				pgs_rmsprop_element(u, &param[i], grad[i] * u->grad_scale, state1 ? &state1[i] : NULL, &state2[i]);
			return PGS_OK;
		case PGS_OPTIMIZER_ADAM:
			if (state1 == NULL || state2 == NULL || u->step < 1)
				break;
			{
				pgs_adam_corrections c = pgs_adam_corrections_for(u);

#pragma omp parallel for num_threads(threads) schedule(static)
				for (size_t i = 0; i < n; i++)
					pgs_adam_element(u, c, &param[i], grad[i] * u->grad_scale, &state1[i], &state2[i]);
			}
			return PGS_OK;
	}
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "optimiser %d lacks its state or step number", (int) u->kind);
}
