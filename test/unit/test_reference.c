/* The fast CPU ops against the naive reference (kernels/cpu/reference.c), op by op, on random inputs. */
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/cpu/reference.h"
#include "../../kernels/device/layer_shapes.h"
#include "nn_testing.h"

static const pgs_ops *fast;
static const pgs_ops *ref;
static pgs_error err;
static unsigned long long seed = 1;

/* Worst |a − b| relative to the largest |b| (at least 1e-3), printed; gradients start from the same values. */
static void
same(const char *what, const float *a, const float *b, size_t n, double tolerance)
{
	double		scale = 1e-3,
				worst = 0;

	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(b[i]));
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, isnan(a[i]) ? INFINITY : fabs((double) a[i] - b[i]) / scale);
	CHECKF(worst <= tolerance, "%s: worst relative error %.3g (tolerance %.1g)", what, worst, tolerance);
}

static float *
copy_of(const float *x, size_t n)
{
	float	   *c = malloc(n * sizeof(float) + 1);

	memcpy(c, x, n * sizeof(float));
	return c;
}

static const int conv_shapes[][11] = {
	/* n, c, h, w, k, kh, kw, sh, sw, ph, pw */
	{2, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1},
	{1, 3, 11, 10, 5, 3, 3, 2, 2, 0, 0},
	{2, 4, 7, 9, 3, 1, 7, 1, 1, 0, 3},
	{3, 6, 5, 5, 7, 1, 1, 1, 1, 0, 0},
	{1, 2, 8, 8, 3, 1, 3, 1, 2, 0, 1},
	{2, 3, 6, 6, 2, 5, 5, 1, 1, 2, 2},
};

static void
test_conv(void)
{
	for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++)
		for (int threads = 1; threads <= 3; threads += 2)
		{
			const int  *s = conv_shapes[i];
			pgs_conv_desc d = {{s[0], s[1], s[2], s[3], PGS_LAYOUT_NCHW}, s[4], s[5], s[6], s[7], s[8], s[9], s[10]};
			pgs_shape4	o = pgs_conv_output_shape(&d);
			size_t		nx = pgs_shape4_numel(&d.x),
						ny = pgs_shape4_numel(&o),
						nw = (size_t) s[4] * s[1] * s[5] * s[6],
						ws_bytes;
			float	   *x = nn_random(nx, -1, 1, seed++),
					   *w = nn_random(nw, -0.5f, 0.5f, seed++),
					   *dy = nn_random(ny, -1, 1, seed++),
					   *y1 = nn_zeros(ny),
					   *y2 = nn_zeros(ny),
					   *dx1 = nn_random(nx, -1, 1, seed),
					   *dx2 = copy_of(dx1, nx),
					   *dw1 = nn_random(nw, -1, 1, seed++),
					   *dw2 = copy_of(dw1, nw);
			void	   *ws;

			pgs_cpu_set_thread_count(threads);
			CHECK_OK(fast->conv_workspace(fast->ctx, &d, &ws_bytes, &err), &err);
			ws = malloc(ws_bytes + 1);
			CHECK_OK(fast->conv_forward(fast->ctx, &d, x, w, y1, ws, ws_bytes, &err), &err);
			CHECK_OK(ref->conv_forward(ref->ctx, &d, x, w, y2, NULL, 0, &err), &err);
			same("conv forward", y1, y2, ny, 1e-5);
			CHECK_OK(fast->conv_backward(fast->ctx, &d, x, w, dy, dx1, dw1, ws, ws_bytes, &err), &err);
			CHECK_OK(ref->conv_backward(ref->ctx, &d, x, w, dy, dx2, dw2, NULL, 0, &err), &err);
			same("conv backward dx", dx1, dx2, nx, 1e-5);
			same("conv backward dw", dw1, dw2, nw, 1e-5);
			free(ws);
			free(x);
			free(w);
			free(dy);
			free(y1);
			free(y2);
			free(dx1);
			free(dx2);
			free(dw1);
			free(dw2);
		}
	pgs_cpu_set_thread_count(0);
}

