/* Every network op of the CUDA ops table against the naive reference on random inputs, forward and backward. */
#include "../../kernels/device/layer_shapes.h"
#include "../../kernels/device/nn_math.h"
#include "../../kernels/cpu/reference.h"
#include "gpucheck.h"

static const pgs_ops *gpu;
static const pgs_ops *ref;	/* the naive reference, kernels/cpu/reference.c */
static pgs_error err;
static unsigned long long seed_counter = 1;

/* A tensor held twice: in host memory for the reference op, on the GPU for the CUDA op. */
typedef struct twin
{
	size_t		n;
	float	   *cpu;
	void	   *gpu;
} twin;

static twin
twin_make(size_t n, float lo, float hi)
{
	twin		t = {n, malloc((n ? n : 1) * sizeof(float)), NULL};

	gpucheck_fill_random(t.cpu, n, seed_counter++);
	for (size_t i = 0; i < n; i++)
		t.cpu[i] = lo + (t.cpu[i] + 1.0f) * 0.5f * (hi - lo);
	CHECK_OK(gpu->alloc(gpu->ctx, (n ? n : 1) * sizeof(float), &t.gpu, &err), &err);
	CHECK_OK(gpu->upload(gpu->ctx, t.gpu, t.cpu, n * sizeof(float), &err), &err);
	return t;
}

static twin
twin_value(size_t n, float value)
{
	twin		t = twin_make(n, 0, 0);

	for (size_t i = 0; i < n; i++)
		t.cpu[i] = value;
	CHECK_OK(gpu->upload(gpu->ctx, t.gpu, t.cpu, n * sizeof(float), &err), &err);
	return t;
}

static void
twin_free(twin *t)
{
	gpu->free(gpu->ctx, t->gpu);
	free(t->cpu);
}

/* max |gpu − reference| / max |reference|, printed; NaN anywhere counts as infinitely wrong. */
static double
twin_error(const char *what, const twin *t)
{
	float	   *back = malloc((t->n ? t->n : 1) * sizeof(float));
	double		scale = 1e-30,
				worst = 0;
	size_t		at = 0;

	CHECK_OK(gpu->download(gpu->ctx, back, t->gpu, t->n * sizeof(float), &err), &err);
	for (size_t i = 0; i < t->n; i++)
		scale = fmax(scale, fabs(t->cpu[i]));
	for (size_t i = 0; i < t->n; i++)
	{
		double		e = fabs((double) back[i] - t->cpu[i]) / scale;

		if (e > worst || isnan(e))
		{
			worst = isnan(e) ? INFINITY : e;
			at = i;
		}
	}
	printf("# %-52s rel err %.2e (at %zu: gpu %.8g, reference %.8g)\n", what, worst, at, t->n ? back[at] : 0.0,
		   t->n ? t->cpu[at] : 0.0);
	free(back);
	return worst;
}

static void
configure(bool tf32)
{
	pgs_device_options o = {0, (size_t) 1 << 30, false, tf32};

	CHECK_OK(gpu->configure(gpu->ctx, &o, &err), &err);
	CHECK_OK(ref->configure(ref->ctx, &o, &err), &err);
}

/* ---- convolution ---- */

static const int conv_shapes[][11] = {
	/* n, c, h, w, k, kh, kw, sh, sw, ph, pw */
	{4, 3, 33, 31, 32, 3, 3, 2, 2, 0, 0},	/* Conv2d_1a-like */
	{4, 32, 19, 19, 64, 3, 3, 1, 1, 1, 1},
	{4, 64, 17, 17, 80, 1, 1, 1, 1, 0, 0},	/* 1×1 */
	{3, 48, 17, 17, 64, 5, 5, 1, 1, 2, 2},
	{2, 128, 17, 17, 128, 1, 7, 1, 1, 0, 3},	/* 1×7 */
	{2, 128, 17, 17, 192, 7, 1, 1, 1, 3, 0},	/* 7×1 */
	{2, 96, 35, 35, 96, 3, 3, 2, 2, 0, 0},
	{2, 384, 8, 8, 384, 1, 3, 1, 1, 0, 1},
	{2, 128, 5, 5, 768, 5, 5, 1, 1, 0, 0},	/* the auxiliary head's conv1 */
	{1, 5, 9, 7, 3, 2, 3, 3, 1, 1, 1},	/* odd everything */
};

