/* Collectives between the replicas of one training job: all-reduce, broadcast and a shared decision. */
#ifndef PGS_COLLECTIVE_H
#define PGS_COLLECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"
#include "../device/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every replica calls the same collectives in the same order; each returns when all replicas have taken
 * part, or fails on every replica once one of them has failed (pgs_collective_abort) or the caller's check
 * says to stop. Data pointers are device memory of the replica's ops table.
 *
 * The shared-memory implementation below reduces in a fixed order (replica 0, 1, …, N − 1, then the
 * division by N), so its results are the same on every run and every replica; the NCCL one
 * (pgs_collective_nccl_init) leaves the order to NCCL.
 */
typedef struct pgs_collective pgs_collective;

struct pgs_collective
{
	int			rank;
	int			size;
	void	   *ctx;			/* the shared memory's view: barriers, host values */
	void	   *data_ctx;		/* the data path's own state (NCCL's communicator), or NULL */
	/* data[i] = (Σ over replicas of data[i]) / size, in float */
	pgs_status	(*average_floats) (pgs_collective *c, float *data, size_t n, pgs_error *err);
	/* data[i] = Σ over replicas of data[i], in double */
	pgs_status	(*sum_doubles) (pgs_collective *c, double *data, size_t n, pgs_error *err);
	/* data = replica 0's data */
	pgs_status	(*broadcast_floats) (pgs_collective *c, float *data, size_t n, pgs_error *err);
};

/* Called while a replica waits for the others (every few milliseconds): fail to stop waiting. */
typedef pgs_status (*pgs_collective_check_fn) (void *arg, pgs_error *err);

/*
 * Shared memory of the replicas (a PostgreSQL dynamic shared memory segment, or an mmap shared by
 * processes or threads): a header, one staging slot per replica and a result area, each slot_bytes long.
 */
size_t		pgs_collective_shm_size(int replicas, size_t slot_bytes);
/* Once, by replica 0, before any replica attaches. */
void		pgs_collective_shm_init(void *shared, int replicas, size_t slot_bytes);

/* A replica's view of the shared memory; ops moves its device data in and out of the slots. */
pgs_status	pgs_collective_shm_attach(pgs_collective *c, void *shared, int rank, const pgs_ops *ops,
									  pgs_collective_check_fn check, void *check_arg, pgs_error *err);
void		pgs_collective_shm_detach(pgs_collective *c);
/* Close the NCCL communicator of pgs_collective_use_nccl, if any (part of detach). */
void		pgs_collective_nccl_close(pgs_collective *c);

/*
 * Move the data path of an attached shared-memory collective to NCCL (kernels/device/cuda_module.h): the
 * replicas' GPUs exchange gradients directly, while barriers and host values stay in shared memory.
 * comm comes from module->nccl_open with this replica's rank; pgs_collective_shm_detach closes it.
 */
struct pgs_cuda_module;
pgs_status	pgs_collective_use_nccl(pgs_collective *c, const struct pgs_cuda_module *module, void *comm,
									pgs_error *err);

/* Wait until every replica arrives (the collectives' own synchronisation, also for callers). */
pgs_status	pgs_collective_barrier(pgs_collective *c, pgs_error *err);

/* values[i] = Σ over replicas of values[i], host memory, in rank order. */
pgs_status	pgs_collective_sum_host(pgs_collective *c, double *values, size_t n, pgs_error *err);

/* Replica 0's *value reaches every replica (a barrier in between): how replica 0 steers the others. */
pgs_status	pgs_collective_share_int(pgs_collective *c, int64_t *value, pgs_error *err);

/*
 * Mark the group failed with a status and a reason, so that every replica's next or current wait fails with
 * them. The first failure wins; pgs_collective_failure reads it (false while none).
 */
void		pgs_collective_abort(void *shared, int rank, pgs_status code, const char *reason);
bool		pgs_collective_failure(void *shared, int *rank, char *reason, size_t reason_size);

#ifdef __cplusplus
}
#endif

#endif
