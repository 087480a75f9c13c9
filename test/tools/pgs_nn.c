/* Command-line face of the network engine for the oracles: run a batch, train a few steps (alone or as
 * data-parallel replicas in processes sharing memory), export weights. */
#include "tool_io.h"
#include "../../kernels/device/cuda_module.h"
#include "../../kernels/device/ops.h"
#include "../../kernels/image/npy.h"
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/cpu/gemm.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/npz.h"
#include "../../kernels/nn/optimizer.h"
#include "../../kernels/train/replica.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *usage =
	"usage: pgs_nn run    [network options] --weights W.npz --images X.npy [--targets T.npy | --labels L.npy]\n"
	"                     [--mode train|infer] [--steps K] [optimizer options] --out DIR\n"
	"       pgs_nn export [network options] --seed S --out W.npz\n"
	"       pgs_nn replicas [network options] [optimizer options] --weights W.npz --images X.npy --targets T.npy\n"
	"                     --batch B --steps K --replicas N [--sync-bn] --out DIR\n"
	"network options: --arch inception_v3|small_cnn --head sigmoid|softmax --outputs K --aux\n"
	"                 --size H W --dropout P --device cpu|cuda --threads N --gemm auto|plain|openblas\n"
	"optimizer options: --optimizer sgd|rmsprop|adam --lr X --momentum X --[no-]nesterov --rho X --eps X\n"
	"                 --rmsprop-style tf|torch --weight-decay X --decay-all --clip X\n";

static void
die(const char *what, const pgs_error *err)
{
	fprintf(stderr, "pgs_nn: %s: %s\n", what, err ? err->message : "");
	exit(1);
}

static float *
read_npy_f32(const char *path, int64_t *numel)
{
	size_t		len;
	uint8_t    *buf = tool_read_file(path, &len);
	pgs_tensor	t;
	pgs_error	err;

	if (pgs_npy_read(buf, len, &pgs_malloc_allocator, &t, &err) != PGS_OK)
		die(path, &err);
	if (t.dtype != PGS_DTYPE_F32)
	{
		fprintf(stderr, "pgs_nn: %s must be float32\n", path);
		exit(1);
	}
	free(buf);
	*numel = pgs_tensor_numel(&t);
	return t.data;
}

static void
write_npy_f32(const char *path, const float *data, int ndim, const int64_t *shape)
{
	pgs_tensor	t = {PGS_DTYPE_F32, ndim, {0}, (void *) data};
	uint8_t    *npy;
	size_t		len;
	pgs_error	err;

	memcpy(t.shape, shape, (size_t) ndim * sizeof(int64_t));
	if (pgs_npy_write(&t, &pgs_malloc_allocator, &npy, &len, &err) != PGS_OK)
		die(path, &err);
	tool_write_file(path, npy, len);
	free(npy);
}

typedef struct options
{
	pgs_net_config net;
	pgs_optimizer_config opt;
	const char *device;
	int			threads;
	const char *weights;
	const char *images;
	const char *targets;
	const char *labels;
	const char *out;
	pgs_net_mode mode;
	int			steps;
	uint64_t	seed;
	int			batch;
	int			replicas;
	bool		sync_bn;
} options;

