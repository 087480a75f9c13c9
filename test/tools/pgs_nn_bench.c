/* Times the network engine (inference and training steps) on the CPU or a GPU; needs no PostgreSQL. */
#include "../../kernels/device/cuda_module.h"
#include "../../kernels/device/ops.h"
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/cpu/gemm.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/optimizer.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * usage: pgs_nn_bench [--device cpu|cuda] [--arch inception_v3|small_cnn] [--mode infer|train] [--batch N ...]
 *                     [--iterations K] [--threads N] [--gemm auto|plain|openblas] [--no-tf32] [--aux]
 * For each batch size: one warm-up (plans memory, picks cuDNN algorithms), then K timed iterations; prints
 * one line per batch size: "pgscreen <mode> <batch> <images/s> <ms per batch> <MiB planned>".
 * A training step is forward, loss, backward and an SGD step, as PyTorch's would be.
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

static const pgs_ops *
open_device(const char *device, int threads, bool tf32)
{
	pgs_device_options options = {threads, (size_t) 1 << 30, false, tf32};
	const pgs_ops *ops = pgs_cpu_ops();
	pgs_error	err;

	if (strcmp(device, "cuda") == 0)
	{
		const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
		void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		pgs_cuda_module_entry_fn entry = handle ? (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY) : NULL;
		const pgs_cuda_module *module = entry ? entry(PGS_CUDA_MODULE_ABI) : NULL;

		if (module == NULL)
		{
			fprintf(stderr, "pgs_nn_bench: cannot load the CUDA module %s: %s\n", path, dlerror());
			exit(1);
		}
		if (module->open_device(0, &ops, &err) != PGS_OK)
			die("cannot open GPU 0", &err);
	}
	if (ops->configure(ops->ctx, &options, &err) != PGS_OK)
		die("configure", &err);
	return ops;
}

static void
bench(const pgs_ops *ops, pgs_net *net, pgs_optimizer *opt, pgs_net_mode mode, int batch, int iterations)
{
	const pgs_net_config *c = pgs_net_get_config(net);
	size_t		per_image = (size_t) c->in_channels * c->in_height * c->in_width;
	float	   *images = malloc((size_t) batch * per_image * sizeof(float));
	float	   *targets = calloc((size_t) batch * c->outputs, sizeof(float));
	unsigned long long state = 1;
	pgs_error	err;
	double		start = 0;

	if (images == NULL || targets == NULL)
		die("out of memory", NULL);
	for (size_t i = 0; i < (size_t) batch * per_image; i++)
	{
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		images[i] = (float) ((double) (state >> 40) / 16777216.0 * 2.0 - 1.0);
	}
	for (int b = 0; b < batch; b++)
		targets[(size_t) b * c->outputs] = (float) (b % 2);
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

int
main(int argc, char **argv)
{
	const char *device = "cpu";
	pgs_arch	arch = PGS_ARCH_INCEPTION_V3;
	pgs_net_mode mode = PGS_NET_INFER;
	int			batches[16],
				n_batches = 0,
				iterations = 5,
				threads = 0;
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
	ops = open_device(device, threads, tf32);
	pgs_net_config_defaults(&config, arch);
	config.aux_logits = aux;
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
