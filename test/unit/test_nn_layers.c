/* CPU layer ops of the network engine: forward against the naive reference and formulas, backward by finite differences. */
#include "../../kernels/device/ops.h"
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/cpu/gemm.h"
#include "../../kernels/cpu/reference.h"
#include "../../kernels/device/layer_shapes.h"
#include "../../kernels/device/nn_math.h"
#include "nn_testing.h"

static const pgs_ops *ops;
static pgs_error err;

/* ---- convolution ---- */

typedef struct conv_case
{
	pgs_conv_desc d;
	float	   *x,
			   *w,
			   *y,
			   *r;				/* the loss is Σ y·r */
	void	   *ws;
	size_t		ws_bytes;
} conv_case;

static conv_case
conv_case_make(int n, int c, int h, int wd, int k, int kh, int kw, int sh, int sw, int ph, int pw, int seed)
{
	conv_case cc;
	pgs_shape4	o;

	memset(&cc, 0, sizeof(cc));
	cc.d = (pgs_conv_desc) {{n, c, h, wd, PGS_LAYOUT_NCHW}, k, kh, kw, sh, sw, ph, pw};
	o = pgs_conv_output_shape(&cc.d);
	cc.x = nn_random(pgs_shape4_numel(&cc.d.x), -1, 1, seed);
	cc.w = nn_random((size_t) k * c * kh * kw, -0.5f, 0.5f, seed + 1);
	cc.y = nn_zeros(pgs_shape4_numel(&o));
	cc.r = nn_random(pgs_shape4_numel(&o), -1, 1, seed + 2);
	CHECK_OK(ops->conv_workspace(ops->ctx, &cc.d, &cc.ws_bytes, &err), &err);
	cc.ws = malloc(cc.ws_bytes ? cc.ws_bytes : 1);
	return cc;
}

static void
conv_case_free(conv_case *cc)
{
	free(cc->x);
	free(cc->w);
	free(cc->y);
	free(cc->r);
	free(cc->ws);
}

static double
conv_loss(void *arg)
{
	conv_case  *cc = arg;
	pgs_shape4	o = pgs_conv_output_shape(&cc->d);

	CHECK_OK(ops->conv_forward(ops->ctx, &cc->d, cc->x, cc->w, cc->y, cc->ws, cc->ws_bytes, &err), &err);
	return nn_dot(cc->y, cc->r, pgs_shape4_numel(&o));
}

static const int conv_shapes[][11] = {
	/* n, c, h, w, k, kh, kw, sh, sw, ph, pw */
	{2, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1},
	{1, 3, 11, 10, 5, 3, 3, 2, 2, 0, 0},	/* Conv2d_1a: stride 2, no padding */
	{2, 4, 7, 9, 3, 1, 7, 1, 1, 0, 3},	/* Inception's 1×7 */
	{2, 4, 9, 7, 3, 7, 1, 1, 1, 3, 0},	/* and 7×1 */
	{3, 6, 5, 5, 7, 1, 1, 1, 1, 0, 0},	/* 1×1: a plain GEMM */
	{1, 2, 17, 17, 3, 5, 5, 3, 3, 0, 0},	/* the auxiliary head's 5×5 pooling-like stride */
	{2, 3, 6, 6, 2, 5, 5, 1, 1, 2, 2},	/* 5×5 with padding 2 */
	{1, 2, 8, 8, 3, 1, 3, 1, 2, 0, 1},	/* uneven strides and padding */
	{1, 2, 6, 6, 2, 1, 1, 2, 2, 0, 0},	/* 1×1 with stride: not direct */
};