static void
check_conv(bool tf32, double tol)
{
	configure(tf32);
	for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++)
	{
		const int  *s = conv_shapes[i];
		pgs_conv_desc d = {{s[0], s[1], s[2], s[3], PGS_LAYOUT_NCHW}, s[4], s[5], s[6], s[7], s[8], s[9], s[10]};
		pgs_shape4	o = pgs_conv_output_shape(&d);
		twin		x = twin_make(pgs_shape4_numel(&d.x), -1, 1),
					w = twin_make((size_t) s[4] * s[1] * s[5] * s[6], -0.2f, 0.2f),
					y = twin_value(pgs_shape4_numel(&o), NAN),
					dy = twin_make(pgs_shape4_numel(&o), -1, 1),
					dx = twin_make(pgs_shape4_numel(&d.x), -1, 1),
					dw = twin_make(w.n, -1, 1);
		size_t		cpu_ws = 0,
					gpu_ws = 0;
		void	   *cpu_buf,
				   *gpu_buf = NULL;
		char		what[128];

		CHECK_OK(ref->conv_workspace(ref->ctx, &d, &cpu_ws, &err), &err);
		CHECK_OK(gpu->conv_workspace(gpu->ctx, &d, &gpu_ws, &err), &err);
		cpu_buf = malloc(cpu_ws ? cpu_ws : 1);
		CHECK_OK(gpu->alloc(gpu->ctx, gpu_ws ? gpu_ws : 1, &gpu_buf, &err), &err);
		CHECK_OK(ref->conv_forward(ref->ctx, &d, x.cpu, w.cpu, y.cpu, cpu_buf, cpu_ws, &err), &err);
		CHECK_OK(gpu->conv_forward(gpu->ctx, &d, x.gpu, w.gpu, y.gpu, gpu_buf, gpu_ws, &err), &err);
		snprintf(what, sizeof(what), "conv %d×%d s%d p%d,%d (%d,%d,%d,%d)→%d %s fwd", s[5], s[6], s[7], s[9], s[10],
				 s[0], s[1], s[2], s[3], s[4], tf32 ? "TF32" : "FP32");
		CHECK(twin_error(what, &y) < tol);
		CHECK_OK(ref->conv_backward(ref->ctx, &d, x.cpu, w.cpu, dy.cpu, dx.cpu, dw.cpu, cpu_buf, cpu_ws, &err), &err);
		CHECK_OK(gpu->conv_backward(gpu->ctx, &d, x.gpu, w.gpu, dy.gpu, dx.gpu, dw.gpu, gpu_buf, gpu_ws, &err), &err);
		snprintf(what + strlen(what) - 3, 8, "dx");
		CHECK(twin_error(what, &dx) < tol);
		snprintf(what + strlen(what) - 2, 8, "dw");
		CHECK(twin_error(what, &dw) < tol);
		/* Too small a workspace is refused, not overrun (the CPU instead uses fewer threads). */
		if (gpu_ws > 0 && gpu->kind == PGS_DEVICE_CUDA)
			CHECK_FAILS(gpu->conv_forward(gpu->ctx, &d, x.gpu, w.gpu, y.gpu, gpu_buf, gpu_ws - 1, &err),
						PGS_ERR_INVALID_ARGUMENT, &err);
		free(cpu_buf);
		gpu->free(gpu->ctx, gpu_buf);
		twin_free(&x);
		twin_free(&w);
		twin_free(&y);
		twin_free(&dy);
		twin_free(&dx);
		twin_free(&dw);
	}
}

static void
test_conv_fp32(void)
{
	check_conv(false, 1e-5);
}

static void
test_conv_tf32(void)
{
	/* TF32 keeps 10 mantissa bits: about 1e-3 relative per product, less after summation. */
	check_conv(true, 5e-3);
	configure(false);
}

/* ---- batch norm ---- */

