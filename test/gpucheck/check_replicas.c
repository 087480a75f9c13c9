/* Replicas on every GPU of the machine, one process each, exchanging over NCCL (one GPU: a group of one). */
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/optimizer.h"
#include "../../kernels/train/replica.h"
#include "gpucheck.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define VALUES 100000
#define BATCH 8
#define STEPS 5
#define SIDE 32
#define MAX_PARAMS (1 << 20)

/* Per replica, in the shared mapping after the collective's memory. */
typedef struct replica_result
{
	int			failures;
	double		losses[STEPS];
	double		single_losses[STEPS];	/* replica 0: one device at the global batch */
	size_t		params;
	float		weights[MAX_PARAMS];
	float		single_weights[MAX_PARAMS];
} replica_result;

static const pgs_cuda_module *module;
static bool self_test;

static const pgs_cuda_module *
load_module(void)
{
	const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
	void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	pgs_cuda_module_entry_fn entry = handle ? (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY) : NULL;

	return entry ? entry(PGS_CUDA_MODULE_ABI) : NULL;
}

static float
value_of(int rank, int i)
{
	return (float) sin(i * 0.37 + rank) * (float) (1 + rank);
}

/* NCCL's all-reduce and broadcast against the same arithmetic on the host. */
static int
check_collectives(pgs_collective *c, const pgs_ops *ops)
{
	float	   *host = malloc(VALUES * sizeof(float));
	double	   *sums = malloc(VALUES * sizeof(double));
	void	   *dev_f,
			   *dev_d;
	pgs_error	err;
	double		worst_f = 0,
				worst_d = 0;
	int			bad = 0;

	for (int i = 0; i < VALUES; i++)
	{
		host[i] = value_of(c->rank, i);
		sums[i] = value_of(c->rank, i) / 3.0;
	}
	if (ops->alloc(ops->ctx, VALUES * sizeof(float), &dev_f, &err) != PGS_OK ||
		ops->alloc(ops->ctx, VALUES * sizeof(double), &dev_d, &err) != PGS_OK ||
		ops->upload(ops->ctx, dev_f, host, VALUES * sizeof(float), &err) != PGS_OK ||
		ops->upload(ops->ctx, dev_d, sums, VALUES * sizeof(double), &err) != PGS_OK ||
		c->average_floats(c, dev_f, VALUES, &err) != PGS_OK || c->sum_doubles(c, dev_d, VALUES, &err) != PGS_OK ||
		ops->download(ops->ctx, host, dev_f, VALUES * sizeof(float), &err) != PGS_OK ||
		ops->download(ops->ctx, sums, dev_d, VALUES * sizeof(double), &err) != PGS_OK)
	{
		printf("# replica %d: %s\n", c->rank, err.message);
		return 1;
	}
	for (int i = 0; i < VALUES; i++)
	{
		double		f = 0,
					d = 0;

		for (int r = 0; r < c->size; r++)
		{
			f += value_of(r, i);
			d += value_of(r, i) / 3.0;
		}
		f /= c->size;
		worst_f = fmax(worst_f, fabs(host[i] - f) / fmax(fabs(f), 1e-3));
		worst_d = fmax(worst_d, fabs(sums[i] - d) / fmax(fabs(d), 1e-3));
	}
	for (int i = 0; i < VALUES; i++)
		host[i] = value_of(c->rank, i);
	if (ops->upload(ops->ctx, dev_f, host, VALUES * sizeof(float), &err) != PGS_OK ||
		c->broadcast_floats(c, dev_f, VALUES, &err) != PGS_OK ||
		ops->download(ops->ctx, host, dev_f, VALUES * sizeof(float), &err) != PGS_OK)
		return 1;
	for (int i = 0; i < VALUES; i++)
		bad += host[i] != value_of(0, i);
	printf("# replica %d of %d: average of floats worst rel err %.2g, sum of doubles %.2g, broadcast %d differ\n",
		   c->rank, c->size, worst_f, worst_d, bad);
	ops->free(ops->ctx, dev_f);
	ops->free(ops->ctx, dev_d);
	free(host);
	free(sums);
	return worst_f > 1e-6 || worst_d > 1e-12 || bad;
}

/* STEPS steps of the small CNN on this replica's shard with synchronised batch norm. */
static int
train(const pgs_ops *ops, pgs_collective *c, int replicas, int rank, const float *images, const float *targets,
	  double *losses, float *weights, size_t *params)
{
	pgs_net_config config;
	pgs_optimizer_config opt_config;
	pgs_net    *net;
	pgs_optimizer *opt;
	pgs_error	err;
	int			first,
				count;
	size_t		image_floats = 3 * SIDE * SIDE;

	pgs_net_config_defaults(&config, PGS_ARCH_SMALL_CNN);
	config.in_height = config.in_width = SIDE;
	config.dropout = 0;
	pgs_optimizer_config_defaults(&opt_config, PGS_OPTIMIZER_SGD);
	opt_config.lr = 0.01f;
	if (pgs_net_create(ops, &config, &net, &err) != PGS_OK || pgs_net_init_weights(net, 3, &err) != PGS_OK ||
		pgs_optimizer_create(net, &opt_config, &opt, &err) != PGS_OK ||
		(c && (pgs_replica_join(net, c, true, &err) != PGS_OK ||
			   pgs_replica_broadcast_state(net, opt, c, &err) != PGS_OK)))
		goto fail;
	pgs_replica_shard(BATCH, rank, replicas, &first, &count);
	for (int step = 0; step < STEPS; step++)
	{
		int			row = step * BATCH + first;
		pgs_net_loss loss;

		if (pgs_net_zero_grads(net, &err) != PGS_OK ||
			pgs_net_forward(net, count, images + (size_t) row * image_floats, PGS_NET_TRAIN, &err) != PGS_OK ||
			pgs_net_backward(net, targets + row, NULL, 0.4f, &loss, &err) != PGS_OK ||
			(c && (pgs_replica_average_gradients(net, c, &err) != PGS_OK ||
				   pgs_replica_average_loss(c, &loss.loss, &err) != PGS_OK)) ||
			pgs_optimizer_step(opt, NULL, &err) != PGS_OK)
			goto fail;
		losses[step] = loss.loss;
	}
	*params = pgs_net_param_count(net);
	if (*params > MAX_PARAMS ||
		ops->download(ops->ctx, weights, pgs_net_params(net), *params * sizeof(float), &err) != PGS_OK)
		goto fail;
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	return 0;
fail:
	printf("# replica %d: %s\n", rank, err.message);
	return 1;
}

