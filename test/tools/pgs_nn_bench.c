/* Times the network engine (inference and training steps) on the CPU or GPUs; needs no PostgreSQL. */
#include "../../kernels/device/cuda_module.h"
#include "../../kernels/device/ops.h"
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/cpu/gemm.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/optimizer.h"
#include "../../kernels/train/replica.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * usage: pgs_nn_bench [--device cpu|cuda] [--arch inception_v3|small_cnn] [--mode infer|train] [--batch N ...]
 *                     [--iterations K] [--threads N] [--gemm auto|plain|openblas] [--no-tf32] [--aux]
 *                     [--replicas N]
 * For each batch size: one warm-up (plans memory, picks cuDNN algorithms), then K timed iterations; prints
 * one line per batch size: "pgscreen <mode> <batch> <images/s> <ms per batch> <MiB planned>".
 * A training step is forward, loss, backward and an SGD step, as PyTorch's would be.
 * --replicas N (training on GPUs): N processes, replica r on GPU r, gradients averaged over NCCL every step
 * as a job with "devices" does; --batch is each GPU's batch; prints "pgscreen ddp <N> <batch per GPU>
 * <images/s of all GPUs> <ms per step> <MiB planned per GPU>".
 */

static void
die(const char *what, const pgs_error *err)
{
	fprintf(stderr, "pgs_nn_bench: %s: %s\n", what, err ? err->message : "");
	exit(1);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The CUDA module ($PGS_CUDA_MODULE, default ./pgscreen_cuda.so); loading it initialises nothing. */
static const pgs_cuda_module *
cuda_module(void)
{
	static const pgs_cuda_module *module;

	if (module == NULL)
	{
		const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
		void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		pgs_cuda_module_entry_fn entry = handle ? (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY) : NULL;

		module = entry ? entry(PGS_CUDA_MODULE_ABI) : NULL;
		if (module == NULL)
		{
			fprintf(stderr, "pgs_nn_bench: cannot load the CUDA module %s: %s\n", path, dlerror());
			exit(1);
		}
	}
	return module;
}

static const pgs_ops *
open_device(const char *device, int ordinal, int threads, bool tf32)
{
	pgs_device_options options = {threads, (size_t) 1 << 30, false, tf32};
	const pgs_ops *ops = pgs_cpu_ops();
	pgs_error	err;

	if (strcmp(device, "cuda") == 0 && cuda_module()->open_device(ordinal, &ops, &err) != PGS_OK)
		die("cannot open the GPU", &err);
	if (ops->configure(ops->ctx, &options, &err) != PGS_OK)
		die("configure", &err);
	return ops;
}

/* Random images in [−1, 1] and alternating targets, the same in every process. */
static void
fill_batch(const pgs_net_config *c, int batch, float *images, float *targets)
{
	unsigned long long state = 1;

	for (size_t i = 0; i < (size_t) batch * c->in_channels * c->in_height * c->in_width; i++)
	{
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		images[i] = (float) ((double) (state >> 40) / 16777216.0 * 2.0 - 1.0);
	}
	for (int b = 0; b < batch; b++)
		targets[(size_t) b * c->outputs] = (float) (b % 2);
}

static void
bench(const pgs_ops *ops, pgs_net *net, pgs_optimizer *opt, pgs_net_mode mode, int batch, int iterations)
{
	const pgs_net_config *c = pgs_net_get_config(net);
	size_t		per_image = (size_t) c->in_channels * c->in_height * c->in_width;
	float	   *images = malloc((size_t) batch * per_image * sizeof(float));
	float	   *targets = calloc((size_t) batch * c->outputs, sizeof(float));
	pgs_error	err;
	double		start = 0;

	if (images == NULL || targets == NULL)
		die("out of memory", NULL);
	fill_batch(c, batch, images, targets);
	for (int it = 0; it <= iterations; it++)
	{
		pgs_net_loss loss;

		if (it == 1)
		{
			if (ops->synchronize(ops->ctx, &err) != PGS_OK)
				die("synchronize", &err);
			start = now_seconds();
		}
		if (mode == PGS_NET_TRAIN)
		{
			if (pgs_net_zero_grads(net, &err) != PGS_OK ||
				pgs_net_forward(net, batch, images, PGS_NET_TRAIN, &err) != PGS_OK ||
				pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err) != PGS_OK ||
				pgs_optimizer_step(opt, NULL, &err) != PGS_OK)
				die("training step", &err);
		}
		else if (pgs_net_forward(net, batch, images, PGS_NET_INFER, &err) != PGS_OK ||
				 pgs_net_logits(net, targets, NULL, &err) != PGS_OK)
			die("inference", &err);
	}
	if (ops->synchronize(ops->ctx, &err) != PGS_OK)
		die("synchronize", &err);
	{
		double		per_batch = (now_seconds() - start) / iterations;

		printf("pgscreen %s %d %.2f %.2f %.0f\n", mode == PGS_NET_TRAIN ? "train" : "infer", batch, batch / per_batch,
			   per_batch * 1000.0, pgs_net_planned_bytes(net) / 1048576.0);
		fflush(stdout);
	}
	free(images);
	free(targets);
}