static void
parse(int argc, char **argv, options *o)
{
	pgs_error	err;
	pgs_arch	arch = PGS_ARCH_INCEPTION_V3;
	pgs_optimizer_kind kind = PGS_OPTIMIZER_SGD;

	/* The architecture and optimiser come first: their defaults depend on them. */
	for (int i = 2; i + 1 < argc; i++)
	{
		if (strcmp(argv[i], "--arch") == 0 && pgs_arch_parse(argv[i + 1], &arch, &err) != PGS_OK)
			die("--arch", &err);
		if (strcmp(argv[i], "--optimizer") == 0 && pgs_optimizer_kind_parse(argv[i + 1], &kind, &err) != PGS_OK)
			die("--optimizer", &err);
	}
	memset(o, 0, sizeof(*o));
	pgs_net_config_defaults(&o->net, arch);
	pgs_optimizer_config_defaults(&o->opt, kind);
	o->device = "cpu";
	o->mode = PGS_NET_TRAIN;
	for (int i = 2; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool		used = true;

		if (strcmp(a, "--aux") == 0)
			o->net.aux_logits = true;
		else if (strcmp(a, "--nesterov") == 0)
			o->opt.nesterov = true;
		else if (strcmp(a, "--no-nesterov") == 0)
			o->opt.nesterov = false;
		else if (strcmp(a, "--decay-all") == 0)
			o->opt.decay_all = true;
		else if (strcmp(a, "--sync-bn") == 0)
			o->sync_bn = true;
		else if (v == NULL)
			used = false;
		else if (strcmp(a, "--arch") == 0 || strcmp(a, "--optimizer") == 0)
			;
		else if (strcmp(a, "--head") == 0)
		{
			if (pgs_head_parse(v, &o->net.head, &err) != PGS_OK)
				die("--head", &err);
		}
		else if (strcmp(a, "--outputs") == 0)
			o->net.outputs = atoi(v);
		else if (strcmp(a, "--size") == 0 && i + 2 < argc)
		{
			o->net.in_height = atoi(v);
			o->net.in_width = atoi(argv[++i + 1]);
		}
		else if (strcmp(a, "--dropout") == 0)
			o->net.dropout = (float) atof(v);
		else if (strcmp(a, "--device") == 0)
			o->device = v;
		else if (strcmp(a, "--threads") == 0)
			o->threads = atoi(v);
		else if (strcmp(a, "--gemm") == 0)
			pgs_gemm_use(strcmp(v, "plain") == 0 ? PGS_GEMM_PLAIN : strcmp(v, "openblas") == 0 ? PGS_GEMM_OPENBLAS
						 : PGS_GEMM_AUTO);
		else if (strcmp(a, "--weights") == 0)
			o->weights = v;
		else if (strcmp(a, "--images") == 0)
			o->images = v;
		else if (strcmp(a, "--targets") == 0)
			o->targets = v;
		else if (strcmp(a, "--labels") == 0)
			o->labels = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--mode") == 0)
			o->mode = strcmp(v, "infer") == 0 ? PGS_NET_INFER : PGS_NET_TRAIN;
		else if (strcmp(a, "--steps") == 0)
			o->steps = atoi(v);
		else if (strcmp(a, "--seed") == 0)
			o->seed = strtoull(v, NULL, 10);
		else if (strcmp(a, "--lr") == 0)
			o->opt.lr = (float) atof(v);
		else if (strcmp(a, "--momentum") == 0)
			o->opt.momentum = (float) atof(v);
		else if (strcmp(a, "--rho") == 0)
			o->opt.rho = (float) atof(v);
		else if (strcmp(a, "--eps") == 0)
			o->opt.eps = (float) atof(v);
		else if (strcmp(a, "--rmsprop-style") == 0)
			o->opt.rmsprop_style = strcmp(v, "torch") == 0 ? PGS_RMSPROP_TORCH : PGS_RMSPROP_TF;
		else if (strcmp(a, "--weight-decay") == 0)
			o->opt.weight_decay = (float) atof(v);
		else if (strcmp(a, "--clip") == 0)
			o->opt.clip_norm = (float) atof(v);
		else if (strcmp(a, "--batch") == 0)
			o->batch = atoi(v);
		else if (strcmp(a, "--replicas") == 0)
			o->replicas = atoi(v);
		else
			used = false;
		if (!used)
		{
			fprintf(stderr, "pgs_nn: unknown option %s\n%s", a, usage);
			exit(2);
		}
		if (strcmp(a, "--aux") != 0 && strcmp(a, "--nesterov") != 0 && strcmp(a, "--no-nesterov") != 0 &&
			strcmp(a, "--decay-all") != 0 && strcmp(a, "--sync-bn") != 0)
			i++;
	}
}

