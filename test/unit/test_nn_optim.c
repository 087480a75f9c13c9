/* Optimisers: the shared update rules against the published formulas, schedules, clipping, weight decay. */
#include "../../kernels/device/ops.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/device/optim_math.h"
#include "../../kernels/nn/optimizer.h"
#include "nn_testing.h"

static const pgs_ops *ops;
static pgs_error err;

#define N 257

/* Runs `steps` updates of the op on random parameters and gradients; returns the final parameters. */
static void
run_op(const pgs_optimizer_update *base, int steps, float s2_start, float *p, float *s1, float *s2, float *g_all)
{
	pgs_optimizer_update u = *base;

	for (int i = 0; i < N; i++)
	{
		s1[i] = 0.0f;
		s2[i] = s2_start;
	}
	for (int t = 0; t < steps; t++)
	{
		u.step = t + 1;
		CHECK_OK(ops->optimizer_update(ops->ctx, &u, N, p, g_all + (size_t) t * N, s1, s2, &err), &err);
	}
}

static double
max_rel(const float *a, const double *b, int n)
{
	double		worst = 0;

	for (int i = 0; i < n; i++)
		worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1e-2, fabs(b[i])));
	return worst;
}

static void
test_sgd_nesterov(void)
{
	pgs_optimizer_update u = {.kind = PGS_OPTIMIZER_SGD, .lr = 0.1f, .grad_scale = 1, .weight_decay = 0.01f,
	.momentum = 0.9f, .nesterov = true};
	float	   *p = nn_random(N, -1, 1, 1),
			   *g = nn_random(3 * N, -1, 1, 2),
				s1[N],
				s2[N];
	double		ref[N],
				buf[N] = {0};

	for (int i = 0; i < N; i++)
		ref[i] = p[i];
	/* TensorFlow's MomentumOptimizer(use_nesterov=True) with an L2 term: the same as PyTorch's SGD. */
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < N; i++)
		{
			double		grad = g[t * N + i] + 0.01 * ref[i];

			buf[i] = 0.9 * buf[i] + grad;
			ref[i] -= 0.1 * (grad + 0.9 * buf[i]);
		}
	run_op(&u, 3, 0, p, s1, s2, g);
	CHECKF(max_rel(p, ref, N) < 5e-5, "%g", max_rel(p, ref, N));
	free(p);
	free(g);
}

/*
 * TF's RMSProp (tf.compat.v1.train.RMSPropOptimizer, training/rmsprop.py and ApplyRMSProp): the mean
 * square starts at ONE, ms ← ρ·ms + (1 − ρ)·g², mom ← momentum·mom + lr·g/√(ms + ε), var ← var − mom.
 */
static void
test_rmsprop_tf(void)
{
	pgs_optimizer_update u = {.kind = PGS_OPTIMIZER_RMSPROP, .lr = 1e-3f, .grad_scale = 1, .momentum = 0.9f,
	.rho = 0.9f, .eps = 1.0f, .rmsprop_style = PGS_RMSPROP_TF};
	float	   *p = nn_random(N, -1, 1, 3),
			   *g = nn_random(4 * N, -3, 3, 4),
				s1[N],
				s2[N];
	double		ref[N],
				ms[N],
				mom[N] = {0};

	for (int i = 0; i < N; i++)
	{
		ref[i] = p[i];
		ms[i] = 1.0;
	}
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < N; i++)
		{
			double		grad = g[t * N + i];

			ms[i] = 0.9 * ms[i] + 0.1 * grad * grad;
			mom[i] = 0.9 * mom[i] + 1e-3 * grad / sqrt(ms[i] + 1.0);
			ref[i] -= mom[i];
		}
	run_op(&u, 4, 1.0f, p, s1, s2, g);
	CHECKF(max_rel(p, ref, N) < 5e-5, "%g", max_rel(p, ref, N));
	free(p);
	free(g);
}

/* torch.optim.RMSprop(alpha=ρ, eps, momentum): square_avg from 0, eps outside the root, lr outside. */
static void
test_rmsprop_torch(void)
{
	pgs_optimizer_update u = {.kind = PGS_OPTIMIZER_RMSPROP, .lr = 1e-2f, .grad_scale = 1, .momentum = 0.5f,
	.rho = 0.99f, .eps = 1e-8f, .rmsprop_style = PGS_RMSPROP_TORCH};
	float	   *p = nn_random(N, -1, 1, 5),
			   *g = nn_random(3 * N, -1, 1, 6),
				s1[N],
				s2[N];
	double		ref[N],
				sq[N] = {0},
				buf[N] = {0};

	for (int i = 0; i < N; i++)
		ref[i] = p[i];
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < N; i++)
		{
			double		grad = g[t * N + i];

			sq[i] = 0.99 * sq[i] + 0.01 * grad * grad;
			buf[i] = 0.5 * buf[i] + grad / (sqrt(sq[i]) + 1e-8);
			ref[i] -= 1e-2 * buf[i];
		}
	run_op(&u, 3, 0.0f, p, s1, s2, g);
	CHECKF(max_rel(p, ref, N) < 5e-5, "%g", max_rel(p, ref, N));
	free(p);
	free(g);
}