/* One replica of --replicas: GPU `rank`, its share of every step, gradients averaged over NCCL. */
static int
ddp_replica(void *shared, const unsigned char *id, int rank, int replicas, const pgs_net_config *config,
			int batch, int iterations, bool tf32)
{
	const pgs_ops *ops = open_device("cuda", rank, 0, tf32);
	float	   *images = malloc((size_t) batch * config->in_channels * config->in_height * config->in_width *
								sizeof(float));
	float	   *targets = calloc((size_t) batch * config->outputs, sizeof(float));
	pgs_optimizer_config oc;
	pgs_collective group;
	pgs_net    *net;
	pgs_optimizer *opt;
	void	   *comm;
	pgs_error	err;
	double		start = 0;

	fill_batch(config, batch, images, targets);
	pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_SGD);
	oc.lr = 1e-7f;
	if (pgs_net_create(ops, config, &net, &err) != PGS_OK || pgs_net_init_weights(net, 1, &err) != PGS_OK ||
		pgs_optimizer_create(net, &oc, &opt, &err) != PGS_OK ||
		pgs_collective_shm_attach(&group, shared, rank, ops, NULL, NULL, &err) != PGS_OK ||
		cuda_module()->nccl_open(ops, id, rank, replicas, &comm, &err) != PGS_OK ||
		pgs_collective_use_nccl(&group, cuda_module(), comm, &err) != PGS_OK ||
		pgs_replica_join(net, &group, false, &err) != PGS_OK ||
		pgs_replica_broadcast_state(net, opt, &group, &err) != PGS_OK)
		goto fail;
	for (int it = 0; it <= iterations; it++)
	{
		pgs_net_loss loss;

		/* The first step plans memory and picks algorithms; every replica starts the clock together. */
		if (it == 1 && (ops->synchronize(ops->ctx, &err) != PGS_OK || pgs_collective_barrier(&group, &err) != PGS_OK))
			goto fail;
		if (it == 1)
			start = now_seconds();
		if (pgs_net_zero_grads(net, &err) != PGS_OK ||
			pgs_net_forward(net, batch, images, PGS_NET_TRAIN, &err) != PGS_OK ||
			pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err) != PGS_OK ||
			pgs_replica_average_gradients(net, &group, &err) != PGS_OK ||
			pgs_optimizer_step(opt, NULL, &err) != PGS_OK)
			goto fail;
	}
	if (ops->synchronize(ops->ctx, &err) != PGS_OK || pgs_collective_barrier(&group, &err) != PGS_OK)
		goto fail;
	if (rank == 0)
	{
		double		per_step = (now_seconds() - start) / iterations;

		printf("pgscreen ddp %d %d %.2f %.2f %.0f\n", replicas, batch, replicas * batch / per_step, per_step * 1000.0,
			   pgs_net_planned_bytes(net) / 1048576.0);
		fflush(stdout);
	}
	pgs_collective_shm_detach(&group);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	return 0;
fail:
	fprintf(stderr, "pgs_nn_bench: replica %d: %s\n", rank, err.message);
	pgs_collective_abort(shared, rank, err.code, err.message);
	return 1;
}

