/* A few Inception-v3 training steps on the GPU and on the CPU from the same weights: they must agree. */
#include "../../kernels/cpu/gemm.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/optimizer.h"
#include "gpucheck.h"

#define BATCH 4
#define STEPS 3

static pgs_error err;

typedef struct run
{
	double		losses[STEPS + 1];
	float		train_logits[BATCH];
	float		aux_logits[BATCH];
	float		eval_logits[BATCH];
	float	   *grads;			/* of the first step */
	size_t		n_params;
} run;

/*
 * The same seed gives the same weights and, through the shared dropout hash, the same dropout masks on both
 * devices. The learning rate is tiny because a freshly initialised Inception-v3 is so steep that larger
 * steps amplify float32 rounding chaotically (test/oracle/nn_oracle.py shows PyTorch doing the same).
 */
static void
train(const pgs_ops *ops, bool tf32, const float *images, const float *targets, run *r)
{
	pgs_net_config c;
	pgs_optimizer_config oc;
	pgs_net    *net = NULL;
	pgs_optimizer *opt = NULL;
	pgs_device_options o = {0, (size_t) 1 << 30, true, tf32};

	memset(r, 0, sizeof(*r));
	CHECK_OK(ops->configure(ops->ctx, &o, &err), &err);
	pgs_net_config_defaults(&c, PGS_ARCH_INCEPTION_V3);
	c.aux_logits = true;
	CHECK_OK(pgs_net_create(ops, &c, &net, &err), &err);
	if (net == NULL)
		return;
	CHECK_OK(pgs_net_init_weights(net, 7, &err), &err);
	pgs_optimizer_config_defaults(&oc, PGS_OPTIMIZER_SGD);
	oc.lr = 1e-7f;
	oc.weight_decay = 4e-5f;
	CHECK_OK(pgs_optimizer_create(net, &oc, &opt, &err), &err);
	r->n_params = pgs_net_param_count(net);
	r->grads = malloc(r->n_params * sizeof(float));
	for (int step = 0; step <= STEPS && opt; step++)
	{
		pgs_net_loss loss;

		CHECK_OK(pgs_net_zero_grads(net, &err), &err);
		CHECK_OK(pgs_net_forward(net, BATCH, images, PGS_NET_TRAIN, &err), &err);
		if (step == 0)
			CHECK_OK(pgs_net_logits(net, r->train_logits, r->aux_logits, &err), &err);
		CHECK_OK(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), &err);
		r->losses[step] = loss.loss;
		if (step == 0)
			CHECK_OK(ops->download(ops->ctx, r->grads, pgs_net_grads(net), r->n_params * sizeof(float), &err), &err);
		if (step < STEPS)
			CHECK_OK(pgs_optimizer_step(opt, NULL, &err), &err);
	}
	CHECK_OK(pgs_net_forward(net, BATCH, images, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_logits(net, r->eval_logits, NULL, &err), &err);
	printf("# %s%s: losses %.7f %.7f %.7f %.7f, %.0f MiB planned\n", ops->name, tf32 ? " (TF32)" : "", r->losses[0],
		   r->losses[1], r->losses[2], r->losses[3], pgs_net_planned_bytes(net) / 1048576.0);
	pgs_optimizer_free(opt);
	pgs_net_free(net);
}

static double
rel(const float *a, const float *b, int n)
{
	double		scale = 1e-30,
				worst = 0;

	for (int i = 0; i < n; i++)
		scale = fmax(scale, fabs(b[i]));
	for (int i = 0; i < n; i++)
		worst = fmax(worst, fabs((double) a[i] - b[i]) / scale);
	return isnan(worst) ? INFINITY : worst;
}

static float images[BATCH * 3 * 299 * 299];
static float targets[BATCH] = {1, 0, 0, 1};
static run	on_cpu,
			on_gpu,
			on_gpu_tf32;

static void
test_fp32_training_steps_agree(void)
{
	double		e;

	/* Logits and losses agree to float32 rounding amplified through 94 layers (PyTorch's own float32
	 * against float64 differs by ~1e-4 here). */
	e = rel(on_gpu.train_logits, on_cpu.train_logits, BATCH);
	printf("# training logits rel err %.2e, auxiliary %.2e\n", e, rel(on_gpu.aux_logits, on_cpu.aux_logits, BATCH));
	CHECK(e < 1e-3);
	CHECK(rel(on_gpu.aux_logits, on_cpu.aux_logits, BATCH) < 1e-3);
	for (int s = 0; s <= STEPS; s++)
	{
		e = fabs(on_gpu.losses[s] - on_cpu.losses[s]) / on_cpu.losses[s];
		CHECKF(e < 2e-3, "step %d: gpu %.7f, cpu %.7f", s, on_gpu.losses[s], on_cpu.losses[s]);
	}
	e = rel(on_gpu.eval_logits, on_cpu.eval_logits, BATCH);
	printf("# inference logits after %d steps rel err %.2e\n", STEPS, e);
	CHECK(e < 1e-3);
}

static void
test_fp32_gradients_agree(void)
{
	/* Per-element agreement is limited by the network's conditioning; the norm-wise error over all
	 * parameters says whether every layer's gradient arrives. */
	double		diff = 0,
				norm = 0;

	for (size_t i = 0; i < on_cpu.n_params; i++)
	{
		diff += ((double) on_gpu.grads[i] - on_cpu.grads[i]) * ((double) on_gpu.grads[i] - on_cpu.grads[i]);
		norm += (double) on_cpu.grads[i] * on_cpu.grads[i];
	}
	printf("# first-step gradients: ‖gpu − cpu‖ / ‖cpu‖ = %.2e over %zu parameters\n", sqrt(diff / norm),
		   on_cpu.n_params);
	CHECK(sqrt(diff / norm) < 0.1);
}

/*
 * TF32 rounds every product to 10 mantissa bits; through this network that is far beyond float32 noise, so
 * only the first loss (one forward pass) is compared, loosely, and the rest must stay finite.
 */
static void
test_tf32_training_is_sane(void)
{
	CHECKF(fabs(on_gpu_tf32.losses[0] - on_cpu.losses[0]) / on_cpu.losses[0] < 0.1, "TF32 %.7f, cpu %.7f",
		   on_gpu_tf32.losses[0], on_cpu.losses[0]);
	for (int s = 1; s <= STEPS; s++)
		CHECKF(isfinite(on_gpu_tf32.losses[s]), "step %d: TF32 loss %g", s, on_gpu_tf32.losses[s]);
}

int
main(void)
{
	const pgs_ops *gpu = gpucheck_open_gpu();

	gpucheck_fill_random(images, sizeof(images) / sizeof(float), 99);
	train(pgs_cpu_ops(), false, images, targets, &on_cpu);
	/* In a self-test the "GPU" run uses the other CPU GEMM, so real float32 differences are compared. */
	if (gpu->kind == PGS_DEVICE_CPU)
		pgs_gemm_use(pgs_gemm_use(PGS_GEMM_AUTO) == PGS_GEMM_PLAIN ? PGS_GEMM_OPENBLAS : PGS_GEMM_PLAIN);
	train(gpu, false, images, targets, &on_gpu);
	train(gpu, true, images, targets, &on_gpu_tf32);
	RUN(test_fp32_training_steps_agree);
	RUN(test_fp32_gradients_agree);
	RUN(test_tf32_training_is_sane);
	free(on_cpu.grads);
	free(on_gpu.grads);
	free(on_gpu_tf32.grads);
	return unit_done();
}
