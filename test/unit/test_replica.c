/* Data parallelism: shards, the shared-memory collectives (order, chunks, failures) and replicated trainers. */
#include "../../kernels/device/ops.h"
#include "../../kernels/train/collective.h"
#include "../../kernels/train/replica.h"
#include "../../kernels/train/trainer.h"
#include "spot_task.h"
#include "unit.h"

#include <math.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*replica_fn) (void *shared, int rank, void *arg);

/* Run fn in `replicas` processes on one shared mapping; true when every one exits 0. */
static int
run_replicas(void *shared, int replicas, replica_fn fn, void *arg)
{
	int			ok = 1;

	fflush(stdout);
	for (int r = 0; r < replicas; r++)
		if (fork() == 0)
		{
			int			rc = fn(shared, r, arg);

			fflush(stdout);
			_exit(rc);
		}
	for (int status; wait(&status) > 0;)
		ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return ok;
}

static void *
shared_memory(size_t bytes)
{
	void	   *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
test_shards(void)
{
	int			first,
				count;

	pgs_replica_shard(10, 0, 3, &first, &count);
	CHECK(first == 0 && count == 3);
	pgs_replica_shard(10, 1, 3, &first, &count);
	CHECK(first == 3 && count == 3);
	pgs_replica_shard(10, 2, 3, &first, &count);
	CHECK(first == 6 && count == 4);
	pgs_replica_shard(16, 1, 2, &first, &count);
	CHECK(first == 8 && count == 8);
}

#define N_VALUES 1000
#define REPLICAS 3

static float
value_of(int rank, int i)
{
	return (float) sin(i * 0.37 + rank) * (float) (1 + rank * 1000);
}

/* Every collective against the same arithmetic done here in rank order; slots of 256 bytes force chunks. */
static int
collectives_replica(void *shared, int rank, void *arg)
{
	pgs_collective c;
	pgs_error	err;
	float		data[N_VALUES];
	double		sums[N_VALUES];
	double		host[2] = {rank + 0.5, 1.0};
	int64_t		decision = rank == 0 ? 42 : -1;
	int			bad = 0;

	if (pgs_collective_shm_attach(&c, shared, rank, pgs_cpu_ops(), NULL, NULL, &err) != PGS_OK)
		return 1;
	for (int i = 0; i < N_VALUES; i++)
	{
		data[i] = value_of(rank, i);
		sums[i] = (double) value_of(rank, i) / 3.0;
	}
	if (c.average_floats(&c, data, N_VALUES, &err) != PGS_OK ||
		c.sum_doubles(&c, sums, N_VALUES, &err) != PGS_OK ||
		pgs_collective_sum_host(&c, host, 2, &err) != PGS_OK ||
		pgs_collective_share_int(&c, &decision, &err) != PGS_OK)
	{
		printf("# replica %d: %s\n", rank, err.message);
		return 1;
	}
	for (int i = 0; i < N_VALUES; i++)
	{
		float		f = 0.0f;
		double		d = 0.0;

		for (int r = 0; r < REPLICAS; r++)
		{
			f += value_of(r, i);
			d += (double) value_of(r, i) / 3.0;
		}
		bad += data[i] != f / (float) REPLICAS || sums[i] != d;
	}
	bad += host[0] != 0.5 + 1.5 + 2.5 || host[1] != 3.0 || decision != 42;
	/* Broadcast: replica 0's values everywhere. */
	for (int i = 0; i < N_VALUES; i++)
		data[i] = value_of(rank, i);
	if (c.broadcast_floats(&c, data, N_VALUES, &err) != PGS_OK)
		return 1;
	for (int i = 0; i < N_VALUES; i++)
		bad += data[i] != value_of(0, i);
	if (bad)
		printf("# replica %d: %d values differ from the rank-order arithmetic\n", rank, bad);
	pgs_collective_shm_detach(&c);
	return bad != 0;
}

static void
test_collectives_fixed_order(void)
{
	void	   *shared = shared_memory(pgs_collective_shm_size(REPLICAS, 256));

	CHECK(shared != NULL);
	pgs_collective_shm_init(shared, REPLICAS, 256);
	CHECK(run_replicas(shared, REPLICAS, collectives_replica, NULL));
	munmap(shared, pgs_collective_shm_size(REPLICAS, 256));
}

/* Replica 1 fails; replica 0, waiting in a reduction, must fail with replica 1's reason. */
static int
abort_replica(void *shared, int rank, void *arg)
{
	pgs_collective c;
	pgs_error	err;
	float		data[4] = {0};
	pgs_status	st;

	if (pgs_collective_shm_attach(&c, shared, rank, pgs_cpu_ops(), NULL, NULL, &err) != PGS_OK)
		return 1;
	if (rank == 1)
	{
		usleep(20000);
		pgs_collective_abort(shared, rank, PGS_ERR_IO, "could not read image 7");
		return 0;
	}
	st = c.average_floats(&c, data, 4, &err);
	if (st != PGS_ERR_IO || strstr(err.message, "replica 1 stopped: could not read image 7") == NULL)
	{
		printf("# replica 0 got \"%s\"\n", err.message);
		return 1;
	}
	/* Every later collective fails at once. */
	return pgs_collective_barrier(&c, &err) == PGS_ERR_IO ? 0 : 1;
}

static void
test_failure_ends_the_step_for_all(void)
{
	void	   *shared = shared_memory(pgs_collective_shm_size(2, 64));

	pgs_collective_shm_init(shared, 2, 64);
	CHECK(run_replicas(shared, 2, abort_replica, NULL));
	munmap(shared, pgs_collective_shm_size(2, 64));
}

static pgs_status
stop_now(void *arg, pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_CANCELLED, "the job was cancelled");
}