static int
replica_main(void *shared, replica_result *results, int rank, int replicas)
{
	const pgs_ops *ops = pgs_cpu_ops();
	replica_result *mine = &results[rank];
	pgs_collective c;
	pgs_error	err;
	size_t		n = (size_t) STEPS * BATCH;
	float	   *images = malloc(n * 3 * SIDE * SIDE * sizeof(float)),
			   *targets = malloc(n * sizeof(float));
	void	   *comm;
	unsigned char *id = (unsigned char *) shared + pgs_collective_shm_size(replicas, 1 << 22);

	gpucheck_fill_random(images, n * 3 * SIDE * SIDE, 99);
	for (size_t i = 0; i < n; i++)
		targets[i] = (float) (i % 3 == 0);
	if (!self_test && module->open_device(rank, &ops, &err) != PGS_OK)
		goto fail;
	if (pgs_collective_shm_attach(&c, shared, rank, ops, NULL, NULL, &err) != PGS_OK)
		goto fail;
	if (!self_test && (module->nccl_open(ops, id, rank, replicas, &comm, &err) != PGS_OK ||
					   pgs_collective_use_nccl(&c, module, comm, &err) != PGS_OK))
		goto fail;
	mine->failures += check_collectives(&c, ops);
	mine->failures += train(ops, &c, replicas, rank, images, targets, mine->losses, mine->weights, &mine->params);
	pgs_collective_shm_detach(&c);
	/* The reference: one device, the whole global batch. */
	if (rank == 0)
		mine->failures += train(ops, NULL, 1, 0, images, targets, mine->single_losses, mine->single_weights,
								&mine->params);
	free(images);
	free(targets);
	return mine->failures != 0;
fail:
	printf("# replica %d: %s\n", rank, err.message);
	pgs_collective_abort(shared, rank, err.code, err.message);
	return 1;
}

/* How many GPUs, asked in a child: CUDA must not be initialised in the process that forks the replicas. */
static int
count_gpus(void)
{
	pid_t		pid = fork();
	int			status;

	if (pid == 0)
	{
		int			n = 0;
		pgs_error	err;

		_exit(module->probe(NULL, 0, &n, &err) == PGS_OK ? n : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

static void
test_replicas_match_one_device(void)
{
	int			replicas;
	size_t		collective,
				bytes;
	void	   *shared;
	replica_result *results;
	pgs_error	err;

	self_test = getenv("GPUCHECK_SELF_TEST") != NULL;
	if (!self_test && ((module = load_module()) == NULL || module->abi < 2))
	{
		printf("Bail out! cannot load the CUDA module with NCCL\n");
		exit(2);
	}
	replicas = self_test ? 2 : count_gpus();
	if (replicas < 1)
	{
		printf("Bail out! no usable GPU\n");
		exit(2);
	}
	printf("# %d replicas%s\n", replicas, self_test ? " (self-test: CPU replicas, shared memory)" : " over NCCL");
	collective = pgs_collective_shm_size(replicas, 1 << 22);
	bytes = collective + PGS_NCCL_ID_BYTES + (size_t) replicas * sizeof(replica_result);
	shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	pgs_collective_shm_init(shared, replicas, 1 << 22);
	results = (replica_result *) ((char *) shared + collective + PGS_NCCL_ID_BYTES);
	/* The NCCL id comes from a child too, for the same reason as the count. */
	if (!self_test)
	{
		pid_t		pid = fork();
		int			status;

		if (pid == 0)
			_exit(module->nccl_unique_id((unsigned char *) shared + collective, &err) == PGS_OK ? 0 : 1);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	fflush(stdout);
	for (int r = 0; r < replicas; r++)
		if (fork() == 0)
		{
			int			rc = replica_main(shared, results, r, replicas);

			fflush(stdout);
			_exit(rc);
		}
	for (int status; wait(&status) > 0;)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int r = 1; r < replicas; r++)
		CHECKF(memcmp(results[r].weights, results[0].weights, results[0].params * sizeof(float)) == 0,
			   "replica %d ends with replica 0's weights", r);
	for (int s = 0; s < STEPS; s++)
		CHECKF(fabs(results[0].losses[s] - results[0].single_losses[s]) <= 1e-4 * fabs(results[0].single_losses[s]),
			   "step %d: loss %.7g over %d replicas, %.7g on one device", s, results[0].losses[s], replicas,
			   results[0].single_losses[s]);
	CHECK(gpucheck_compare("weights: replicas vs one device", results[0].weights, results[0].single_weights,
						   results[0].params, 1e-2) < 1e-3);
	munmap(shared, bytes);
}

int
main(void)
{
	RUN(test_replicas_match_one_device);
	return unit_done();
}
