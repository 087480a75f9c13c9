/* Data-parallel training: each replica's shard of the global batch, and what replicas share every step. */
#ifndef PGS_REPLICA_H
#define PGS_REPLICA_H

#include <stdbool.h>

#include "../nn/net.h"
#include "../nn/optimizer.h"
#include "collective.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The semantics of PyTorch's DistributedDataParallel: replica r trains on rows [r·B/N, (r+1)·B/N) of each
 * global batch of B rows, its loss the mean over its rows; after backward the parameter gradients are
 * averaged over the N replicas, and every replica applies the same optimiser step to the same weights.
 * Batch-norm statistics are each replica's own (running statistics: replica 0's are the model's), or,
 * with sync_batch_norm, those of the whole global batch. B must be a multiple of N, so that the averaged
 * gradient is the gradient of the global batch's mean loss.
 */
void		pgs_replica_shard(int batch, int rank, int replicas, int *first, int *count);

/* Make net one replica of group: its own dropout stream, and batch norm across replicas if asked. */
pgs_status	pgs_replica_join(pgs_net *net, pgs_collective *group, bool sync_batch_norm, pgs_error *err);

/* After backward, before the optimiser step: the gradients become their average over replicas. */
pgs_status	pgs_replica_average_gradients(pgs_net *net, pgs_collective *group, pgs_error *err);

/* The mean of the replicas' losses (the global batch's mean loss when shards are equal). */
pgs_status	pgs_replica_average_loss(pgs_collective *group, double *loss, pgs_error *err);

/* Replica 0's weights, running statistics and optimiser state everywhere (at the start, and after a resume). */
pgs_status	pgs_replica_broadcast_state(pgs_net *net, pgs_optimizer *optimizer, pgs_collective *group,
										pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