static void
test_batchnorm(void)
{
	int			shapes[][4] = {{4, 32, 17, 17}, {2, 192, 8, 8}, {3, 5, 7, 3}};

	configure(false);
	for (int k = 0; k < 3; k++)
	{
		pgs_bn_desc d = {{shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], PGS_LAYOUT_NCHW}, 0.001f, 0.1f};
		size_t		n = pgs_shape4_numel(&d.x),
					c = d.x.c;
		/* Offset and scaled like a freshly initialised network's pre-activations. */
		twin		x = twin_make(n, -30, 50),
					gamma = twin_make(c, 0.5f, 1.5f),
					beta = twin_make(c, -1, 1),
					y = twin_value(n, NAN),
					rm = twin_make(c, -1, 1),
					rv = twin_make(c, 0.5f, 2),
					mean = twin_value(c, 0),
					invstd = twin_value(c, 0),
					dy = twin_make(n, -1, 1),
					dx = twin_make(n, -1, 1),
					dgamma = twin_make(c, -1, 1),
					dbeta = twin_make(c, -1, 1);
		char		what[96];

		CHECK_OK(ref->bn_forward_train(ref->ctx, &d, x.cpu, gamma.cpu, beta.cpu, y.cpu, rm.cpu, rv.cpu, mean.cpu,
									   invstd.cpu, &err), &err);
		CHECK_OK(gpu->bn_forward_train(gpu->ctx, &d, x.gpu, gamma.gpu, beta.gpu, y.gpu, rm.gpu, rv.gpu, mean.gpu,
									   invstd.gpu, &err), &err);
		snprintf(what, sizeof(what), "batch norm (%d,%d,%d,%d) train y", d.x.n, d.x.c, d.x.h, d.x.w);
		CHECK(twin_error(what, &y) < 1e-5);
		CHECK(twin_error("  running mean", &rm) < 1e-5);
		CHECK(twin_error("  running variance (unbiased)", &rv) < 1e-5);
		CHECK(twin_error("  saved mean", &mean) < 1e-5);
		CHECK(twin_error("  saved 1/std", &invstd) < 1e-5);
		CHECK_OK(ref->bn_backward(ref->ctx, &d, x.cpu, dy.cpu, gamma.cpu, mean.cpu, invstd.cpu, dx.cpu, dgamma.cpu,
								  dbeta.cpu, &err), &err);
		CHECK_OK(gpu->bn_backward(gpu->ctx, &d, x.gpu, dy.gpu, gamma.gpu, mean.gpu, invstd.gpu, dx.gpu, dgamma.gpu,
								  dbeta.gpu, &err), &err);
		CHECK(twin_error("  backward dx", &dx) < 1e-4);
		CHECK(twin_error("  backward dgamma", &dgamma) < 1e-4);
		CHECK(twin_error("  backward dbeta", &dbeta) < 1e-5);
		CHECK_OK(ref->bn_forward_infer(ref->ctx, &d, x.cpu, gamma.cpu, beta.cpu, rm.cpu, rv.cpu, y.cpu, &err), &err);
		CHECK_OK(gpu->bn_forward_infer(gpu->ctx, &d, x.gpu, gamma.gpu, beta.gpu, rm.gpu, rv.gpu, y.gpu, &err), &err);
		CHECK(twin_error("  inference y", &y) < 1e-5);
		twin_free(&x);
		twin_free(&gamma);
		twin_free(&beta);
		twin_free(&y);
		twin_free(&rm);
		twin_free(&rv);
		twin_free(&mean);
		twin_free(&invstd);
		twin_free(&dy);
		twin_free(&dx);
		twin_free(&dgamma);
		twin_free(&dbeta);
	}
}

/*
 * Batch norm over two replicas (ops version 4): each half of the batch computes its sums on the device, the
 * sums are added on the host as a collective would, and each half finishes with the totals. The halves'
 * outputs must match the CPU op's and, together, bn_forward_train and bn_backward over the whole batch.
 */
typedef struct halves
{
	const pgs_ops *ops;
	pgs_bn_desc d;				/* one half's shape */
	size_t		h;				/* floats in one half */
} halves;

/* The totals of both halves' sums (forward when dy is NULL), on the device for the finishing ops. */
static void *
sum_halves(const halves *p, const float *x, const float *dy, const float *mean, const float *invstd,
		   float *dgamma, float *dbeta)
{
	size_t		c = (size_t) p->d.x.c;
	double	   *host = malloc(2 * c * sizeof(double)),
			   *total = calloc(2 * c, sizeof(double));
	void	   *sums;

	CHECK_OK(p->ops->alloc(p->ops->ctx, 2 * c * sizeof(double), &sums, &err), &err);
	for (int r = 0; r < 2; r++)
	{
		if (dy == NULL)
			CHECK_OK(p->ops->bn_sums(p->ops->ctx, &p->d, x + r * p->h, sums, &err), &err);
		else
			CHECK_OK(p->ops->bn_backward_sums(p->ops->ctx, &p->d, x + r * p->h, dy + r * p->h, mean, invstd, sums,
											  dgamma, dbeta, &err), &err);
		CHECK_OK(p->ops->download(p->ops->ctx, host, sums, 2 * c * sizeof(double), &err), &err);
		for (size_t i = 0; i < 2 * c; i++)
			total[i] += host[i];
	}
	CHECK_OK(p->ops->upload(p->ops->ctx, sums, total, 2 * c * sizeof(double), &err), &err);
	free(host);
	free(total);
	return sums;
}