static void
test_batchnorm(void)
{
	pgs_bn_desc d = {{3, 5, 6, 7, PGS_LAYOUT_NCHW}, 1e-3f, 0.1f};
	size_t		n = pgs_shape4_numel(&d.x),
				c = 5;
	float	   *x = nn_random(n, -2, 3, seed++),
			   *gamma = nn_random(c, 0.5f, 1.5f, seed++),
			   *beta = nn_random(c, -1, 1, seed++),
			   *dy = nn_random(n, -1, 1, seed++),
			   *y1 = nn_zeros(n),
			   *y2 = nn_zeros(n),
			   *rm1 = nn_random(c, -1, 1, seed),
			   *rm2 = copy_of(rm1, c),
			   *rv1 = nn_random(c, 0.5f, 2, seed++),
			   *rv2 = copy_of(rv1, c),
			   *mean1 = nn_zeros(c),
			   *mean2 = nn_zeros(c),
			   *inv1 = nn_zeros(c),
			   *inv2 = nn_zeros(c),
			   *dx1 = nn_random(n, -1, 1, seed),
			   *dx2 = copy_of(dx1, n),
			   *dg1 = nn_random(c, -1, 1, seed++),
			   *dg2 = copy_of(dg1, c),
			   *db1 = nn_random(c, -1, 1, seed++),
			   *db2 = copy_of(db1, c);

	CHECK_OK(fast->bn_forward_train(fast->ctx, &d, x, gamma, beta, y1, rm1, rv1, mean1, inv1, &err), &err);
	CHECK_OK(ref->bn_forward_train(ref->ctx, &d, x, gamma, beta, y2, rm2, rv2, mean2, inv2, &err), &err);
	same("bn train y", y1, y2, n, 1e-5);
	same("bn running mean", rm1, rm2, c, 1e-6);
	same("bn running var", rv1, rv2, c, 1e-6);
	same("bn saved mean", mean1, mean2, c, 1e-6);
	same("bn saved invstd", inv1, inv2, c, 1e-6);
	CHECK_OK(fast->bn_backward(fast->ctx, &d, x, dy, gamma, mean1, inv1, dx1, dg1, db1, &err), &err);
	CHECK_OK(ref->bn_backward(ref->ctx, &d, x, dy, gamma, mean1, inv1, dx2, dg2, db2, &err), &err);
	same("bn backward dx", dx1, dx2, n, 1e-5);
	same("bn backward dgamma", dg1, dg2, c, 1e-5);
	same("bn backward dbeta", db1, db2, c, 1e-5);
	CHECK_OK(fast->bn_forward_infer(fast->ctx, &d, x, gamma, beta, rm1, rv1, y1, &err), &err);
	CHECK_OK(ref->bn_forward_infer(ref->ctx, &d, x, gamma, beta, rm1, rv1, y2, &err), &err);
	same("bn infer y", y1, y2, n, 1e-5);
	free(x); free(gamma); free(beta); free(dy); free(y1); free(y2); free(rm1); free(rm2); free(rv1); free(rv2);
	free(mean1); free(mean2); free(inv1); free(inv2); free(dx1); free(dx2); free(dg1); free(dg2); free(db1); free(db2);
}

static void
test_pooling(void)
{
	const int	shapes[][6] = {{3, 3, 2, 2, 0, 0}, {3, 3, 1, 1, 1, 1}, {2, 2, 2, 2, 0, 0}, {5, 5, 3, 3, 0, 0},
	{3, 3, 2, 1, 1, 0}};

	for (int mode = PGS_POOL_MAX; mode <= PGS_POOL_AVG_EXCLUDE_PAD; mode++)
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		{
			const int  *s = shapes[i];
			pgs_pool_desc d = {{2, 3, 11, 9, PGS_LAYOUT_NCHW}, mode, s[0], s[1], s[2], s[3], s[4], s[5]};
			pgs_shape4	o = pgs_pool_output_shape(&d);
			size_t		nx = pgs_shape4_numel(&d.x),
						ny = pgs_shape4_numel(&o);
			float	   *x = nn_random(nx, -1, 1, seed++),
					   *dy = nn_random(ny, -1, 1, seed++),
					   *y1 = nn_zeros(ny),
					   *y2 = nn_zeros(ny),
					   *dx1 = nn_random(nx, -1, 1, seed),
					   *dx2 = copy_of(dx1, nx);

			/* ties: the first maximum of a window takes the gradient on every device */
			for (size_t e = 0; e < nx; e += 5)
				x[e] = 0.75f;
			CHECK_OK(fast->pool_forward(fast->ctx, &d, x, y1, &err), &err);
			CHECK_OK(ref->pool_forward(ref->ctx, &d, x, y2, &err), &err);
			same("pool forward", y1, y2, ny, 1e-6);
			CHECK_OK(fast->pool_backward(fast->ctx, &d, x, y1, dy, dx1, &err), &err);
			CHECK_OK(ref->pool_backward(ref->ctx, &d, x, y2, dy, dx2, &err), &err);
			same("pool backward", dx1, dx2, nx, 1e-6);
			free(x); free(dy); free(y1); free(y2); free(dx1); free(dx2);
		}
}

