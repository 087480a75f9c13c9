/* A network as one replica of several: batch norm over all replicas' batches, a dropout stream per replica. */
#include "net_internal.h"
#include "../device/nn_math.h"

pgs_status
pgs_net_set_batch_norm_sum(pgs_net *net, pgs_net_sum_fn sum, void *arg, int replicas, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	int			widest = 0;
	pgs_status	st;

	if (sum != NULL && replicas < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%d replicas", replicas);
	if (sum != NULL && net->bn_sums == NULL)
	{
		for (int i = 0; i < net->n_nodes; i++)
			if (net->nodes[i].kind == PGS_NODE_BN && net->nodes[i].out.c > widest)
				widest = net->nodes[i].out.c;
		if (ops->bn_sums == NULL)
			return pgs_fail(err, PGS_ERR_UNSUPPORTED, "device %s cannot share batch-norm statistics", ops->name);
		if (widest > 0 &&
			(st = ops->alloc(ops->ctx, 2 * (size_t) widest * sizeof(double), (void **) &net->bn_sums, err)) != PGS_OK)
			return st;
	}
	net->bn_sum = sum;
	net->bn_sum_arg = arg;
	net->bn_replicas = replicas;
	return PGS_OK;
}

void
pgs_net_set_dropout_stream(pgs_net *net, uint64_t stream)
{
	net->dropout_stream = stream;
}

/* Stream 0 keeps the single-device masks, so one replica trains exactly as a network alone. */
uint64_t
pgs_net_dropout_seed(const pgs_net *net, int64_t step, int node)
{
	uint64_t	seed = net->dropout_stream == 0 ? net->dropout_seed :
		pgs_mix64(net->dropout_seed ^ pgs_mix64(net->dropout_stream));

	return pgs_mix64(seed + (uint64_t) step * 1000003u + (uint64_t) node);
}

/* Every replica's batch has d->x.n images (equal shards), so the total count is replicas × the local one. */
static double
total_count(const pgs_net *net, const pgs_bn_desc *d)
{
	return (double) net->bn_replicas * d->x.n * d->x.h * d->x.w;
}

pgs_status
pgs_net_bn_forward_replicas(pgs_net *net, const pgs_node *node, const pgs_bn_desc *d, const float *x, float *y,
							pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	const float *gamma = net->params + net->tensors[node->weight].offset;
	const float *beta = net->params + net->tensors[node->bias].offset;
	float	   *rm = net->buffers + net->tensors[node->running_mean].offset;
	float	   *rv = net->buffers + net->tensors[node->running_var].offset;
	float	   *mean = net->bn_stats + node->bn_stats;
	pgs_status	st;

	if ((st = ops->bn_sums(ops->ctx, d, x, net->bn_sums, err)) != PGS_OK ||
		(st = net->bn_sum(net->bn_sum_arg, net->bn_sums, 2 * (size_t) d->x.c, err)) != PGS_OK)
		return st;
	return ops->bn_forward_sums(ops->ctx, d, x, gamma, beta, net->bn_sums, total_count(net, d), y, rm, rv, mean,
								mean + node->out.c, err);
}

pgs_status
pgs_net_bn_backward_replicas(pgs_net *net, const pgs_node *node, const pgs_bn_desc *d, const float *x,
							 const float *dy, float *dx, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	size_t		g = net->tensors[node->weight].offset,
				b = net->tensors[node->bias].offset;
	const float *mean = net->bn_stats + node->bn_stats;
	pgs_status	st;

	if ((st = ops->bn_backward_sums(ops->ctx, d, x, dy, mean, mean + node->out.c, net->bn_sums, net->grads + g,
									net->grads + b, err)) != PGS_OK ||
		(st = net->bn_sum(net->bn_sum_arg, net->bn_sums, 2 * (size_t) d->x.c, err)) != PGS_OK)
		return st;
	if (dx == NULL)
		return PGS_OK;
	return ops->bn_backward_data(ops->ctx, d, x, dy, net->params + g, mean, mean + node->out.c, net->bn_sums,
								 total_count(net, d), dx, err);
}