/* Forward and backward of both halves on one device; each half keeps its own running statistics. */
static void
run_halves(const halves *p, const float *x, const float *gamma, const float *beta, float *y, float *rm[2],
		   float *rv[2], float *mean, float *invstd, const float *dy, float *dx, float *dgamma, float *dbeta)
{
	double		count = 2.0 * p->d.x.n * p->d.x.h * p->d.x.w;
	void	   *sums = sum_halves(p, x, NULL, NULL, NULL, NULL, NULL);

	for (int r = 0; r < 2; r++)
		CHECK_OK(p->ops->bn_forward_sums(p->ops->ctx, &p->d, x + r * p->h, gamma, beta, sums, count, y + r * p->h,
										 rm[r], rv[r], mean, invstd, &err), &err);
	p->ops->free(p->ops->ctx, sums);
	sums = sum_halves(p, x, dy, mean, invstd, dgamma, dbeta);
	for (int r = 0; r < 2; r++)
		CHECK_OK(p->ops->bn_backward_data(p->ops->ctx, &p->d, x + r * p->h, dy + r * p->h, gamma, mean, invstd, sums,
										  count, dx + r * p->h, &err), &err);
	p->ops->free(p->ops->ctx, sums);
}

static void
test_batchnorm_sums(void)
{
	int			shapes[][4] = {{4, 32, 17, 17}, {2, 192, 8, 8}, {4, 5, 7, 3}};

	configure(false);
	for (int k = 0; k < 3; k++)
	{
		pgs_bn_desc whole = {{shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], PGS_LAYOUT_NCHW}, 0.001f, 0.1f};
		size_t		n = pgs_shape4_numel(&whole.x),
					c = whole.x.c;
		halves		on_cpu = {cpu, whole, n / 2},
					on_gpu = {gpu, whole, n / 2};
		twin		x = twin_make(n, -30, 50),
					gamma = twin_make(c, 0.5f, 1.5f),
					beta = twin_make(c, -1, 1),
					y = twin_value(n, NAN),
					rm = twin_value(c, 0.25f),
					rv = twin_value(c, 1.5f),
					rm1 = twin_value(c, 0.25f),
					rv1 = twin_value(c, 1.5f),
					mean = twin_value(c, 0),
					invstd = twin_value(c, 0),
					dy = twin_make(n, -1, 1),
					dx = twin_value(n, 0),
					dgamma = twin_value(c, 0),
					dbeta = twin_value(c, 0);
		float	   *rm_cpu[2] = {rm.cpu, rm1.cpu},
				   *rv_cpu[2] = {rv.cpu, rv1.cpu},
				   *rm_gpu[2] = {rm.gpu, rm1.gpu},
				   *rv_gpu[2] = {rv.gpu, rv1.gpu};
		float	   *y_whole = malloc(n * sizeof(float)),
				   *rm_whole = malloc(c * sizeof(float)),
				   *rv_whole = malloc(c * sizeof(float)),
				   *mean_whole = malloc(c * sizeof(float)),
				   *invstd_whole = malloc(c * sizeof(float)),
				   *dx_whole = calloc(n, sizeof(float)),
				   *dgamma_whole = calloc(c, sizeof(float)),
				   *dbeta_whole = calloc(c, sizeof(float));
		char		what[96];

		on_cpu.d.x.n = on_gpu.d.x.n = whole.x.n / 2;
		run_halves(&on_cpu, x.cpu, gamma.cpu, beta.cpu, y.cpu, rm_cpu, rv_cpu, mean.cpu, invstd.cpu, dy.cpu, dx.cpu,
				   dgamma.cpu, dbeta.cpu);
		run_halves(&on_gpu, x.gpu, gamma.gpu, beta.gpu, y.gpu, rm_gpu, rv_gpu, mean.gpu, invstd.gpu, dy.gpu, dx.gpu,
				   dgamma.gpu, dbeta.gpu);
		snprintf(what, sizeof(what), "batch norm over 2 replicas (%d,%zu,%d,%d) y", whole.x.n, c, whole.x.h, whole.x.w);
		CHECK(twin_error(what, &y) < 1e-5);
		CHECK(twin_error("  running mean", &rm) < 1e-5);
		CHECK(twin_error("  running variance (unbiased)", &rv) < 1e-5);
		CHECK(twin_error("  saved mean", &mean) < 1e-5);
		CHECK(twin_error("  saved 1/std", &invstd) < 1e-5);
		CHECK(twin_error("  backward dx", &dx) < 1e-4);
		CHECK(twin_error("  backward dgamma", &dgamma) < 1e-4);
		CHECK(twin_error("  backward dbeta", &dbeta) < 1e-5);
		CHECK(memcmp(rm.cpu, rm1.cpu, c * sizeof(float)) == 0 && memcmp(rv.cpu, rv1.cpu, c * sizeof(float)) == 0);

		/* The halves together are batch norm over the whole batch (the CPU's one-op reference). */
		for (size_t i = 0; i < c; i++)
		{
			rm_whole[i] = 0.25f;
			rv_whole[i] = 1.5f;
		}
		CHECK_OK(cpu->bn_forward_train(cpu->ctx, &whole, x.cpu, gamma.cpu, beta.cpu, y_whole, rm_whole, rv_whole,
									   mean_whole, invstd_whole, &err), &err);
		CHECK_OK(cpu->bn_backward(cpu->ctx, &whole, x.cpu, dy.cpu, gamma.cpu, mean_whole, invstd_whole, dx_whole,
								  dgamma_whole, dbeta_whole, &err), &err);
		CHECK(gpucheck_compare("  halves = whole batch: y", y.cpu, y_whole, n, 1e-3) < 1e-5);
		CHECK(gpucheck_compare("  halves = whole batch: running variance", rv.cpu, rv_whole, c, 1e-3) < 1e-5);
		CHECK(gpucheck_compare("  halves = whole batch: dx", dx.cpu, dx_whole, n, 1e-3) < 1e-4);
		/* Sums of dy over ±1 terms cancel: judge them against 1, not their own small size. */
		CHECK(gpucheck_compare("  halves = whole batch: dgamma", dgamma.cpu, dgamma_whole, c, 1.0) < 1e-5);
		CHECK(gpucheck_compare("  halves = whole batch: dbeta", dbeta.cpu, dbeta_whole, c, 1.0) < 1e-5);
		free(y_whole);
		free(rm_whole);
		free(rv_whole);
		free(mean_whole);
		free(invstd_whole);
		free(dx_whole);
		free(dgamma_whole);
		free(dbeta_whole);
		twin_free(&x);
		twin_free(&gamma);
		twin_free(&beta);
		twin_free(&y);
		twin_free(&rm);
		twin_free(&rv);
		twin_free(&rm1);
		twin_free(&rv1);
		twin_free(&mean);
		twin_free(&invstd);
		twin_free(&dy);
		twin_free(&dx);
		twin_free(&dgamma);
		twin_free(&dbeta);
	}
}