static void
test_pointwise_and_concat(void)
{
	size_t		n = 70001;
	float	   *x = nn_random(n, -1, 1, seed++),
			   *dy = nn_random(n, -1, 1, seed++),
			   *y1 = nn_zeros(n),
			   *y2 = nn_zeros(n),
			   *dx1 = nn_random(n, -1, 1, seed),
			   *dx2 = copy_of(dx1, n);
	pgs_shape4	parts[3] = {{2, 3, 4, 5, PGS_LAYOUT_NCHW}, {2, 1, 4, 5, PGS_LAYOUT_NCHW}, {2, 4, 4, 5, PGS_LAYOUT_NCHW}};
	const float *xs[3] = {x, x + 120, x + 160};
	float	   *dxs1[3] = {dx1, dx1 + 120, dx1 + 160},
			   *dxs2[3] = {dx2, dx2 + 120, dx2 + 160};
	double		a,
				b;

	CHECK_OK(fast->relu_forward(fast->ctx, n, x, y1, &err), &err);
	CHECK_OK(ref->relu_forward(ref->ctx, n, x, y2, &err), &err);
	same("relu forward", y1, y2, n, 0);
	CHECK_OK(fast->relu_backward(fast->ctx, n, y1, dy, dx1, &err), &err);
	CHECK_OK(ref->relu_backward(ref->ctx, n, y2, dy, dx2, &err), &err);
	same("relu backward", dx1, dx2, n, 0);
	CHECK_OK(fast->dropout_forward(fast->ctx, n, 0.3f, 99, x, y1, &err), &err);
	CHECK_OK(ref->dropout_forward(ref->ctx, n, 0.3f, 99, x, y2, &err), &err);
	same("dropout forward", y1, y2, n, 1e-7);
	CHECK_OK(fast->dropout_backward(fast->ctx, n, 0.3f, 99, dy, dx1, &err), &err);
	CHECK_OK(ref->dropout_backward(ref->ctx, n, 0.3f, 99, dy, dx2, &err), &err);
	same("dropout backward", dx1, dx2, n, 1e-7);
	CHECK_OK(fast->concat_forward(fast->ctx, 3, parts, xs, y1, &err), &err);
	CHECK_OK(ref->concat_forward(ref->ctx, 3, parts, xs, y2, &err), &err);
	same("concat forward", y1, y2, 320, 0);
	CHECK_OK(fast->concat_backward(fast->ctx, 3, parts, dy, dxs1, &err), &err);
	CHECK_OK(ref->concat_backward(ref->ctx, 3, parts, dy, dxs2, &err), &err);
	same("concat backward", dx1, dx2, 320, 1e-6);
	CHECK_OK(fast->sum_squares(fast->ctx, n, x, &a, &err), &err);
	CHECK_OK(ref->sum_squares(ref->ctx, n, x, &b, &err), &err);
	CHECKF(fabs(a - b) <= 1e-9 * b, "sum of squares %.17g vs %.17g", a, b);
	CHECK_OK(fast->axpy(fast->ctx, n, 0.5f, x, y1, &err), &err);
	CHECK_OK(ref->axpy(ref->ctx, n, 0.5f, x, y2, &err), &err);
	same("axpy", y1, y2, n, 1e-6);
	free(x); free(dy); free(y1); free(y2); free(dx1); free(dx2);
}

