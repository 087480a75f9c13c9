/* Data-parallel training on the collectives: shards, averaged gradients, one state for all replicas. */
#include "replica.h"

void
pgs_replica_shard(int batch, int rank, int replicas, int *first, int *count)
{
	int			begin = (int) ((long long) rank * batch / replicas);
	int			end = (int) ((long long) (rank + 1) * batch / replicas);

	*first = begin;
	*count = end - begin;
}

static pgs_status
sum_batch_norm(void *arg, double *sums, size_t n, pgs_error *err)
{
	pgs_collective *group = arg;

	return group->sum_doubles(group, sums, n, err);
}

pgs_status
pgs_replica_join(pgs_net *net, pgs_collective *group, bool sync_batch_norm, pgs_error *err)
{
	pgs_net_set_dropout_stream(net, (uint64_t) group->rank);
	return pgs_net_set_batch_norm_sum(net, sync_batch_norm ? sum_batch_norm : NULL, group, group->size, err);
}

pgs_status
pgs_replica_average_gradients(pgs_net *net, pgs_collective *group, pgs_error *err)
{
	return group->average_floats(group, pgs_net_grads(net), pgs_net_param_count(net), err);
}

pgs_status
pgs_replica_average_loss(pgs_collective *group, double *loss, pgs_error *err)
{
	pgs_status	st = pgs_collective_sum_host(group, loss, 1, err);

	*loss /= group->size;
	return st;
}

pgs_status
pgs_replica_broadcast_state(pgs_net *net, pgs_optimizer *optimizer, pgs_collective *group, pgs_error *err)
{
	size_t		params = pgs_net_param_count(net);
	pgs_status	st;

	if ((st = group->broadcast_floats(group, pgs_net_params(net), params, err)) != PGS_OK ||
		(st = group->broadcast_floats(group, pgs_net_buffers(net), pgs_net_buffer_count(net), err)) != PGS_OK)
		return st;
	for (int which = 1; which <= 2; which++)
	{
		float	   *state = pgs_optimizer_state(optimizer, which);

		if (state != NULL && (st = group->broadcast_floats(group, state, params, err)) != PGS_OK)
			return st;
	}
	return PGS_OK;
}