/* ---- pooling, ReLU, concatenation, dropout ---- */

static void
test_pooling(void)
{
	int			cases[][8] = {
		/* mode, k, s, p, n, c, h, w */
		{PGS_POOL_MAX, 3, 2, 0, 4, 64, 147, 147},
		{PGS_POOL_MAX, 3, 2, 1, 2, 8, 20, 17},
		{PGS_POOL_AVG_INCLUDE_PAD, 3, 1, 1, 4, 192, 35, 35},
		{PGS_POOL_AVG_EXCLUDE_PAD, 3, 1, 1, 2, 16, 16, 13},
		{PGS_POOL_AVG_INCLUDE_PAD, 5, 3, 0, 4, 768, 17, 17},
		{PGS_POOL_AVG_INCLUDE_PAD, 8, 1, 0, 4, 2048, 8, 8},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int		   *c = cases[i];
		pgs_pool_desc d = {{c[4], c[5], c[6], c[7], PGS_LAYOUT_NCHW}, (pgs_pool_mode) c[0], c[1], c[1], c[2], c[2],
		c[3], c[3]};
		pgs_shape4	o = pgs_pool_output_shape(&d);
		twin		x = twin_make(pgs_shape4_numel(&d.x), -1, 1),
					y = twin_value(pgs_shape4_numel(&o), NAN),
					dy = twin_make(pgs_shape4_numel(&o), -1, 1),
					dx = twin_make(x.n, -1, 1);
		char		what[96];

		CHECK_OK(ref->pool_forward(ref->ctx, &d, x.cpu, y.cpu, &err), &err);
		CHECK_OK(gpu->pool_forward(gpu->ctx, &d, x.gpu, y.gpu, &err), &err);
		snprintf(what, sizeof(what), "pool mode %d k%d s%d p%d (%d,%d,%d,%d) fwd", c[0], c[1], c[2], c[3], c[4], c[5],
				 c[6], c[7]);
		CHECK(twin_error(what, &y) < 1e-6);
		/* Backward reads y as the forward left it on each device. */
		CHECK_OK(ref->pool_backward(ref->ctx, &d, x.cpu, y.cpu, dy.cpu, dx.cpu, &err), &err);
		CHECK_OK(gpu->pool_backward(gpu->ctx, &d, x.gpu, y.gpu, dy.gpu, dx.gpu, &err), &err);
		CHECK(twin_error("  backward dx", &dx) < 1e-6);
		twin_free(&x);
		twin_free(&y);
		twin_free(&dy);
		twin_free(&dx);
	}
}