/* The CPU, or GPU 0 through the CUDA module ($PGS_CUDA_MODULE, default ./pgscreen_cuda.so). */
static const pgs_ops *
open_device(const options *o)
{
	const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
	pgs_device_options dev = {o->threads, (size_t) 1 << 30, false, true};
	const pgs_ops *ops = pgs_cpu_ops();
	pgs_error	err;

	if (strcmp(o->device, "cuda") == 0)
	{
		void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		pgs_cuda_module_entry_fn entry = handle ? (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY) : NULL;
		const pgs_cuda_module *module = entry ? entry(PGS_CUDA_MODULE_ABI) : NULL;

		if (module == NULL)
		{
			fprintf(stderr, "pgs_nn: cannot load the CUDA module %s\n", path);
			exit(1);
		}
		if (module->open_device(0, &ops, &err) != PGS_OK)
			die("cannot open GPU 0", &err);
	}
	if (ops->configure(ops->ctx, &dev, &err) != PGS_OK)
		die("configure", &err);
	return ops;
}

static pgs_net *
build(const options *o, const pgs_ops *ops)
{
	pgs_net    *net;
	pgs_error	err;

	if (pgs_net_create(ops, &o->net, &net, &err) != PGS_OK)
		die("cannot build the network", &err);
	if (o->weights != NULL)
	{
		size_t		len;
		uint8_t    *npz = tool_read_file(o->weights, &len);
		pgs_npz_report report;

		if (pgs_npz_import(net, npz, len, PGS_NPZ_EXACT, &report, &err) != PGS_OK)
			die(o->weights, &err);
		free(npz);
	}
	else if (pgs_net_init_weights(net, o->seed, &err) != PGS_OK)
		die("init", &err);
	return net;
}

static void
write_gradients(pgs_net *net, const char *dir)
{
	char		path[1024];
	float	   *grads = malloc(pgs_net_param_count(net) * sizeof(float));
	pgs_error	err;
	const pgs_ops *ops = pgs_net_get_ops(net);

	if (ops->download(ops->ctx, grads, pgs_net_grads(net), pgs_net_param_count(net) * sizeof(float), &err) != PGS_OK)
		die("download", &err);
	snprintf(path, sizeof(path), "%s/grad", dir);
	mkdir(path, 0755);
	for (int i = 0; i < pgs_net_tensor_count(net); i++)
	{
		const pgs_net_tensor *t = pgs_net_get_tensor(net, i);

		if (t->is_buffer)
			continue;
		snprintf(path, sizeof(path), "%s/grad/%s.npy", dir, t->name);
		write_npy_f32(path, grads + t->offset, t->ndim, t->shape);
	}
	free(grads);
}

/*
 * run: forward (and in training: loss, backward, then --steps optimiser steps, recording the loss before
 * each) and write logits.npy, losses.npy (one per step) and grad/<name>.npy of the first backward into DIR.
 */