static void
test_conv_forward_matches_definition(void)
{
	pgs_gemm_backend backends[] = {PGS_GEMM_PLAIN, PGS_GEMM_OPENBLAS};

	for (int b = 0; b < 2; b++)
		for (int threads = 1; threads <= 3; threads += 2)
			for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++)
			{
				const int  *s = conv_shapes[i];
				conv_case	cc;
				float	   *ref;
				pgs_shape4	o;
				double		worst = 0;

				pgs_gemm_use(backends[b]);
				pgs_cpu_set_thread_count(threads);
				cc = conv_case_make(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], 10 + i);
				o = pgs_conv_output_shape(&cc.d);
				ref = nn_zeros(pgs_shape4_numel(&o));
				pgs_ref_conv_forward(ref, cc.x, cc.w, &cc.d);
				CHECK_OK(ops->conv_forward(ops->ctx, &cc.d, cc.x, cc.w, cc.y, cc.ws, cc.ws_bytes, &err), &err);
				for (size_t e = 0; e < pgs_shape4_numel(&o); e++)
					worst = fmax(worst, fabs(cc.y[e] - ref[e]));
				CHECKF(worst < 1e-5, "shape %zu, %s, %d threads: worst %g", i,
					   pgs_gemm_backend_name(backends[b]), threads, worst);
				free(ref);
				conv_case_free(&cc);
			}
	pgs_gemm_use(PGS_GEMM_AUTO);
	pgs_cpu_set_thread_count(0);
	printf("# GEMM in use: %s, %d threads\n", pgs_gemm_backend_name(pgs_gemm_use(PGS_GEMM_AUTO)),
		   pgs_cpu_thread_count());
}

static void
test_conv_gradients(void)
{
	for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++)
	{
		const int  *s = conv_shapes[i];
		conv_case	cc = conv_case_make(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], 40 + i);
		size_t		nx = pgs_shape4_numel(&cc.d.x),
					nw = (size_t) s[4] * s[1] * s[5] * s[6];
		float	   *dx = nn_random(nx, -1, 1, 99),
				   *dw = nn_random(nw, -1, 1, 98);
		float	   *dx0 = malloc(nx * sizeof(float)),
				   *dw0 = malloc(nw * sizeof(float));
		char		what[96];

		/* Backward accumulates: start from random gradients and subtract them afterwards. */
		memcpy(dx0, dx, nx * sizeof(float));
		memcpy(dw0, dw, nw * sizeof(float));
		CHECK_OK(ops->conv_backward(ops->ctx, &cc.d, cc.x, cc.w, cc.r, dx, dw, cc.ws, cc.ws_bytes, &err), &err);
		for (size_t e = 0; e < nx; e++)
			dx[e] -= dx0[e];
		for (size_t e = 0; e < nw; e++)
			dw[e] -= dw0[e];
		snprintf(what, sizeof(what), "conv %d×%d s%d×%d p%d×%d dx", s[5], s[6], s[7], s[8], s[9], s[10]);
		CHECK(nn_gradient_check(what, cc.x, dx, nx, 60, 1e-2f, conv_loss, &cc) < 1e-3);
		snprintf(what, sizeof(what), "conv %d×%d s%d×%d p%d×%d dw", s[5], s[6], s[7], s[8], s[9], s[10]);
		CHECK(nn_gradient_check(what, cc.w, dw, nw, 60, 1e-2f, conv_loss, &cc) < 1e-3);
		/* dx = NULL skips the input gradient and leaves dw the same. */
		memcpy(dw0, dw, nw * sizeof(float));
		memset(dw, 0, nw * sizeof(float));
		CHECK_OK(ops->conv_backward(ops->ctx, &cc.d, cc.x, cc.w, cc.r, NULL, dw, cc.ws, cc.ws_bytes, &err), &err);
		for (size_t e = 0; e < nw; e++)
			CHECK(fabsf(dw[e] - dw0[e]) <= 1e-5f * (1.0f + fabsf(dw0[e])));
		free(dx);
		free(dw);
		free(dx0);
		free(dw0);
		conv_case_free(&cc);
	}
}