static void
test_relu_dropout(void)
{
	size_t		n = 3 * 1000 * 1000 + 17;
	twin		x = twin_make(n, -1, 1),
				y = twin_value(n, NAN),
				dy = twin_make(n, -1, 1),
				dx = twin_make(n, -1, 1);

	CHECK_OK(ref->relu_forward(ref->ctx, n, x.cpu, y.cpu, &err), &err);
	CHECK_OK(gpu->relu_forward(gpu->ctx, n, x.gpu, y.gpu, &err), &err);
	CHECK(twin_error("relu fwd", &y) == 0);
	CHECK_OK(ref->relu_backward(ref->ctx, n, y.cpu, dy.cpu, dx.cpu, &err), &err);
	CHECK_OK(gpu->relu_backward(gpu->ctx, n, y.gpu, dy.gpu, dx.gpu, &err), &err);
	CHECK(twin_error("relu backward (accumulating)", &dx) < 1e-7);
	/* The same masks on both devices, element for element. */
	CHECK_OK(ref->dropout_forward(ref->ctx, n, 0.5f, 0xC0FFEE, x.cpu, y.cpu, &err), &err);
	CHECK_OK(gpu->dropout_forward(gpu->ctx, n, 0.5f, 0xC0FFEE, x.gpu, y.gpu, &err), &err);
	CHECK(twin_error("dropout p=0.5 fwd", &y) == 0);
	CHECK_OK(ref->dropout_backward(ref->ctx, n, 0.5f, 0xC0FFEE, dy.cpu, dx.cpu, &err), &err);
	CHECK_OK(gpu->dropout_backward(gpu->ctx, n, 0.5f, 0xC0FFEE, dy.gpu, dx.gpu, &err), &err);
	CHECK(twin_error("dropout backward", &dx) < 1e-7);
	twin_free(&x);
	twin_free(&y);
	twin_free(&dy);
	twin_free(&dx);
}

static void
test_concat(void)
{
	pgs_shape4	parts[6] = {{4, 320, 8, 8, 0}, {4, 384, 8, 8, 0}, {4, 384, 8, 8, 0}, {4, 384, 8, 8, 0},
	{4, 384, 8, 8, 0}, {4, 192, 8, 8, 0}};	/* Mixed_7b */
	twin		x[6],
				dx[6],
				y = twin_value(4 * 2048 * 64, NAN),
				dy = twin_make(4 * 2048 * 64, -1, 1);
	const float *xc[6],
			   *xg[6];
	float	   *dxc[6],
			   *dxg[6];

	for (int i = 0; i < 6; i++)
	{
		x[i] = twin_make(pgs_shape4_numel(&parts[i]), -1, 1);
		dx[i] = twin_make(x[i].n, -1, 1);
		xc[i] = x[i].cpu;
		xg[i] = x[i].gpu;
		dxc[i] = dx[i].cpu;
		dxg[i] = dx[i].gpu;
	}
	CHECK_OK(ref->concat_forward(ref->ctx, 6, parts, xc, y.cpu, &err), &err);
	CHECK_OK(gpu->concat_forward(gpu->ctx, 6, parts, xg, y.gpu, &err), &err);
	CHECK(twin_error("concat of 6 (Mixed_7b) fwd", &y) == 0);
	CHECK_OK(ref->concat_backward(ref->ctx, 6, parts, dy.cpu, dxc, &err), &err);
	CHECK_OK(gpu->concat_backward(gpu->ctx, 6, parts, dy.gpu, dxg, &err), &err);
	for (int i = 0; i < 6; i++)
	{
		CHECK(twin_error("  backward part", &dx[i]) < 1e-7);
		twin_free(&x[i]);
		twin_free(&dx[i]);
	}
	twin_free(&y);
	twin_free(&dy);
}

/* ---- FC, losses, optimiser, helpers ---- */