static int
command_run(const options *o)
{
	const pgs_ops *ops = open_device(o);
	pgs_net    *net = build(o, ops);
	int64_t		numel,
				n_targets = 0;
	float	   *images,
			   *targets = NULL;
	int32_t    *labels = NULL;
	int			batch,
				k = o->net.outputs;
	float	   *logits;
	float	   *losses = calloc((size_t) o->steps + 1, sizeof(float));
	pgs_optimizer *opt = NULL;
	pgs_error	err;
	char		path[1024];
	int64_t		shape[2];

	if (o->images == NULL || o->out == NULL)
	{
		fputs(usage, stderr);
		return 2;
	}
	mkdir(o->out, 0755);
	images = read_npy_f32(o->images, &numel);
	batch = (int) (numel / ((int64_t) o->net.in_channels * o->net.in_height * o->net.in_width));
	if (o->targets)
		targets = read_npy_f32(o->targets, &n_targets);
	if (o->labels)
	{
		float	   *f = read_npy_f32(o->labels, &n_targets);

		labels = malloc((size_t) n_targets * sizeof(int32_t));
		for (int64_t i = 0; i < n_targets; i++)
			labels[i] = (int32_t) f[i];
		free(f);
	}
	logits = malloc((size_t) batch * k * sizeof(float));
	if (o->mode == PGS_NET_INFER)
	{
		if (pgs_net_forward(net, batch, images, PGS_NET_INFER, &err) != PGS_OK ||
			pgs_net_logits(net, logits, NULL, &err) != PGS_OK)
			die("forward", &err);
	}
	else
	{
		if (o->steps > 0 && pgs_optimizer_create(net, &o->opt, &opt, &err) != PGS_OK)
			die("optimizer", &err);
		for (int step = 0; step <= o->steps; step++)
		{
			pgs_net_loss loss;

			if (pgs_net_zero_grads(net, &err) != PGS_OK ||
				pgs_net_forward(net, batch, images, PGS_NET_TRAIN, &err) != PGS_OK ||
				(step == 0 && pgs_net_logits(net, logits, NULL, &err) != PGS_OK) ||
				pgs_net_backward(net, targets, labels, 0.4f, &loss, &err) != PGS_OK)
				die("training step", &err);
			losses[step] = (float) loss.loss;
			if (step == 0)
				write_gradients(net, o->out);
			if (step < o->steps && pgs_optimizer_step(opt, NULL, &err) != PGS_OK)
				die("optimizer step", &err);
		}
		shape[0] = o->steps + 1;
		snprintf(path, sizeof(path), "%s/losses.npy", o->out);
		write_npy_f32(path, losses, 1, shape);
	}
	shape[0] = batch;
	shape[1] = k;
	snprintf(path, sizeof(path), "%s/logits.npy", o->out);
	write_npy_f32(path, logits, 2, shape);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	free(images);
	free(targets);
	free(labels);
	free(logits);
	free(losses);
	return 0;
}

static void
write_weights(pgs_net *net, const char *path)
{
	uint8_t    *npz;
	size_t		len;
	pgs_error	err;

	if (pgs_npz_export(net, false, &pgs_malloc_allocator, &npz, &len, &err) != PGS_OK)
		die("export", &err);
	tool_write_file(path, npz, len);
	free(npz);
}

/*
 * One replica's run, in its own process: step s trains on global batch s mod (rows / B), this replica's
 * shard of it, as DistributedDataParallel would. Replica 0 writes the global losses; every replica writes
 * its final weights (they must be identical).
 */
static int
replica_main(const options *o, void *shared, int rank, const float *images, const float *targets, int rows)
{
	const pgs_ops *ops = open_device(o);
	pgs_net    *net = build(o, ops);
	pgs_optimizer *opt;
	pgs_collective group;
	size_t		image_floats = (size_t) o->net.in_channels * o->net.in_height * o->net.in_width;
	float	   *losses = calloc((size_t) o->steps, sizeof(float));
	int			first,
				count;
	char		path[1024];
	pgs_error	err;

	pgs_error_clear(&err);
	if (pgs_optimizer_create(net, &o->opt, &opt, &err) != PGS_OK ||
		pgs_collective_shm_attach(&group, shared, rank, ops, NULL, NULL, &err) != PGS_OK ||
		pgs_replica_join(net, &group, o->sync_bn, &err) != PGS_OK ||
		pgs_replica_broadcast_state(net, opt, &group, &err) != PGS_OK)
		goto fail;
	pgs_replica_shard(o->batch, rank, o->replicas, &first, &count);
	for (int step = 0; step < o->steps; step++)
	{
		int			row = (step * o->batch) % rows + first;
		pgs_net_loss loss;

		if (pgs_net_zero_grads(net, &err) != PGS_OK ||
			pgs_net_forward(net, count, images + (size_t) row * image_floats, PGS_NET_TRAIN, &err) != PGS_OK ||
			pgs_net_backward(net, targets + (size_t) row * o->net.outputs, NULL, 0.4f, &loss, &err) != PGS_OK ||
			pgs_replica_average_gradients(net, &group, &err) != PGS_OK ||
			pgs_replica_average_loss(&group, &loss.loss, &err) != PGS_OK ||
			pgs_optimizer_step(opt, NULL, &err) != PGS_OK)
			goto fail;
		losses[step] = (float) loss.loss;
	}
	if (rank == 0)
	{
		int64_t		shape[1] = {o->steps};

		snprintf(path, sizeof(path), "%s/losses.npy", o->out);
		write_npy_f32(path, losses, 1, shape);
	}
	snprintf(path, sizeof(path), "%s/weights-%d.npz", o->out, rank);
	write_weights(net, path);
	pgs_collective_shm_detach(&group);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	free(losses);
	return 0;

fail:
	pgs_collective_abort(shared, rank, err.code, err.message);
	fprintf(stderr, "pgs_nn: replica %d: %s\n", rank, err.message);
	return 1;
}