static void
test_adam_and_adamw(void)
{
	for (int decoupled = 0; decoupled <= 1; decoupled++)
	{
		pgs_optimizer_update u = {.kind = PGS_OPTIMIZER_ADAM, .lr = 1e-2f, .grad_scale = 1, .weight_decay = 0.1f,
		.decoupled_weight_decay = decoupled, .eps = 1e-8f, .beta1 = 0.9f, .beta2 = 0.999f};
		float	   *p = nn_random(N, -1, 1, 7),
				   *g = nn_random(5 * N, -1, 1, 8),
					s1[N],
					s2[N];
		double		ref[N],
					m[N] = {0},
					v[N] = {0};

		for (int i = 0; i < N; i++)
			ref[i] = p[i];
		for (int t = 1; t <= 5; t++)
			for (int i = 0; i < N; i++)
			{
				double		grad = g[(t - 1) * N + i];

				if (decoupled)
					ref[i] *= 1 - 1e-2 * 0.1;
				else
					grad += 0.1 * ref[i];
				m[i] = 0.9 * m[i] + 0.1 * grad;
				v[i] = 0.999 * v[i] + 0.001 * grad * grad;
				ref[i] -= 1e-2 * (m[i] / (1 - pow(0.9, t))) / (sqrt(v[i] / (1 - pow(0.999, t))) + 1e-8);
			}
		run_op(&u, 5, 0.0f, p, s1, s2, g);
		CHECKF(max_rel(p, ref, N) < 1e-4, "decoupled %d: %g", decoupled, max_rel(p, ref, N));
		free(p);
		free(g);
	}
}