static void
test_fc(void)
{
	int			shapes[][3] = {{8, 2048, 1}, {32, 2048, 5}, {3, 768, 1000}};

	for (int tf32 = 0; tf32 <= 1; tf32++)
	{
		configure(tf32);
		for (int k = 0; k < 3; k++)
		{
			int			n = shapes[k][0],
						in = shapes[k][1],
						out = shapes[k][2];
			twin		x = twin_make((size_t) n * in, -1, 1),
						w = twin_make((size_t) out * in, -0.1f, 0.1f),
						b = twin_make(out, -1, 1),
						y = twin_value((size_t) n * out, NAN),
						dy = twin_make((size_t) n * out, -1, 1),
						dx = twin_make(x.n, -1, 1),
						dw = twin_make(w.n, -1, 1),
						db = twin_make(out, -1, 1);
			double		tol = tf32 ? 5e-3 : 1e-5;
			char		what[96];

			CHECK_OK(ref->fc_forward(ref->ctx, n, in, out, x.cpu, w.cpu, b.cpu, y.cpu, &err), &err);
			CHECK_OK(gpu->fc_forward(gpu->ctx, n, in, out, x.gpu, w.gpu, b.gpu, y.gpu, &err), &err);
			snprintf(what, sizeof(what), "fc %d×%d→%d %s fwd", n, in, out, tf32 ? "TF32" : "FP32");
			CHECK(twin_error(what, &y) < tol);
			CHECK_OK(ref->fc_backward(ref->ctx, n, in, out, x.cpu, w.cpu, dy.cpu, dx.cpu, dw.cpu, db.cpu, &err), &err);
			CHECK_OK(gpu->fc_backward(gpu->ctx, n, in, out, x.gpu, w.gpu, dy.gpu, dx.gpu, dw.gpu, db.gpu, &err), &err);
			CHECK(twin_error("  backward dx", &dx) < tol);
			CHECK(twin_error("  backward dw", &dw) < tol);
			CHECK(twin_error("  backward db", &db) < 1e-5);
			twin_free(&x);
			twin_free(&w);
			twin_free(&b);
			twin_free(&y);
			twin_free(&dy);
			twin_free(&dx);
			twin_free(&dw);
			twin_free(&db);
		}
	}
	configure(false);
}

static void
test_losses(void)
{
	int			n = 64,
				k = 5;
	twin		z = twin_make((size_t) n * k, -8, 8),
				t = twin_make((size_t) n * k, 0, 1),
				losses = twin_value((size_t) n * k, NAN),
				dz = twin_make((size_t) n * k, -1, 1);
	int32_t		labels[64];
	void	   *labels_gpu;

	for (int i = 0; i < n; i++)
		labels[i] = (i * 7) % k;
	CHECK_OK(ref->sigmoid_bce(ref->ctx, z.n, z.cpu, t.cpu, losses.cpu, dz.cpu, 0.25f, &err), &err);
	CHECK_OK(gpu->sigmoid_bce(gpu->ctx, z.n, z.gpu, t.gpu, losses.gpu, dz.gpu, 0.25f, &err), &err);
	CHECK(twin_error("sigmoid BCE losses", &losses) < 1e-6);
	CHECK(twin_error("  gradient", &dz) < 1e-6);
	CHECK_OK(gpu->alloc(gpu->ctx, sizeof(labels), &labels_gpu, &err), &err);
	CHECK_OK(gpu->upload(gpu->ctx, labels_gpu, labels, sizeof(labels), &err), &err);
	losses.n = (size_t) n;
	CHECK_OK(ref->softmax_ce(ref->ctx, n, k, z.cpu, labels, losses.cpu, dz.cpu, 1.0f / n, &err), &err);
	CHECK_OK(gpu->softmax_ce(gpu->ctx, n, k, z.gpu, labels_gpu, losses.gpu, dz.gpu, 1.0f / n, &err), &err);
	CHECK(twin_error("softmax CE losses", &losses) < 1e-6);
	CHECK(twin_error("  gradient", &dz) < 1e-6);
	gpu->free(gpu->ctx, labels_gpu);
	losses.n = (size_t) n * k;
	twin_free(&z);
	twin_free(&t);
	twin_free(&losses);
	twin_free(&dz);
}