static void
test_conv_rejects_bad_descriptors(void)
{
	pgs_conv_desc d = {{1, 3, 4, 4, PGS_LAYOUT_NCHW}, 2, 5, 5, 1, 1, 0, 0};
	size_t		bytes;
	float		x[48],
				w[150],
				y[64];

	CHECK_FAILS(ops->conv_workspace(ops->ctx, &d, &bytes, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "does not fit") != NULL);
	d.kernel_h = d.kernel_w = 3;
	d.stride_h = 0;
	CHECK_FAILS(ops->conv_forward(ops->ctx, &d, x, w, y, NULL, 0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	d.stride_h = 1;
	d.x.layout = (pgs_layout) 1;
	CHECK_FAILS(ops->conv_forward(ops->ctx, &d, x, w, y, NULL, 0, &err), PGS_ERR_UNSUPPORTED, &err);
	CHECK(strstr(err.message, "NCHW") != NULL);
	d.x.layout = PGS_LAYOUT_NCHW;
	CHECK_FAILS(ops->conv_forward(ops->ctx, &d, x, w, y, NULL, 0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "workspace") != NULL);
}

/* ---- batch normalization ---- */

typedef struct bn_case
{
	pgs_bn_desc d;
	float	   *x,
			   *y,
			   *r,
			   *gamma,
			   *beta,
			   *rm,
			   *rv,
			   *mean,
			   *invstd;
} bn_case;

static double
bn_loss(void *arg)
{
	bn_case    *b = arg;
	size_t		c = b->d.x.c;
	float	   *rm = malloc(c * sizeof(float)),
			   *rv = malloc(c * sizeof(float));

	memcpy(rm, b->rm, c * sizeof(float));
	memcpy(rv, b->rv, c * sizeof(float));
	CHECK_OK(ops->bn_forward_train(ops->ctx, &b->d, b->x, b->gamma, b->beta, b->y, rm, rv, b->mean, b->invstd,
								   &err), &err);
	free(rm);
	free(rv);
	return nn_dot(b->y, b->r, pgs_shape4_numel(&b->d.x));
}

static void
test_batchnorm(void)
{
	bn_case		b;
	int			n = 3,
				c = 4,
				h = 5,
				w = 3;
	size_t		total = (size_t) n * c * h * w;
	float	   *dx,
			   *dgamma,
			   *dbeta,
			   *y_infer;
	float		rm0[4],
				rv0[4];

	b.d = (pgs_bn_desc) {{n, c, h, w, PGS_LAYOUT_NCHW}, 0.001f, 0.1f};
	b.x = nn_random(total, -2, 3, 1);
	b.y = nn_zeros(total);
	b.r = nn_random(total, -1, 1, 2);
	b.gamma = nn_random(c, 0.5f, 1.5f, 3);
	b.beta = nn_random(c, -0.5f, 0.5f, 4);
	b.rm = nn_random(c, -0.1f, 0.1f, 5);
	b.rv = nn_random(c, 0.9f, 1.1f, 6);
	b.mean = nn_zeros(c);
	b.invstd = nn_zeros(c);
	memcpy(rm0, b.rm, sizeof(rm0));
	memcpy(rv0, b.rv, sizeof(rv0));

	/* Statistics, running averages and normalised output against the formulas. */
	CHECK_OK(ops->bn_forward_train(ops->ctx, &b.d, b.x, b.gamma, b.beta, b.y, b.rm, b.rv, b.mean, b.invstd,
								   &err), &err);
	for (int ch = 0; ch < c; ch++)
	{
		double		s = 0,
					ss = 0,
					m = n * h * w;

		for (int i = 0; i < n; i++)
			for (int e = 0; e < h * w; e++)
				s += b.x[(i * c + ch) * h * w + e];
		for (int i = 0; i < n; i++)
			for (int e = 0; e < h * w; e++)
				ss += pow(b.x[(i * c + ch) * h * w + e] - s / m, 2);
		CHECK(fabs(b.mean[ch] - s / m) < 1e-6);
		CHECK(fabs(b.invstd[ch] - 1 / sqrt(ss / m + 0.001)) < 1e-5);
		CHECK(fabs(b.rm[ch] - (0.9 * rm0[ch] + 0.1 * s / m)) < 1e-6);
		CHECK(fabs(b.rv[ch] - (0.9 * rv0[ch] + 0.1 * ss / (m - 1))) < 1e-6);
		for (int i = 0; i < n; i++)
			for (int e = 0; e < h * w; e++)
			{
				size_t		at = (i * c + ch) * h * w + e;
				double		want = (b.x[at] - s / m) / sqrt(ss / m + 0.001) * b.gamma[ch] + b.beta[ch];

				CHECK(fabs(b.y[at] - want) < 1e-5);
			}
	}

	/* Inference with the running statistics. */
	y_infer = nn_zeros(total);
	CHECK_OK(ops->bn_forward_infer(ops->ctx, &b.d, b.x, b.gamma, b.beta, b.rm, b.rv, y_infer, &err), &err);
	for (size_t at = 0; at < total; at++)
	{
		int			ch = (at / (h * w)) % c;
		double		want = (b.x[at] - b.rm[ch]) / sqrt(b.rv[ch] + 0.001) * b.gamma[ch] + b.beta[ch];

		CHECK(fabs(y_infer[at] - want) < 1e-5);
	}

	dx = nn_zeros(total);
	dgamma = nn_zeros(c);
	dbeta = nn_zeros(c);
	CHECK_OK(ops->bn_backward(ops->ctx, &b.d, b.x, b.r, b.gamma, b.mean, b.invstd, dx, dgamma, dbeta, &err), &err);
	CHECK(nn_gradient_check("batch norm dx", b.x, dx, total, 80, 1e-2f, bn_loss, &b) < 2e-3);
	CHECK(nn_gradient_check("batch norm dgamma", b.gamma, dgamma, c, c, 1e-2f, bn_loss, &b) < 2e-3);
	CHECK(nn_gradient_check("batch norm dbeta", b.beta, dbeta, c, c, 1e-2f, bn_loss, &b) < 2e-3);

	b.d.eps = 0;
	CHECK_FAILS(ops->bn_forward_infer(ops->ctx, &b.d, b.x, b.gamma, b.beta, b.rm, b.rv, y_infer, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
	free(y_infer);
	free(dx);
	free(dgamma);
	free(dbeta);
	free(b.x);
	free(b.y);
	free(b.r);
	free(b.gamma);
	free(b.beta);
	free(b.rm);
	free(b.rv);
	free(b.mean);
	free(b.invstd);
}

/* ---- pooling ---- */

typedef struct pool_case
{
	pgs_pool_desc d;
	float	   *x,
			   *y,
			   *r;
} pool_case;

static double
pool_loss(void *arg)
{
	pool_case  *p = arg;
	pgs_shape4	o = pgs_pool_output_shape(&p->d);

	CHECK_OK(ops->pool_forward(ops->ctx, &p->d, p->x, p->y, &err), &err);
	return nn_dot(p->y, p->r, pgs_shape4_numel(&o));
}

static void
test_pooling_gradients(void)
{
	static const int cases[][8] = {
		/* mode, kernel, stride, pad, h, w */
		{PGS_POOL_MAX, 3, 2, 0, 9, 8},	/* Inception's max pool */
		{PGS_POOL_MAX, 3, 2, 1, 8, 7},
		{PGS_POOL_AVG_INCLUDE_PAD, 3, 1, 1, 6, 5},	/* Inception's branch_pool */
		{PGS_POOL_AVG_EXCLUDE_PAD, 3, 1, 1, 6, 5},
		{PGS_POOL_AVG_INCLUDE_PAD, 5, 3, 0, 17, 17},	/* the auxiliary head */
		{PGS_POOL_AVG_INCLUDE_PAD, 8, 1, 0, 8, 8},	/* global average pooling */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const int  *c = cases[i];
		pool_case	p;
		pgs_shape4	o;
		size_t		nx;
		float	   *dx;
		char		what[96];

		p.d = (pgs_pool_desc) {{2, 3, c[4], c[5], PGS_LAYOUT_NCHW}, (pgs_pool_mode) c[0], c[1], c[1], c[2], c[2],
		c[3], c[3]};
		o = pgs_pool_output_shape(&p.d);
		nx = pgs_shape4_numel(&p.d.x);
		/* For max pooling, distinct values 0.05 apart, so no maximum changes hands within the ±0.01 step. */
		p.x = nn_random(nx, -1, 1, 50 + i);
		if (p.d.mode == PGS_POOL_MAX)
			for (size_t e = 0; e < nx; e++)
				p.x[e] = (float) ((e * 7919) % nx) * 0.05f - 5.0f;
		p.y = nn_zeros(pgs_shape4_numel(&o));
		p.r = nn_random(pgs_shape4_numel(&o), -1, 1, 60 + i);
		dx = nn_zeros(nx);
		CHECK_OK(ops->pool_forward(ops->ctx, &p.d, p.x, p.y, &err), &err);
		CHECK_OK(ops->pool_backward(ops->ctx, &p.d, p.x, p.y, p.r, dx, &err), &err);
		snprintf(what, sizeof(what), "pool mode %d k%d s%d p%d dx", c[0], c[1], c[2], c[3]);
		CHECK(nn_gradient_check(what, p.x, dx, nx, 200, 1e-2f, pool_loss, &p) < 1e-3);
		free(p.x);
		free(p.y);
		free(p.r);
		free(dx);
	}
}

static void
test_pooling_divisors(void)
{
	/* A 2×2 image of ones, 3×3 window, stride 1, padding 1: PyTorch gives 4/9 with padding counted, 1 without. */
	float		x[4] = {1, 1, 1, 1},
				y[4];
	pgs_pool_desc d = {{1, 1, 2, 2, PGS_LAYOUT_NCHW}, PGS_POOL_AVG_INCLUDE_PAD, 3, 3, 1, 1, 1, 1};

	CHECK_OK(ops->pool_forward(ops->ctx, &d, x, y, &err), &err);
	CHECK(fabsf(y[0] - 4.0f / 9.0f) < 1e-7 && fabsf(y[3] - 4.0f / 9.0f) < 1e-7);
	d.mode = PGS_POOL_AVG_EXCLUDE_PAD;
	CHECK_OK(ops->pool_forward(ops->ctx, &d, x, y, &err), &err);
	CHECK(y[0] == 1.0f && y[3] == 1.0f);
	/* Max pooling never picks the padding, even when every input is negative. */
	for (int i = 0; i < 4; i++)
		x[i] = -5.0f - i;
	d.mode = PGS_POOL_MAX;
	CHECK_OK(ops->pool_forward(ops->ctx, &d, x, y, &err), &err);
	CHECK(y[0] == -5.0f && y[3] == -5.0f);
	d.pad_h = 2;
	CHECK_FAILS(ops->pool_forward(ops->ctx, &d, x, y, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

/* ---- element-wise layers, concatenation, FC, losses ---- */

static void
test_relu_and_dropout(void)
{
	size_t		n = 100003;
	float	   *x = nn_random(n, -1, 1, 7),
			   *y = nn_zeros(n),
			   *y2 = nn_zeros(n),
			   *dx = nn_zeros(n),
			   *dy = nn_random(n, -1, 1, 8);
	size_t		kept = 0;

	CHECK_OK(ops->relu_forward(ops->ctx, n, x, y, &err), &err);
	CHECK_OK(ops->relu_backward(ops->ctx, n, y, dy, dx, &err), &err);
	for (size_t i = 0; i < n; i++)
	{
		CHECK(y[i] == (x[i] > 0 ? x[i] : 0));
		CHECK(dx[i] == (x[i] > 0 ? dy[i] : 0));
	}

	memset(dx, 0, n * sizeof(float));
	CHECK_OK(ops->dropout_forward(ops->ctx, n, 0.3f, 1234, x, y, &err), &err);
	CHECK_OK(ops->dropout_forward(ops->ctx, n, 0.3f, 1234, x, y2, &err), &err);
	CHECK(memcmp(y, y2, n * sizeof(float)) == 0);
	CHECK_OK(ops->dropout_backward(ops->ctx, n, 0.3f, 1234, dy, dx, &err), &err);
	for (size_t i = 0; i < n; i++)
	{
		int			keep = pgs_dropout_keep(1234, i, 0.3f);

		kept += keep;
		CHECK(y[i] == (keep ? x[i] * (1.0f / 0.7f) : 0.0f));
		CHECK(dx[i] == (keep ? dy[i] * (1.0f / 0.7f) : 0.0f));
	}
	CHECKF(fabs((double) kept / n - 0.7) < 0.01, "kept %zu of %zu", kept, n);
	CHECK_OK(ops->dropout_forward(ops->ctx, n, 0.3f, 1235, x, y2, &err), &err);
	CHECK(memcmp(y, y2, n * sizeof(float)) != 0);
	CHECK_FAILS(ops->dropout_forward(ops->ctx, n, 1.0f, 1, x, y, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(x);
	free(y);
	free(y2);
	free(dx);
	free(dy);
}

static void
test_concat(void)
{
	pgs_shape4	parts[3] = {{2, 1, 2, 3, PGS_LAYOUT_NCHW}, {2, 3, 2, 3, PGS_LAYOUT_NCHW}, {2, 2, 2, 3, PGS_LAYOUT_NCHW}};
	float	   *x[3],
			   *dx[3];
	float		y[2 * 6 * 6],
				dy[2 * 6 * 6];

	for (int i = 0; i < 3; i++)
	{
		x[i] = nn_random(pgs_shape4_numel(&parts[i]), -1, 1, 20 + i);
		dx[i] = nn_random(pgs_shape4_numel(&parts[i]), -1, 1, 30 + i);
	}
	for (int i = 0; i < 72; i++)
		dy[i] = (float) i;
	CHECK_OK(ops->concat_forward(ops->ctx, 3, parts, (const float *const *) x, y, &err), &err);
	/* Image 1, channel 3 is channel 2 of part 1; element (1, 2). */
	CHECK(y[((1 * 6 + 3) * 2 + 1) * 3 + 2] == x[1][((1 * 3 + 2) * 2 + 1) * 3 + 2]);
	CHECK(y[((0 * 6 + 0) * 2 + 0) * 3 + 0] == x[0][0]);
	CHECK(y[((1 * 6 + 5) * 2 + 1) * 3 + 2] == x[2][((1 * 2 + 1) * 2 + 1) * 3 + 2]);
	{
		float		before = dx[1][((1 * 3 + 2) * 2 + 1) * 3 + 2];

		CHECK_OK(ops->concat_backward(ops->ctx, 3, parts, dy, (float *const *) dx, &err), &err);
		CHECK(dx[1][((1 * 3 + 2) * 2 + 1) * 3 + 2] == before + dy[((1 * 6 + 3) * 2 + 1) * 3 + 2]);
	}
	parts[2].h = 3;
	CHECK_FAILS(ops->concat_forward(ops->ctx, 3, parts, (const float *const *) x, y, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
	for (int i = 0; i < 3; i++)
	{
		free(x[i]);
		free(dx[i]);
	}
}

typedef struct fc_case
{
	int			n,
				in,
				out;
	float	   *x,
			   *w,
			   *b,
			   *y,
			   *r;
} fc_case;

static double
fc_loss(void *arg)
{
	fc_case    *f = arg;

	CHECK_OK(ops->fc_forward(ops->ctx, f->n, f->in, f->out, f->x, f->w, f->b, f->y, &err), &err);
	return nn_dot(f->y, f->r, (size_t) f->n * f->out);
}

static void
test_fc_gradients(void)
{
	fc_case		f = {.n = 3, .in = 7, .out = 5};
	float	   *dx,
			   *dw,
			   *db;

	f.x = nn_random(f.n * f.in, -1, 1, 1);
	f.w = nn_random(f.out * f.in, -1, 1, 2);
	f.b = nn_random(f.out, -1, 1, 3);
	f.y = nn_zeros(f.n * f.out);
	f.r = nn_random(f.n * f.out, -1, 1, 4);
	dx = nn_zeros(f.n * f.in);
	dw = nn_zeros(f.out * f.in);
	db = nn_zeros(f.out);
	fc_loss(&f);
	CHECK(fabs(f.y[1 * 5 + 2] - (nn_dot(f.x + 7, f.w + 2 * 7, 7) + f.b[2])) < 1e-5);
	CHECK_OK(ops->fc_backward(ops->ctx, f.n, f.in, f.out, f.x, f.w, f.r, dx, dw, db, &err), &err);
	CHECK(nn_gradient_check("fc dx", f.x, dx, f.n * f.in, 100, 1e-2f, fc_loss, &f) < 1e-3);
	CHECK(nn_gradient_check("fc dw", f.w, dw, f.out * f.in, 100, 1e-2f, fc_loss, &f) < 1e-3);
	CHECK(nn_gradient_check("fc db", f.b, db, f.out, 100, 1e-2f, fc_loss, &f) < 1e-3);
	free(f.x);
	free(f.w);
	free(f.b);
	free(f.y);
	free(f.r);
	free(dx);
	free(dw);
	free(db);
}

typedef struct loss_case
{
	int			n,
				k;
	float	   *z,
			   *t;
	int32_t    *labels;
	float	   *losses;
} loss_case;

static double
bce_total(void *arg)
{
	loss_case  *l = arg;
	double		s = 0;

	CHECK_OK(ops->sigmoid_bce(ops->ctx, l->n, l->z, l->t, l->losses, NULL, 1.0f, &err), &err);
	for (int i = 0; i < l->n; i++)
		s += l->losses[i];
	return s;
}

static double
ce_total(void *arg)
{
	loss_case  *l = arg;
	double		s = 0;

	CHECK_OK(ops->softmax_ce(ops->ctx, l->n, l->k, l->z, l->labels, l->losses, NULL, 1.0f, &err), &err);
	for (int i = 0; i < l->n; i++)
		s += l->losses[i];
	return s;
}

static void
test_losses(void)
{
	loss_case	l = {.n = 6, .k = 4};
	float		dz[24] = {0};
	int32_t		labels[6] = {0, 3, 1, 2, 3, 0};

	l.z = nn_random(24, -4, 4, 5);
	l.t = nn_random(6, 0, 1, 6);
	l.t[0] = 0;
	l.t[1] = 1;
	l.z[2] = 80;				/* saturated logits stay finite */
	l.z[3] = -80;
	l.losses = nn_zeros(6);
	l.labels = labels;
	CHECK_OK(ops->sigmoid_bce(ops->ctx, 6, l.z, l.t, l.losses, dz, 1.0f, &err), &err);
	for (int i = 0; i < 6; i++)
	{
		double		p = 1 / (1 + exp(-(double) l.z[i]));
		double		want = -(l.t[i] * log(fmax(p, 1e-300)) + (1 - l.t[i]) * log(fmax(1 - p, 1e-300)));

		if (i == 2 || i == 3)
			want = i == 2 ? 80 * (1 - l.t[i]) : 80 * l.t[i];
		CHECKF(fabs(l.losses[i] - want) < 1e-5 * fmax(1, fabs(want)), "bce %d: %g vs %g", i, l.losses[i], want);
		CHECK(fabs(dz[i] - (p - l.t[i])) < 1e-6);
	}
	CHECK(nn_gradient_check("sigmoid BCE dz", l.z, dz, 6, 6, 1e-2f, bce_total, &l) < 1e-3);

	memset(dz, 0, sizeof(dz));
	CHECK_OK(ops->softmax_ce(ops->ctx, 6, 4, l.z, labels, l.losses, dz, 1.0f, &err), &err);
	CHECK(nn_gradient_check("softmax CE dz", l.z, dz, 24, 24, 1e-2f, ce_total, &l) < 1e-3);
	labels[4] = 4;
	CHECK_FAILS(ops->softmax_ce(ops->ctx, 6, 4, l.z, labels, l.losses, dz, 1.0f, &err), PGS_ERR_INVALID_ARGUMENT,
				&err);
	CHECK(strstr(err.message, "label 4") != NULL);
	free(l.z);
	free(l.t);
	free(l.losses);
}

static void
test_memory_helpers(void)
{
	float		x[1000];
	double		s;

	CHECK_OK(ops->fill(ops->ctx, 1000, 0.5f, x, &err), &err);
	CHECK(x[0] == 0.5f && x[999] == 0.5f);
	CHECK_OK(ops->sum_squares(ops->ctx, 1000, x, &s, &err), &err);
	CHECK(s == 250.0);
	CHECK_OK(ops->zero(ops->ctx, x, sizeof(x), &err), &err);
	CHECK(x[0] == 0.0f && x[999] == 0.0f);
}

int
main(void)
{
	ops = pgs_cpu_ops();
	RUN(test_conv_forward_matches_definition);
	RUN(test_conv_gradients);
	RUN(test_conv_rejects_bad_descriptors);
	RUN(test_batchnorm);
	RUN(test_pooling_gradients);
	RUN(test_pooling_divisors);
	RUN(test_relu_and_dropout);
	RUN(test_concat);
	RUN(test_fc_gradients);
	RUN(test_losses);
	RUN(test_memory_helpers);
	return unit_done();
}
