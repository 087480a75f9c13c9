/* Collectives in shared memory: staging slots, a reduction in a fixed order, and an atomic barrier. */
#include "collective.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REASON_SIZE 256
#define ALIGN 64
/* How often a waiting replica asks its caller whether to go on. */
#define CHECK_INTERVAL_NS 5000000L

typedef struct shm_header
{
	int			replicas;
	size_t		slot_bytes;
	atomic_uint arrived;
	atomic_uint generation;
	atomic_int	failed;			/* 0, or 1 + the rank that failed first */
	pgs_status	code;
	char		reason[REASON_SIZE];
	int64_t		shared_value;
} shm_header;

typedef struct shm_view
{
	shm_header *header;
	char	   *slots;			/* replicas × slot_bytes, then the result */
	const pgs_ops *ops;
	pgs_collective_check_fn check;
	void	   *check_arg;
} shm_view;

static size_t
header_bytes(void)
{
	return (sizeof(shm_header) + ALIGN - 1) / ALIGN * ALIGN;
}

size_t
pgs_collective_shm_size(int replicas, size_t slot_bytes)
{
	slot_bytes = (slot_bytes + ALIGN - 1) / ALIGN * ALIGN;
	return header_bytes() + (size_t) (replicas + 1) * slot_bytes;
}

void
pgs_collective_shm_init(void *shared, int replicas, size_t slot_bytes)
{
	shm_header *h = shared;

	memset(h, 0, sizeof(*h));
	h->replicas = replicas;
	h->slot_bytes = (slot_bytes + ALIGN - 1) / ALIGN * ALIGN;
	atomic_init(&h->arrived, 0);
	atomic_init(&h->generation, 0);
	atomic_init(&h->failed, 0);
}

void
pgs_collective_abort(void *shared, int rank, pgs_status code, const char *reason)
{
	shm_header *h = shared;
	int			none = 0;

	/* The reason is written before the flag is published; only the first failure writes it. */
	if (atomic_load(&h->failed) != 0)
		return;
	h->code = code;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	if (!atomic_compare_exchange_strong(&h->failed, &none, rank + 1))
		return;
	atomic_fetch_add(&h->generation, 0);	/* a full barrier: waiters see the reason with the flag */
}

bool
pgs_collective_failure(void *shared, int *rank, char *reason, size_t reason_size)
{
	shm_header *h = shared;
	int			failed = atomic_load(&h->failed);

	if (failed == 0)
		return false;
	if (rank)
		*rank = failed - 1;
	if (reason)
		snprintf(reason, reason_size, "%s", h->reason);
	return true;
}

static pgs_status
group_failed(shm_view *v, pgs_error *err)
{
	int			rank;
	char		reason[REASON_SIZE];

	pgs_collective_failure(v->header, &rank, reason, sizeof(reason));
	return pgs_fail(err, v->header->code, "replica %d stopped: %s", rank, reason);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Sense by generation: the last to arrive resets the count and opens the next generation. Waiters spin
 * briefly (replicas of one step arrive close together), then sleep in growing naps up to 1 ms, so a replica
 * waiting through another's validation pass costs no CPU.
 */
pgs_status
pgs_collective_barrier(pgs_collective *c, pgs_error *err)
{
	shm_view   *v = c->ctx;
	shm_header *h = v->header;
	unsigned	generation = atomic_load(&h->generation);
	int64_t		next_check = now_ns() + CHECK_INTERVAL_NS;
	long		nap_ns = 1000;
	pgs_status	st;

	if (atomic_load(&h->failed) != 0)
		return group_failed(v, err);
	if (atomic_fetch_add(&h->arrived, 1) + 1 == (unsigned) h->replicas)
	{
		atomic_store(&h->arrived, 0);
		atomic_fetch_add(&h->generation, 1);
		return PGS_OK;
	}
	for (int spins = 0; atomic_load(&h->generation) == generation; spins++)
	{
		if (atomic_load(&h->failed) != 0)
			return group_failed(v, err);
		if (spins < 2000)
			continue;
		if (now_ns() >= next_check)
		{
			if (v->check && (st = v->check(v->check_arg, err)) != PGS_OK)
			{
				pgs_collective_abort(h, c->rank, st, err->message);
				return st;
			}
			next_check = now_ns() + CHECK_INTERVAL_NS;
		}
		nanosleep(&(struct timespec) {0, nap_ns}, NULL);
		nap_ns = nap_ns < 1000000 ? nap_ns * 2 : 1000000;
	}
	if (atomic_load(&h->failed) != 0)
		return group_failed(v, err);
	return PGS_OK;
}

static char *
slot(shm_view *v, int rank)
{
	return v->slots + (size_t) rank * v->header->slot_bytes;
}

/*
 * Each replica stages its data, then reduces its own contiguous part of every element range across all
 * slots in rank order, so the result does not depend on which replica computed it.
 */
static pgs_status
host_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	memcpy(dst, src, bytes);
	return PGS_OK;
}