static void
test_optimizers(void)
{
	pgs_optimizer_update updates[] = {
		{.kind = PGS_OPTIMIZER_SGD, .lr = 0.1f, .grad_scale = 0.5f, .weight_decay = 1e-4f, .momentum = 0.9f, .nesterov = true},
		{.kind = PGS_OPTIMIZER_SGD, .lr = 0.1f, .grad_scale = 1, .momentum = 0},
		{.kind = PGS_OPTIMIZER_RMSPROP, .lr = 1e-3f, .grad_scale = 1, .momentum = 0.9f, .rho = 0.9f, .eps = 1.0f,
		.rmsprop_style = PGS_RMSPROP_TF},
		{.kind = PGS_OPTIMIZER_RMSPROP, .lr = 1e-3f, .grad_scale = 1, .weight_decay = 4e-5f, .momentum = 0.9f,
		.rho = 0.99f, .eps = 1e-8f, .rmsprop_style = PGS_RMSPROP_TORCH},
		{.kind = PGS_OPTIMIZER_ADAM, .lr = 1e-3f, .grad_scale = 1, .weight_decay = 1e-2f,
		.decoupled_weight_decay = true, .eps = 1e-8f, .beta1 = 0.9f, .beta2 = 0.999f, .step = 7},
	};
	size_t		n = 1000003;

	for (size_t u = 0; u < sizeof(updates) / sizeof(updates[0]); u++)
	{
		twin		p = twin_make(n, -1, 1),
					g = twin_make(n, -1, 1),
					s1 = twin_make(n, -0.1f, 0.1f),
					s2 = twin_make(n, 0.5f, 1.5f);
		char		what[64];

		for (int step = 0; step < 3; step++)
		{
			CHECK_OK(ref->optimizer_update(ref->ctx, &updates[u], n, p.cpu, g.cpu, s1.cpu, s2.cpu, &err), &err);
			CHECK_OK(gpu->optimizer_update(gpu->ctx, &updates[u], n, p.gpu, g.gpu, s1.gpu, s2.gpu, &err), &err);
		}
		snprintf(what, sizeof(what), "optimizer kind %d (case %zu), 3 steps: params", (int) updates[u].kind, u);
		/* The same element functions on both devices: only fused multiply-adds may round differently. */
		CHECK(twin_error(what, &p) < 1e-6);
		CHECK(twin_error("  state 1", &s1) < 1e-6);
		CHECK(twin_error("  state 2", &s2) < 1e-6);
		twin_free(&p);
		twin_free(&g);
		twin_free(&s1);
		twin_free(&s2);
	}
}

static void
test_memory_helpers(void)
{
	size_t		n = 5000011;
	twin		x = twin_make(n, -2, 2),
				y = twin_value(n, 0);
	double		a,
				b;

	CHECK_OK(ref->sum_squares(ref->ctx, n, x.cpu, &a, &err), &err);
	CHECK_OK(gpu->sum_squares(gpu->ctx, n, x.gpu, &b, &err), &err);
	printf("# sum of squares: gpu %.12g, reference %.12g\n", b, a);
	CHECK(fabs(a - b) / a < 1e-12);
	CHECK_OK(gpu->sum_squares(gpu->ctx, n, x.gpu, &a, &err), &err);
	CHECK(a == b);				/* reproducible */
	CHECK_OK(gpu->copy(gpu->ctx, y.gpu, x.gpu, n * sizeof(float), &err), &err);
	memcpy(y.cpu, x.cpu, n * sizeof(float));
	CHECK(twin_error("copy", &y) == 0);
	CHECK_OK(gpu->fill(gpu->ctx, n, 0.75f, y.gpu, &err), &err);
	CHECK_OK(ref->fill(ref->ctx, n, 0.75f, y.cpu, &err), &err);
	CHECK(twin_error("fill", &y) == 0);
	CHECK_OK(gpu->zero(gpu->ctx, y.gpu, n * sizeof(float), &err), &err);
	CHECK_OK(ref->zero(ref->ctx, y.cpu, n * sizeof(float), &err), &err);
	CHECK(twin_error("zero", &y) == 0);
	twin_free(&x);
	twin_free(&y);
}

int
main(void)
{
	gpu = gpucheck_open_gpu();
	ref = pgs_reference_ops();
	RUN(test_conv_fp32);
	RUN(test_conv_tf32);
	RUN(test_batchnorm);
	RUN(test_batchnorm_sums);
	RUN(test_pooling);
	RUN(test_relu_dropout);
	RUN(test_concat);
	RUN(test_fc);
	RUN(test_losses);
	RUN(test_optimizers);
	RUN(test_memory_helpers);
	CHECK_OK(gpu->synchronize(gpu->ctx, &err), &err);
	return unit_done();
}