/* --replicas: the NCCL id is made in a child, as CUDA must not be initialised in the process that forks. */
static int
bench_replicas(const pgs_net_config *config, int replicas, int batch, int iterations, bool tf32)
{
	size_t		collective = pgs_collective_shm_size(replicas, 4096);
	void	   *shared = mmap(NULL, collective + PGS_NCCL_ID_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
							  -1, 0);
	unsigned char *id = (unsigned char *) shared + collective;
	int			failed = 0,
				status;
	pid_t		pid;
	pgs_error	err;

	if (shared == MAP_FAILED)
		die("mmap", NULL);
	pgs_collective_shm_init(shared, replicas, 4096);
	if ((pid = fork()) == 0)
		_exit(cuda_module()->nccl_unique_id(id, &err) == PGS_OK ? 0 : (fprintf(stderr, "%s\n", err.message), 1));
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("cannot make an NCCL id", NULL);
	fflush(stdout);
	for (int r = 0; r < replicas; r++)
		if (fork() == 0)
			_exit(ddp_replica(shared, id, r, replicas, config, batch, iterations, tf32));
	while (wait(&status) > 0)
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	munmap(shared, collective + PGS_NCCL_ID_BYTES);
	return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *device = "cpu";
	pgs_arch	arch = PGS_ARCH_INCEPTION_V3;
	pgs_net_mode mode = PGS_NET_INFER;
	int			batches[16],
				n_batches = 0,
				iterations = 5,
				threads = 0,
				replicas = 0;
	bool		tf32 = true,
				aux = false;
	pgs_net_config config;
	pgs_optimizer_config oc;
	pgs_net    *net;
	pgs_optimizer *opt = NULL;
	const pgs_ops *ops;
	pgs_error	err;

	for (int i = 1; i < argc; i++)
	{
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(argv[i], "--device") == 0)
			device = argv[++i];
		else if (strcmp(argv[i], "--arch") == 0)
		{
			if (pgs_arch_parse(v, &arch, &err) != PGS_OK)
				die("--arch", &err);
			i++;
		}
		else if (strcmp(argv[i], "--mode") == 0)
			mode = strcmp(argv[++i], "train") == 0 ? PGS_NET_TRAIN : PGS_NET_INFER;
		else if (strcmp(argv[i], "--batch") == 0)
			while (i + 1 < argc && argv[i + 1][0] != '-' && n_batches < 16)
				batches[n_batches++] = atoi(argv[++i]);
		else if (strcmp(argv[i], "--iterations") == 0)
			iterations = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--gemm") == 0)
		{
			pgs_gemm_use(strcmp(v, "plain") == 0 ? PGS_GEMM_PLAIN : strcmp(v, "openblas") == 0 ? PGS_GEMM_OPENBLAS
						 : PGS_GEMM_AUTO);
			i++;
		}
		else if (strcmp(argv[i], "--no-tf32") == 0)
			tf32 = false;
		else if (strcmp(argv[i], "--aux") == 0)
			aux = true;
		else if (strcmp(argv[i], "--replicas") == 0)
			replicas = atoi(argv[++i]);
		else
		{
			fprintf(stderr, "pgs_nn_bench: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (n_batches == 0)
		batches[n_batches++] = 1;
	if (iterations < 1)
		iterations = 1;
	pgs_net_config_defaults(&config, arch);
	config.aux_logits = aux;
	if (replicas > 0)
	{
		int			rc = 0;

		if (strcmp(device, "cuda") != 0 || mode != PGS_NET_TRAIN)
		{
			fprintf(stderr, "pgs_nn_bench: --replicas times training on GPUs (--device cuda --mode train)\n");
			return 2;
		}
		for (int b = 0; b < n_batches && rc == 0; b++)
			rc = bench_replicas(&config, replicas, batches[b], iterations, tf32);
		return rc;
	}
	ops = open_device(device, 0, threads, tf32);
	if (pgs_net_create(ops, &config, &net, &err) != PGS_OK || pgs_net_init_weights(net, 1, &err) != PGS_OK)
		die("cannot build the network", &err);
	pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_SGD);
	oc.lr = 1e-7f;
	if (mode == PGS_NET_TRAIN && pgs_optimizer_create(net, &oc, &opt, &err) != PGS_OK)
		die("optimizer", &err);
	if (ops->kind == PGS_DEVICE_CUDA)
		fprintf(stderr, "# %s on %s, TF32 %s\n", pgs_arch_name(arch), ops->name, tf32 ? "on" : "off");
	else
		fprintf(stderr, "# %s on the CPU, %s GEMM, %d threads\n", pgs_arch_name(arch),
				pgs_gemm_backend_name(pgs_gemm_use(PGS_GEMM_AUTO)), pgs_cpu_thread_count());
	for (int b = 0; b < n_batches; b++)
		bench(ops, net, opt, mode, batches[b], iterations);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	pgs_cpu_shutdown();
	return 0;
}