static pgs_status
reduce(pgs_collective *c, void *data, size_t n, size_t elem, bool average, bool host, pgs_error *err)
{
	shm_view   *v = c->ctx;
	pgs_status	(*copy_in) (void *, void *, const void *, size_t, pgs_error *) = host ? host_copy : v->ops->download;
	pgs_status	(*copy_out) (void *, void *, const void *, size_t, pgs_error *) = host ? host_copy : v->ops->upload;
	int			replicas = v->header->replicas;
	size_t		chunk = v->header->slot_bytes / elem;
	char	   *result = slot(v, replicas);
	pgs_status	st;

	for (size_t first = 0; first < n; first += chunk)
	{
		size_t		count = n - first < chunk ? n - first : chunk;
		size_t		part = (count + replicas - 1) / replicas;
		size_t		begin = part * c->rank < count ? part * c->rank : count;
		size_t		end = begin + part < count ? begin + part : count;
		char	   *src = (char *) data + first * elem;

		if ((st = copy_in(v->ops->ctx, slot(v, c->rank), src, count * elem, err)) != PGS_OK ||
			(st = pgs_collective_barrier(c, err)) != PGS_OK)
			return st;
		if (elem == sizeof(float))
			for (size_t i = begin; i < end; i++)
			{
				float		sum = 0.0f;

				for (int r = 0; r < replicas; r++)
					sum += ((const float *) slot(v, r))[i];
				((float *) result)[i] = average ? sum / (float) replicas : sum;
			}
		else
			for (size_t i = begin; i < end; i++)
			{
				double		sum = 0.0;

				for (int r = 0; r < replicas; r++)
					sum += ((const double *) slot(v, r))[i];
				((double *) result)[i] = average ? sum / replicas : sum;
			}
		/* The second barrier: the result is complete; the next call's first one: everyone has read it. */
		if ((st = pgs_collective_barrier(c, err)) != PGS_OK ||
			(st = copy_out(v->ops->ctx, src, result, count * elem, err)) != PGS_OK)
			return st;
	}
	return PGS_OK;
}

pgs_status
pgs_collective_sum_host(pgs_collective *c, double *values, size_t n, pgs_error *err)
{
	return reduce(c, values, n, sizeof(double), false, true, err);
}

static pgs_status
shm_average_floats(pgs_collective *c, float *data, size_t n, pgs_error *err)
{
	return reduce(c, data, n, sizeof(float), true, false, err);
}

static pgs_status
shm_sum_doubles(pgs_collective *c, double *data, size_t n, pgs_error *err)
{
	return reduce(c, data, n, sizeof(double), false, false, err);
}

static pgs_status
shm_broadcast_floats(pgs_collective *c, float *data, size_t n, pgs_error *err)
{
	shm_view   *v = c->ctx;
	size_t		chunk = v->header->slot_bytes / sizeof(float);
	char	   *result = slot(v, v->header->replicas);
	pgs_status	st;

	for (size_t first = 0; first < n; first += chunk)
	{
		size_t		bytes = (n - first < chunk ? n - first : chunk) * sizeof(float);

		if (c->rank == 0 && (st = v->ops->download(v->ops->ctx, result, data + first, bytes, err)) != PGS_OK)
			return st;
		if ((st = pgs_collective_barrier(c, err)) != PGS_OK ||
			(c->rank != 0 && (st = v->ops->upload(v->ops->ctx, data + first, result, bytes, err)) != PGS_OK) ||
			(st = pgs_collective_barrier(c, err)) != PGS_OK)
			return st;
	}
	return PGS_OK;
}

pgs_status
pgs_collective_share_int(pgs_collective *c, int64_t *value, pgs_error *err)
{
	shm_view   *v = c->ctx;
	pgs_status	st;

	if (c->rank == 0)
		v->header->shared_value = *value;
	if ((st = pgs_collective_barrier(c, err)) != PGS_OK)
		return st;
	*value = v->header->shared_value;
	/* No one may overwrite the value before everyone has read it. */
	return pgs_collective_barrier(c, err);
}

pgs_status
pgs_collective_shm_attach(pgs_collective *c, void *shared, int rank, const pgs_ops *ops,
						  pgs_collective_check_fn check, void *check_arg, pgs_error *err)
{
	shm_header *h = shared;
	shm_view   *v;

	memset(c, 0, sizeof(*c));
	if (rank < 0 || rank >= h->replicas)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "replica %d of %d does not exist", rank, h->replicas);
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
	v->header = h;
	v->slots = (char *) shared + header_bytes();
	v->ops = ops;
	v->check = check;
	v->check_arg = check_arg;
	c->rank = rank;
	c->size = h->replicas;
	c->ctx = v;
	c->average_floats = shm_average_floats;
	c->sum_doubles = shm_sum_doubles;
	c->broadcast_floats = shm_broadcast_floats;
	return PGS_OK;
}

void
pgs_collective_shm_detach(pgs_collective *c)
{
	pgs_collective_nccl_close(c);
	free(c->ctx);
	c->ctx = NULL;
}