static void
test_learning_rate_schedules(void)
{
	pgs_optimizer_config c;

	pgs_optimizer_config_defaults(&c, PGS_OPTIMIZER_SGD);
	c.lr = 0.1f;
	CHECK(fabs(pgs_lr_at(&c, 12345) - 0.1) < 1e-7);
	c.schedule.kind = PGS_LR_STEP;
	c.schedule.step_size = 10;
	c.schedule.gamma = 0.5f;
	CHECK(fabs(pgs_lr_at(&c, 9) - 0.1) < 1e-7 && fabs(pgs_lr_at(&c, 10) - 0.05) < 1e-7 &&
		  fabs(pgs_lr_at(&c, 25) - 0.025) < 1e-7);
	c.schedule.kind = PGS_LR_COSINE;
	c.schedule.total_steps = 100;
	c.schedule.min_lr = 0.001f;
	CHECK(fabs(pgs_lr_at(&c, 0) - 0.1) < 1e-7);
	CHECK(fabs(pgs_lr_at(&c, 50) - (0.001 + 0.099 * 0.5)) < 1e-7);
	CHECK(fabs(pgs_lr_at(&c, 100) - 0.001) < 1e-7 && fabs(pgs_lr_at(&c, 1000) - 0.001) < 1e-7);
	c.schedule.warmup_steps = 4;
	CHECK(fabs(pgs_lr_at(&c, 0) - 0.1 / 4) < 1e-7 && fabs(pgs_lr_at(&c, 3) - pgs_lr_at(&c, 3) * 1.0) < 1e-12);
	c.schedule.kind = PGS_LR_STEP;
	c.schedule.step_size = 0;
	CHECK_FAILS(pgs_optimizer_config_check(&c, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	pgs_optimizer_config_defaults(&c, PGS_OPTIMIZER_RMSPROP);
	c.nesterov = true;
	CHECK_FAILS(pgs_optimizer_config_check(&c, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

/* On a network: clipping by global norm, weight decay on weights only unless decay_all, TF state at 1. */
static void
test_optimizer_on_a_network(void)
{
	pgs_net_config nc;
	pgs_net    *net = NULL;
	pgs_optimizer *opt = NULL;
	pgs_optimizer_config c;
	size_t		n;
	float	   *before,
			   *after,
			   *grads;
	double		norm;
	const pgs_net_tensor *w,
			   *gamma;

	pgs_net_config_defaults(&nc, PGS_ARCH_SMALL_CNN);
	CHECK_OK(pgs_net_create(ops, &nc, &net, &err), &err);
	if (net == NULL)
		return;
	CHECK_OK(pgs_net_init_weights(net, 1, &err), &err);
	n = pgs_net_param_count(net);
	before = malloc(n * sizeof(float));
	after = malloc(n * sizeof(float));
	grads = malloc(n * sizeof(float));
	w = pgs_net_find_tensor(net, "conv2.conv.weight");
	gamma = pgs_net_find_tensor(net, "conv2.bn.weight");

	/* Plain SGD, zero gradients, weight decay: only convolution/FC weights shrink. */
	pgs_optimizer_config_defaults(&c, PGS_OPTIMIZER_SGD);
	c.momentum = 0;
	c.nesterov = false;
	c.lr = 0.5f;
	c.weight_decay = 0.1f;
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_OK(pgs_net_zero_grads(net, &err), &err);
	CHECK_OK(ops->download(ops->ctx, before, pgs_net_params(net), n * sizeof(float), &err), &err);
	CHECK_OK(pgs_optimizer_step(opt, NULL, &err), &err);
	CHECK_OK(ops->download(ops->ctx, after, pgs_net_params(net), n * sizeof(float), &err), &err);
	CHECK(fabsf(after[w->offset + 3] - before[w->offset + 3] * 0.95f) < 1e-7f);
	CHECK(after[gamma->offset] == before[gamma->offset]);
	pgs_optimizer_free(opt);
	c.decay_all = true;
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_OK(pgs_optimizer_step(opt, NULL, &err), &err);
	CHECK_OK(ops->download(ops->ctx, before, pgs_net_params(net), n * sizeof(float), &err), &err);
	CHECK(fabsf(before[gamma->offset] - after[gamma->offset] * 0.95f) < 1e-7f);
	pgs_optimizer_free(opt);

	/* Clipping: gradient of norm 10 clipped to 1 moves parameters by lr·g/10 (PyTorch's 1e-6 aside). */
	for (size_t i = 0; i < n; i++)
		grads[i] = (i % 2 ? 1.0f : -1.0f) * (float) (10.0 / sqrt((double) n));
	CHECK_OK(ops->upload(ops->ctx, pgs_net_grads(net), grads, n * sizeof(float), &err), &err);
	c.weight_decay = 0;
	c.clip_norm = 1.0f;
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_OK(ops->download(ops->ctx, before, pgs_net_params(net), n * sizeof(float), &err), &err);
	CHECK_OK(pgs_optimizer_step(opt, &norm, &err), &err);
	CHECK_OK(ops->download(ops->ctx, after, pgs_net_params(net), n * sizeof(float), &err), &err);
	CHECKF(fabs(norm - 10.0) < 1e-4, "norm %g", norm);
	CHECK(fabsf((before[7] - after[7]) - 0.5f * grads[7] / 10.0f) < 1e-6f);
	pgs_optimizer_free(opt);

	/* TF-style RMSProp starts its mean square at 1, PyTorch's at 0. */
	pgs_optimizer_config_defaults(&c, PGS_OPTIMIZER_RMSPROP);
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_OK(ops->download(ops->ctx, after, pgs_optimizer_state(opt, 2), n * sizeof(float), &err), &err);
	CHECK(after[0] == 1.0f && after[n - 1] == 1.0f);
	pgs_optimizer_free(opt);
	c.rmsprop_style = PGS_RMSPROP_TORCH;
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_OK(ops->download(ops->ctx, after, pgs_optimizer_state(opt, 2), n * sizeof(float), &err), &err);
	CHECK(after[0] == 0.0f && after[n - 1] == 0.0f);
	pgs_optimizer_free(opt);

	/* A diverged run is reported, not carried on with. */
	grads[5] = NAN;
	CHECK_OK(ops->upload(ops->ctx, pgs_net_grads(net), grads, n * sizeof(float), &err), &err);
	pgs_optimizer_config_defaults(&c, PGS_OPTIMIZER_SGD);
	c.clip_norm = 1.0f;
	CHECK_OK(pgs_optimizer_create(net, &c, &opt, &err), &err);
	CHECK_FAILS(pgs_optimizer_step(opt, NULL, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "not finite") != NULL);
	pgs_optimizer_free(opt);
	free(before);
	free(after);
	free(grads);
	pgs_net_free(net);
}

int
main(void)
{
	ops = pgs_cpu_ops();
	RUN(test_sgd_nesterov);
	RUN(test_rmsprop_tf);
	RUN(test_rmsprop_torch);
	RUN(test_adam_and_adamw);
	RUN(test_learning_rate_schedules);
	RUN(test_optimizer_on_a_network);
	return unit_done();
}
