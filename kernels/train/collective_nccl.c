/* The collectives' data path over NCCL, for replicas on GPUs; synchronisation stays in shared memory. */
#include "collective.h"

#include <stdlib.h>

#include "../device/cuda_module.h"

typedef struct nccl_data
{
	const pgs_cuda_module *module;
	void	   *comm;
} nccl_data;

static pgs_status
nccl_average_floats(pgs_collective *c, float *data, size_t n, pgs_error *err)
{
	nccl_data  *d = c->data_ctx;

	return d->module->nccl_all_reduce(d->comm, data, n, false, true, err);
}

static pgs_status
nccl_sum_doubles(pgs_collective *c, double *data, size_t n, pgs_error *err)
{
	nccl_data  *d = c->data_ctx;

	return d->module->nccl_all_reduce(d->comm, data, n, true, false, err);
}

static pgs_status
nccl_broadcast_floats(pgs_collective *c, float *data, size_t n, pgs_error *err)
{
	nccl_data  *d = c->data_ctx;

	return d->module->nccl_broadcast(d->comm, data, n, err);
}

pgs_status
pgs_collective_use_nccl(pgs_collective *c, const pgs_cuda_module *module, void *comm, pgs_error *err)
{
	nccl_data  *d = malloc(sizeof(*d));

	if (d == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
	d->module = module;
	d->comm = comm;
	c->data_ctx = d;
	c->average_floats = nccl_average_floats;
	c->sum_doubles = nccl_sum_doubles;
	c->broadcast_floats = nccl_broadcast_floats;
	return PGS_OK;
}

void
pgs_collective_nccl_close(pgs_collective *c)
{
	nccl_data  *d = c->data_ctx;

	if (d == NULL)
		return;
	d->module->nccl_close(d->comm);
	free(d);
	c->data_ctx = NULL;
}