/* A waiting replica's check stops the wait, and the group with it: the absent replica finds it failed. */
static int
check_replica(void *shared, int rank, void *arg)
{
	pgs_collective c;
	pgs_error	err;

	if (pgs_collective_shm_attach(&c, shared, rank, pgs_cpu_ops(), rank == 0 ? stop_now : NULL, NULL, &err) != PGS_OK)
		return 1;
	if (rank == 1)
	{
		usleep(100000);
		return pgs_collective_barrier(&c, &err) == PGS_ERR_CANCELLED &&
			strstr(err.message, "replica 0 stopped: the job was cancelled") ? 0 : 1;
	}
	return pgs_collective_barrier(&c, &err) == PGS_ERR_CANCELLED ? 0 : 1;
}

static void
test_check_stops_waiting(void)
{
	void	   *shared = shared_memory(pgs_collective_shm_size(2, 64));

	pgs_collective_shm_init(shared, 2, 64);
	CHECK(run_replicas(shared, 2, check_replica, NULL));
	munmap(shared, pgs_collective_shm_size(2, 64));
}

/* Two trainers as replicas with synchronised batch norm, one epoch; each leaves its weights behind. */
typedef struct trainer_run
{
	size_t		offset;			/* of the weights area in the shared mapping */
	size_t		params;
} trainer_run;

static int
trainer_replica(void *shared, int rank, void *arg)
{
	trainer_run *run = arg;
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_trainer *t;
	pgs_collective c;
	pgs_train_step step;
	pgs_error	err;
	uint8_t    *model;
	size_t		len;
	double	   *losses = (double *) ((char *) shared + run->offset);
	int			steps = 0;

	spot_cache(&train, 1, 64);
	spot_cache(&val, 2, 16);
	spot_recipe(&r, 1, 5);
	if (pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &t, &err) != PGS_OK ||
		pgs_collective_shm_attach(&c, shared, rank, pgs_cpu_ops(), NULL, NULL, &err) != PGS_OK ||
		pgs_trainer_join(t, &c, true, &err) != PGS_OK || pgs_trainer_sync_replicas(t, &err) != PGS_OK ||
		pgs_trainer_begin_epoch(t, 1, &err) != PGS_OK)
		goto fail;
	do
	{
		if (pgs_trainer_train_step(t, &step, &err) != PGS_OK)
			goto fail;
		if (steps < 2)
			losses[rank * 2 + steps] = step.loss;
		steps++;
	} while (!step.epoch_done);
	/* Each replica's whole model file (weights and statistics) goes after the losses for comparison. */
	if (pgs_trainer_export_model(t, &pgs_malloc_allocator, &model, &len, &err) != PGS_OK)
		goto fail;
	memcpy((char *) shared + run->offset + 64 + (size_t) rank * (run->params + 8), &len, sizeof(len));
	memcpy((char *) shared + run->offset + 64 + (size_t) rank * (run->params + 8) + 8, model,
		   len < run->params ? len : run->params);
	return steps == 4 ? 0 : 1;

fail:
	printf("# replica %d: %s\n", rank, err.message);
	return 1;
}

static void
test_replicated_trainers_agree(void)
{
	size_t		model_bytes = 1 << 20;
	size_t		collective = pgs_collective_shm_size(2, 1 << 20);
	trainer_run run = {collective, model_bytes};
	size_t		total = collective + 64 + 2 * (model_bytes + 8);
	char	   *first = malloc(model_bytes + 8);
	void	   *shared = shared_memory(total);
	double	   *losses = (double *) ((char *) shared + collective);
	pgs_trainer *t;
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_collective c;
	pgs_error	err;

	for (int attempt = 0; attempt < 2; attempt++)
	{
		char	   *a = (char *) shared + collective + 64;
		char	   *b = a + model_bytes + 8;

		pgs_collective_shm_init(shared, 2, 1 << 20);
		CHECK(run_replicas(shared, 2, trainer_replica, &run));
		CHECKF(losses[0] == losses[2] && losses[1] == losses[3] && isfinite(losses[0]),
			   "every replica reports the global loss: %g %g / %g %g", losses[0], losses[1], losses[2], losses[3]);
		CHECK(memcmp(a, b, model_bytes + 8) == 0);
		if (attempt == 0)
			memcpy(first, a, model_bytes + 8);
		else
			CHECKF(memcmp(first, a, model_bytes + 8) == 0, "a second run gives the same model");
	}
	/* A batch that does not split evenly is refused. */
	spot_cache(&train, 1, 64);
	spot_cache(&val, 2, 16);
	spot_recipe(&r, 0, 5);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &t, &err), &err);
	pgs_collective_shm_init(shared, 3, 64);
	CHECK_OK(pgs_collective_shm_attach(&c, shared, 0, pgs_cpu_ops(), NULL, NULL, &err), &err);
	CHECK_FAILS(pgs_trainer_join(t, &c, false, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "does not split evenly over 3 replicas") != NULL);
	pgs_collective_shm_detach(&c);
	pgs_trainer_free(t);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
	free(first);
	munmap(shared, total);
}

int
main(void)
{
	RUN(test_shards);
	RUN(test_collectives_fixed_order);
	RUN(test_failure_ends_the_step_for_all);
	RUN(test_check_stops_waiting);
	RUN(test_replicated_trainers_agree);
	return unit_done();
}