static void
test_fc_and_losses(void)
{
	int			n = 7,
				in = 33,
				out = 5;
	float	   *x = nn_random((size_t) n * in, -1, 1, seed++),
			   *w = nn_random((size_t) out * in, -1, 1, seed++),
			   *b = nn_random(out, -1, 1, seed++),
			   *dy = nn_random((size_t) n * out, -1, 1, seed++),
			   *y1 = nn_zeros((size_t) n * out),
			   *y2 = nn_zeros((size_t) n * out),
			   *dx1 = nn_random((size_t) n * in, -1, 1, seed),
			   *dx2 = copy_of(dx1, (size_t) n * in),
			   *dw1 = nn_random((size_t) out * in, -1, 1, seed),
			   *dw2 = copy_of(dw1, (size_t) out * in),
			   *db1 = nn_random(out, -1, 1, seed++),
			   *db2 = copy_of(db1, out),
			   *targets = nn_random((size_t) n * out, 0, 1, seed++),
			   *l1 = nn_zeros((size_t) n * out),
			   *l2 = nn_zeros((size_t) n * out);
	int32_t		labels[7] = {0, 4, 2, 2, 1, 3, 0};

	CHECK_OK(fast->fc_forward(fast->ctx, n, in, out, x, w, b, y1, &err), &err);
	CHECK_OK(ref->fc_forward(ref->ctx, n, in, out, x, w, b, y2, &err), &err);
	same("fc forward", y1, y2, (size_t) n * out, 1e-5);
	CHECK_OK(fast->fc_backward(fast->ctx, n, in, out, x, w, dy, dx1, dw1, db1, &err), &err);
	CHECK_OK(ref->fc_backward(ref->ctx, n, in, out, x, w, dy, dx2, dw2, db2, &err), &err);
	same("fc backward dx", dx1, dx2, (size_t) n * in, 1e-5);
	same("fc backward dw", dw1, dw2, (size_t) out * in, 1e-5);
	same("fc backward db", db1, db2, out, 1e-5);
	for (int e = 0; e < n * out; e++)
		y1[e] *= 20;			/* logits far from 0, where a naive log(σ) would lose everything */
	memcpy(dy, dx1, sizeof(float) * n * out);
	memcpy(dw1, dy, sizeof(float) * n * out);
	CHECK_OK(fast->sigmoid_bce(fast->ctx, (size_t) n * out, y1, targets, l1, dy, 0.25f, &err), &err);
	CHECK_OK(ref->sigmoid_bce(ref->ctx, (size_t) n * out, y1, targets, l2, dw1, 0.25f, &err), &err);
	same("sigmoid bce loss", l1, l2, (size_t) n * out, 1e-6);
	same("sigmoid bce gradient", dy, dw1, (size_t) n * out, 1e-6);
	CHECK_OK(fast->softmax_ce(fast->ctx, n, out, y1, labels, l1, dy, 1.0f / n, &err), &err);
	CHECK_OK(ref->softmax_ce(ref->ctx, n, out, y1, labels, l2, dw1, 1.0f / n, &err), &err);
	same("softmax ce loss", l1, l2, n, 1e-6);
	same("softmax ce gradient", dy, dw1, (size_t) n * out, 1e-6);
	free(x); free(w); free(b); free(dy); free(y1); free(y2); free(dx1); free(dx2); free(dw1); free(dw2);
	free(db1); free(db2); free(targets); free(l1); free(l2);
}

static void
test_optimizers(void)
{
	pgs_optimizer_update updates[] = {
		{.kind = PGS_OPTIMIZER_SGD, .lr = 0.01f, .grad_scale = 0.5f, .weight_decay = 1e-4f, .momentum = 0.9f,
		.nesterov = true},
		{.kind = PGS_OPTIMIZER_RMSPROP, .lr = 0.001f, .grad_scale = 1, .momentum = 0.9f, .rho = 0.9f, .eps = 1.0f,
		.rmsprop_style = PGS_RMSPROP_TF},
		{.kind = PGS_OPTIMIZER_ADAM, .lr = 0.001f, .grad_scale = 1, .weight_decay = 0.01f,
		.decoupled_weight_decay = true, .eps = 1e-8f, .beta1 = 0.9f, .beta2 = 0.999f, .step = 3},
	};
	size_t		n = 4099;

	for (size_t u = 0; u < sizeof(updates) / sizeof(updates[0]); u++)
	{
		float	   *p1 = nn_random(n, -1, 1, seed),
				   *p2 = copy_of(p1, n),
				   *g = nn_random(n, -1, 1, seed + 1),
				   *a1 = nn_random(n, 0, 1, seed + 2),
				   *a2 = copy_of(a1, n),
				   *b1 = nn_random(n, 0, 1, seed + 3),
				   *b2 = copy_of(b1, n);

		seed += 4;
		CHECK_OK(fast->optimizer_update(fast->ctx, &updates[u], n, p1, g, a1, b1, &err), &err);
		CHECK_OK(ref->optimizer_update(ref->ctx, &updates[u], n, p2, g, a2, b2, &err), &err);
		same("optimizer parameters", p1, p2, n, 0);
		same("optimizer state 1", a1, a2, n, 0);
		same("optimizer state 2", b1, b2, n, 0);
		free(p1); free(p2); free(g); free(a1); free(a2); free(b1); free(b2);
	}
}

/* The reference refuses what every device refuses. */
static void
test_reference_checks_arguments(void)
{
	pgs_conv_desc d = {{1, 2, 4, 4, PGS_LAYOUT_NCHW}, 3, 5, 5, 1, 1, 0, 0};
	float		x[32] = {0},
				y[32];
	int32_t		label = 3;

	CHECK_FAILS(ref->conv_forward(ref->ctx, &d, x, x, y, NULL, 0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(ref->dropout_forward(ref->ctx, 4, 1.0f, 1, x, y, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(ref->softmax_ce(ref->ctx, 1, 2, x, &label, y, NULL, 1, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

int
main(void)
{
	fast = pgs_cpu_ops();
	ref = pgs_reference_ops();
	RUN(test_conv);
	RUN(test_batchnorm);
	RUN(test_pooling);
	RUN(test_pointwise_and_concat);
	RUN(test_fc_and_losses);
	RUN(test_optimizers);
	RUN(test_reference_checks_arguments);
	return unit_done();
}