/* replicas: N processes on one shared mapping, the way a job's replicas share a DSM segment. */
static int
command_replicas(const options *o)
{
	int64_t		numel,
				n_targets;
	float	   *images,
			   *targets;
	int			rows,
				failed = 0;
	size_t		bytes;
	void	   *shared;
	pgs_net    *probe;
	pgs_error	err;

	if (o->images == NULL || o->targets == NULL || o->out == NULL || o->batch < 1 || o->replicas < 1 ||
		o->steps < 1 || o->net.head != PGS_HEAD_SIGMOID)
	{
		fputs(usage, stderr);
		return 2;
	}
	mkdir(o->out, 0755);
	images = read_npy_f32(o->images, &numel);
	targets = read_npy_f32(o->targets, &n_targets);
	rows = (int) (numel / ((int64_t) o->net.in_channels * o->net.in_height * o->net.in_width));
	if (rows < o->batch || rows % o->batch != 0 || n_targets != (int64_t) rows * o->net.outputs)
	{
		fprintf(stderr, "pgs_nn: %d images do not make whole batches of %d with one target row each\n", rows,
				o->batch);
		return 2;
	}
	/* The staging slots hold all gradients at once: one reduction per step. The probe net never computes. */
	if (pgs_net_create(pgs_cpu_ops(), &o->net, &probe, &err) != PGS_OK)
		die("cannot build the network", &err);
	bytes = pgs_net_param_count(probe) * sizeof(float);
	pgs_net_free(probe);
	shared = mmap(NULL, pgs_collective_shm_size(o->replicas, bytes), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
	{
		perror("pgs_nn: mmap");
		return 1;
	}
	pgs_collective_shm_init(shared, o->replicas, bytes);
	for (int rank = 0; rank < o->replicas; rank++)
	{
		pid_t		pid = fork();

		if (pid == 0)
			_exit(replica_main(o, shared, rank, images, targets, rows));
		if (pid < 0)
		{
			perror("pgs_nn: fork");
			pgs_collective_abort(shared, 0, PGS_ERR_INTERNAL, "fork failed");
			failed++;
			break;
		}
	}
	for (int status; wait(&status) > 0;)
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(images);
	free(targets);
	return failed ? 1 : 0;
}

/* export: a freshly initialised network's weights as .npz. */
static int
command_export(const options *o)
{
	pgs_net    *net = build(o, open_device(o));

	if (o->out == NULL)
	{
		fputs(usage, stderr);
		return 2;
	}
	write_weights(net, o->out);
	pgs_net_free(net);
	return 0;
}

int
main(int argc, char **argv)
{
	options		o;
	int			rc = 2;

	if (argc < 2)
	{
		fputs(usage, stderr);
		return 2;
	}
	parse(argc, argv, &o);
	if (strcmp(argv[1], "run") == 0)
		rc = command_run(&o);
	else if (strcmp(argv[1], "replicas") == 0)
		rc = command_replicas(&o);
	else if (strcmp(argv[1], "export") == 0)
		rc = command_export(&o);
	else
		fputs(usage, stderr);
	pgs_cpu_shutdown();			/* joins the pool's threads, so leak checkers see everything freed */
	return rc;
}
