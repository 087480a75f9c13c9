/*
 * The naive reference of the ops table (kernels/device/ops.h): each compute op written straight from its
 * definition, as plain loops with double accumulators — no im2col, no threads, no BLAS. The fast CPU path
 * (kernels/cpu/cpu_*.c) and the CUDA module are tested against these functions (test/unit/test_reference.c,
 * test/gpucheck). Slow on purpose: nothing but tests should call it.
 */
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../device/augment.h"
#include "../device/layer_shapes.h"
#include "../device/nn_math.h"
#include "../device/optim_math.h"

/* Offset of element (n, c, h, w) of an NCHW tensor of shape s. */
static inline size_t
at4(const pgs_shape4 *s, int n, int c, int h, int w)
{
	return (((size_t) n * s->c + c) * s->h + h) * s->w + w;
}

/* ---- convolution ---- */

void
pgs_ref_conv_forward(float *y, const float *x, const float *w, const pgs_conv_desc *d)
{
	pgs_shape4	o = pgs_conv_output_shape(d);
	pgs_shape4	ws = {d->c_out, d->x.c, d->kernel_h, d->kernel_w, PGS_LAYOUT_NCHW};

	for (int n = 0; n < o.n; n++)
		for (int k = 0; k < o.c; k++)
			for (int p = 0; p < o.h; p++)
				for (int q = 0; q < o.w; q++)
				{
					double		acc = 0.0;

					for (int c = 0; c < d->x.c; c++)
						for (int r = 0; r < d->kernel_h; r++)
							for (int s = 0; s < d->kernel_w; s++)
							{
								int			ih = p * d->stride_h - d->pad_h + r;
								int			iw = q * d->stride_w - d->pad_w + s;

								if (ih >= 0 && ih < d->x.h && iw >= 0 && iw < d->x.w)
									acc += (double) x[at4(&d->x, n, c, ih, iw)] * w[at4(&ws, k, c, r, s)];
							}
					y[at4(&o, n, k, p, q)] = (float) acc;
				}
}

void
pgs_ref_conv_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, const pgs_conv_desc *d)
{
	pgs_shape4	o = pgs_conv_output_shape(d);
	pgs_shape4	ws = {d->c_out, d->x.c, d->kernel_h, d->kernel_w, PGS_LAYOUT_NCHW};

	/* dw[k,c,r,s] = Σ_n,p,q dy[n,k,p,q]·x[n,c,ih,iw] */
	for (int k = 0; k < d->c_out; k++)
		for (int c = 0; c < d->x.c; c++)
			for (int r = 0; r < d->kernel_h; r++)
				for (int s = 0; s < d->kernel_w; s++)
				{
					double		acc = 0.0;

					for (int n = 0; n < o.n; n++)
						for (int p = 0; p < o.h; p++)
							for (int q = 0; q < o.w; q++)
							{
								int			ih = p * d->stride_h - d->pad_h + r;
								int			iw = q * d->stride_w - d->pad_w + s;

								if (ih >= 0 && ih < d->x.h && iw >= 0 && iw < d->x.w)
									acc += (double) dy[at4(&o, n, k, p, q)] * x[at4(&d->x, n, c, ih, iw)];
							}
					dw[at4(&ws, k, c, r, s)] += (float) acc;
				}
	if (dx == NULL)
		return;
	/* dx[n,c,ih,iw] = Σ over the (k,p,q,r,s) that read it of dy[n,k,p,q]·w[k,c,r,s] */
	for (int n = 0; n < d->x.n; n++)
		for (int c = 0; c < d->x.c; c++)
			for (int ih = 0; ih < d->x.h; ih++)
				for (int iw = 0; iw < d->x.w; iw++)
				{
					double		acc = 0.0;

					for (int k = 0; k < d->c_out; k++)
						for (int r = 0; r < d->kernel_h; r++)
							for (int s = 0; s < d->kernel_w; s++)
							{
								int			ph = ih + d->pad_h - r;
								int			pw = iw + d->pad_w - s;
								int			p = ph / d->stride_h;
								int			q = pw / d->stride_w;

								if (ph < 0 || pw < 0 || ph % d->stride_h != 0 || pw % d->stride_w != 0 ||
									p >= o.h || q >= o.w)
									continue;
								acc += (double) dy[at4(&o, n, k, p, q)] * w[at4(&ws, k, c, r, s)];
							}
					dx[at4(&d->x, n, c, ih, iw)] += (float) acc;
				}
}

/* ---- batch normalization: per channel over N·H·W ---- */

void
pgs_ref_bn_forward_train(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
						 const float *x, const float *gamma, const float *beta, const pgs_bn_desc *d)
{
	const pgs_shape4 *s = &d->x;
	double		m = (double) s->n * s->h * s->w;

	for (int c = 0; c < s->c; c++)
	{
		double		sum = 0.0,
					squares = 0.0,
					mu,
					var;

		for (int n = 0; n < s->n; n++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
					sum += x[at4(s, n, c, h, w)];
		mu = sum / m;
		for (int n = 0; n < s->n; n++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
					squares += (x[at4(s, n, c, h, w)] - mu) * (x[at4(s, n, c, h, w)] - mu);
		var = squares / m;		/* biased: what the batch is normalised with */
		mean[c] = (float) mu;
		invstd[c] = (float) (1.0 / sqrt(var + d->eps));
		/* running statistics take the unbiased variance, PyTorch's convention */
		running_mean[c] = (float) ((1.0 - d->momentum) * running_mean[c] + d->momentum * mu);
		running_var[c] = (float) ((1.0 - d->momentum) * running_var[c] +
								  d->momentum * (m > 1 ? squares / (m - 1) : squares));
		for (int n = 0; n < s->n; n++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
				{
					size_t		i = at4(s, n, c, h, w);

					y[i] = (float) ((x[i] - mu) / sqrt(var + d->eps) * gamma[c] + beta[c]);
				}
	}
}

void
pgs_ref_bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
						 const float *running_mean, const float *running_var, const pgs_bn_desc *d)
{
	const pgs_shape4 *s = &d->x;

	for (int n = 0; n < s->n; n++)
		for (int c = 0; c < s->c; c++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
				{
					size_t		i = at4(s, n, c, h, w);

					y[i] = (float) ((x[i] - (double) running_mean[c]) / sqrt((double) running_var[c] + d->eps) *
									gamma[c] + beta[c]);
				}
}

/*
 * With x̂ = (x − mean)·invstd over m = N·H·W values of a channel:
 *   dgamma += Σ dy·x̂,  dbeta += Σ dy,  dx += gamma·invstd·(dy − Σdy/m − x̂·Σ(dy·x̂)/m).
 */
void
pgs_ref_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma,
					const float *mean, const float *invstd, const pgs_bn_desc *d)
{
	const pgs_shape4 *s = &d->x;
	double		m = (double) s->n * s->h * s->w;

	for (int c = 0; c < s->c; c++)
	{
		double		sum_dy = 0.0,
					sum_dy_xhat = 0.0;

		for (int n = 0; n < s->n; n++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
				{
					size_t		i = at4(s, n, c, h, w);

					sum_dy += dy[i];
					sum_dy_xhat += dy[i] * ((x[i] - (double) mean[c]) * invstd[c]);
				}
		dgamma[c] += (float) sum_dy_xhat;
		dbeta[c] += (float) sum_dy;
		for (int n = 0; n < s->n; n++)
			for (int h = 0; h < s->h; h++)
				for (int w = 0; w < s->w; w++)
				{
					size_t		i = at4(s, n, c, h, w);
					double		xhat = (x[i] - (double) mean[c]) * invstd[c];

					dx[i] += (float) ((double) gamma[c] * invstd[c] * (dy[i] - sum_dy / m - xhat * sum_dy_xhat / m));
				}
	}
}

/* ---- ReLU and dropout ---- */

void
pgs_ref_relu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void
pgs_ref_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (y[i] > 0.0f)
			dx[i] += dy[i];
}

/* The mask is nn_math.h's pgs_dropout_keep: a pure function of (seed, i) every device shares. */
void
pgs_ref_dropout_forward(float *y, const float *x, size_t n, float p, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		y[i] = pgs_dropout_keep(seed, i, p) ? x[i] / (1.0f - p) : 0.0f;
}

void
pgs_ref_dropout_backward(float *dx, const float *dy, size_t n, float p, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (pgs_dropout_keep(seed, i, p))
			dx[i] += dy[i] / (1.0f - p);
}

/* ---- pooling ---- */

/* The window of output (p, q): input rows and columns p·stride − pad + [0, kernel), some outside the input. */
typedef struct pool_window
{
	double		sum;
	float		max;
	size_t		argmax;			/* the first maximum in raster order of the window */
	int			inside;			/* elements of the window inside the input */
} pool_window;

static pool_window
pool_window_at(const float *x, const pgs_pool_desc *d, int n, int c, int p, int q)
{
	pool_window win = {0.0, -INFINITY, 0, 0};

	for (int r = 0; r < d->kernel_h; r++)
		for (int s = 0; s < d->kernel_w; s++)
		{
			int			ih = p * d->stride_h - d->pad_h + r;
			int			iw = q * d->stride_w - d->pad_w + s;
			size_t		i;

			if (ih < 0 || ih >= d->x.h || iw < 0 || iw >= d->x.w)
				continue;		/* padding: counted by AVG_INCLUDE_PAD's divisor, never a maximum */
			i = at4(&d->x, n, c, ih, iw);
			win.sum += x[i];
			win.inside++;
			if (x[i] > win.max)
			{
				win.max = x[i];
				win.argmax = i;
			}
		}
	return win;
}

static double
pool_divisor(const pgs_pool_desc *d, const pool_window *win)
{
	return d->mode == PGS_POOL_AVG_INCLUDE_PAD ? (double) d->kernel_h * d->kernel_w : (double) win->inside;
}

void
pgs_ref_pool_forward(float *y, const float *x, const pgs_pool_desc *d)
{
	pgs_shape4	o = pgs_pool_output_shape(d);

	for (int n = 0; n < o.n; n++)
		for (int c = 0; c < o.c; c++)
			for (int p = 0; p < o.h; p++)
				for (int q = 0; q < o.w; q++)
				{
					pool_window win = pool_window_at(x, d, n, c, p, q);

					y[at4(&o, n, c, p, q)] = d->mode == PGS_POOL_MAX ? win.max : (float) (win.sum / pool_divisor(d, &win));
				}
}

void
pgs_ref_pool_backward(float *dx, const float *dy, const float *x, const pgs_pool_desc *d)
{
	pgs_shape4	o = pgs_pool_output_shape(d);

	for (int n = 0; n < o.n; n++)
		for (int c = 0; c < o.c; c++)
			for (int p = 0; p < o.h; p++)
				for (int q = 0; q < o.w; q++)
				{
					pool_window win = pool_window_at(x, d, n, c, p, q);
					float		g = dy[at4(&o, n, c, p, q)];

					if (d->mode == PGS_POOL_MAX)
					{
						dx[win.argmax] += g;
						continue;
					}
					for (int r = 0; r < d->kernel_h; r++)
						for (int s = 0; s < d->kernel_w; s++)
						{
							int			ih = p * d->stride_h - d->pad_h + r;
							int			iw = q * d->stride_w - d->pad_w + s;

							if (ih >= 0 && ih < d->x.h && iw >= 0 && iw < d->x.w)
								dx[at4(&d->x, n, c, ih, iw)] += (float) (g / pool_divisor(d, &win));
						}
				}
}

/* ---- channel concatenation ---- */

void
pgs_ref_concat_forward(float *y, const float *const *x, const pgs_shape4 *parts, int n_parts)
{
	pgs_shape4	o = parts[0];

	o.c = 0;
	for (int i = 0; i < n_parts; i++)
		o.c += parts[i].c;
	for (int i = 0, base = 0; i < n_parts; base += parts[i].c, i++)
		for (int n = 0; n < o.n; n++)
			for (int c = 0; c < parts[i].c; c++)
				for (int h = 0; h < o.h; h++)
					for (int w = 0; w < o.w; w++)
						y[at4(&o, n, base + c, h, w)] = x[i][at4(&parts[i], n, c, h, w)];
}

void
pgs_ref_concat_backward(float *const *dx, const float *dy, const pgs_shape4 *parts, int n_parts)
{
	pgs_shape4	o = parts[0];

	o.c = 0;
	for (int i = 0; i < n_parts; i++)
		o.c += parts[i].c;
	for (int i = 0, base = 0; i < n_parts; base += parts[i].c, i++)
		for (int n = 0; dx[i] != NULL && n < o.n; n++)
			for (int c = 0; c < parts[i].c; c++)
				for (int h = 0; h < o.h; h++)
					for (int w = 0; w < o.w; w++)
						dx[i][at4(&parts[i], n, c, h, w)] += dy[at4(&o, n, base + c, h, w)];
}

/* ---- fully connected: y = x·wᵀ + b ---- */

void
pgs_ref_fc_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out)
{
	for (int i = 0; i < n; i++)
		for (int o = 0; o < out; o++)
		{
			double		acc = b != NULL ? b[o] : 0.0;

			for (int j = 0; j < in; j++)
				acc += (double) x[(size_t) i * in + j] * w[(size_t) o * in + j];
			y[(size_t) i * out + o] = (float) acc;
		}
}

void
pgs_ref_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int n, int in,
					int out)
{
	for (int o = 0; o < out; o++)
	{
		for (int j = 0; j < in; j++)
		{
			double		acc = 0.0;

			for (int i = 0; i < n; i++)
				acc += (double) dy[(size_t) i * out + o] * x[(size_t) i * in + j];
			dw[(size_t) o * in + j] += (float) acc;
		}
		if (db != NULL)
		{
			double		acc = 0.0;

			for (int i = 0; i < n; i++)
				acc += dy[(size_t) i * out + o];
			db[o] += (float) acc;
		}
	}
	for (int i = 0; dx != NULL && i < n; i++)
		for (int j = 0; j < in; j++)
		{
			double		acc = 0.0;

			for (int o = 0; o < out; o++)
				acc += (double) dy[(size_t) i * out + o] * w[(size_t) o * in + j];
			dx[(size_t) i * in + j] += (float) acc;
		}
}

/* ---- losses ---- */

/* loss = −[t·log σ(z) + (1 − t)·log(1 − σ(z))], stably max(z, 0) − z·t + log(1 + e^−|z|); ∂/∂z = σ(z) − t */
void
pgs_ref_sigmoid_bce(float *losses, float *dlogits, const float *logits, const float *targets, size_t n,
					float grad_scale)
{
	for (size_t i = 0; i < n; i++)
	{
		double		z = logits[i],
					t = targets[i];

		losses[i] = (float) (fmax(z, 0.0) - z * t + log1p(exp(-fabs(z))));
		if (dlogits != NULL)
			dlogits[i] += (float) (grad_scale * (1.0 / (1.0 + exp(-z)) - t));
	}
}

/* loss = log Σ_j e^z[j] − z[label]; ∂/∂z[j] = softmax(z)[j] − (j == label) */
void
pgs_ref_softmax_ce(float *losses, float *dlogits, const float *logits, const int32_t *labels, int n, int k,
				   float grad_scale)
{
	for (int i = 0; i < n; i++)
	{
		const float *z = logits + (size_t) i * k;
		double		max = z[0],
					sum = 0.0,
					log_sum;

		for (int j = 1; j < k; j++)
			max = fmax(max, z[j]);
		for (int j = 0; j < k; j++)
			sum += exp(z[j] - max);
		log_sum = max + log(sum);
		losses[i] = (float) (log_sum - z[labels[i]]);
		for (int j = 0; dlogits != NULL && j < k; j++)
			dlogits[(size_t) i * k + j] += (float) (grad_scale * (exp(z[j] - log_sum) - (j == labels[i])));
	}
}

/* ---- optimiser and reductions ---- */

/* The per-element rules are optim_math.h's, one definition for every device; here a plain loop over them. */
void
pgs_ref_optimizer_update(float *param, float *state1, float *state2, const float *grad, size_t n,
						 const pgs_optimizer_update *u)
{
	pgs_adam_corrections c = {0.0f, 1.0f};

	if (u->kind == PGS_OPTIMIZER_ADAM)
		c = pgs_adam_corrections_for(u);
	for (size_t i = 0; i < n; i++)
	{
		float		g = grad[i] * u->grad_scale;

		if (u->kind == PGS_OPTIMIZER_SGD)
			pgs_sgd_element(u, &param[i], g, state1 ? &state1[i] : NULL);
		else if (u->kind == PGS_OPTIMIZER_RMSPROP)
			pgs_rmsprop_element(u, &param[i], g, state1 ? &state1[i] : NULL, &state2[i]);
		else
			pgs_adam_element(u, c, &param[i], g, &state1[i], &state2[i]);
	}
}

/* In long double: a plain running sum of millions of terms then stays exact to double precision. */
double
pgs_ref_sum_squares(const float *x, size_t n)
{
	long double sum = 0.0L;

	for (size_t i = 0; i < n; i++)
		sum += (long double) x[i] * x[i];
	return (double) sum;
}

/* ---- the ops table: the same argument checks as every device, then the functions above ---- */

static pgs_status
ref_alloc(void *ctx, size_t bytes, void **out, pgs_error *err)
{
	*out = malloc(bytes ? bytes : 1);
	return *out ? PGS_OK : pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes", bytes);
}

static void
ref_free(void *ctx, void *ptr)
{
	free(ptr);
}

static pgs_status
ref_copy(void *ctx, void *dst, const void *src, size_t bytes, pgs_error *err)
{
	if (bytes > 0 && dst != src)
		memmove(dst, src, bytes);
	return PGS_OK;
}

static pgs_status
ref_nothing(void *ctx, pgs_error *err)
{
	return PGS_OK;
}

static pgs_status
ref_configure(void *ctx, const pgs_device_options *options, pgs_error *err)
{
	return PGS_OK;
}

static pgs_status
ref_axpy(void *ctx, size_t n, float a, const float *x, float *y, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
		y[i] = a * x[i] + y[i];
	return PGS_OK;
}

static pgs_status
ref_zero(void *ctx, void *ptr, size_t bytes, pgs_error *err)
{
	memset(ptr, 0, bytes);
	return PGS_OK;
}

static pgs_status
ref_fill(void *ctx, size_t n, float value, float *x, pgs_error *err)
{
	for (size_t i = 0; i < n; i++)
		x[i] = value;
	return PGS_OK;
}

static pgs_status
ref_sum_squares(void *ctx, size_t n, const float *x, double *result, pgs_error *err)
{
	*result = pgs_ref_sum_squares(x, n);
	return PGS_OK;
}

static pgs_status
ref_conv_workspace(void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err)
{
	*bytes = 0;
	return pgs_check_conv_desc(d, err);
}

static pgs_status
ref_conv_forward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y, void *workspace,
				 size_t workspace_bytes, pgs_error *err)
{
	pgs_status	st = pgs_check_conv_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_conv_forward(y, x, w, d);
	return st;
}

static pgs_status
ref_conv_backward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, const float *dy, float *dx,
				  float *dw, void *workspace, size_t workspace_bytes, pgs_error *err)
{
	pgs_status	st = pgs_check_conv_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_conv_backward(dx, dw, dy, x, w, d);
	return st;
}

static pgs_status
ref_bn_forward_train(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
					 float *y, float *running_mean, float *running_var, float *save_mean, float *save_invstd,
					 pgs_error *err)
{
	pgs_status	st = pgs_check_bn_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_bn_forward_train(y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, d);
	return st;
}

static pgs_status
ref_bn_forward_infer(void *ctx, const pgs_bn_desc *d, const float *x, const float *gamma, const float *beta,
					 const float *running_mean, const float *running_var, float *y, pgs_error *err)
{
	pgs_status	st = pgs_check_bn_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_bn_forward_infer(y, x, gamma, beta, running_mean, running_var, d);
	return st;
}

static pgs_status
ref_bn_backward(void *ctx, const pgs_bn_desc *d, const float *x, const float *dy, const float *gamma,
				const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta,
				pgs_error *err)
{
	pgs_status	st = pgs_check_bn_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_bn_backward(dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd, d);
	return st;
}

static pgs_status
ref_relu_forward(void *ctx, size_t n, const float *x, float *y, pgs_error *err)
{
	pgs_ref_relu_forward(y, x, n);
	return PGS_OK;
}

static pgs_status
ref_relu_backward(void *ctx, size_t n, const float *y, const float *dy, float *dx, pgs_error *err)
{
	pgs_ref_relu_backward(dx, dy, y, n);
	return PGS_OK;
}

static pgs_status
ref_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err)
{
	pgs_status	st = pgs_check_pool_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_pool_forward(y, x, d);
	return st;
}

static pgs_status
ref_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y, const float *dy, float *dx,
				  pgs_error *err)
{
	pgs_status	st = pgs_check_pool_desc(d, err);

	if (st == PGS_OK)
		pgs_ref_pool_backward(dx, dy, x, d);
	return st;
}

static pgs_status
ref_concat_forward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *const *x, float *y,
				   pgs_error *err)
{
	pgs_status	st = pgs_check_concat(n_parts, parts, err);

	if (st == PGS_OK)
		pgs_ref_concat_forward(y, x, parts, n_parts);
	return st;
}

static pgs_status
ref_concat_backward(void *ctx, int n_parts, const pgs_shape4 *parts, const float *dy, float *const *dx,
					pgs_error *err)
{
	pgs_status	st = pgs_check_concat(n_parts, parts, err);

	if (st == PGS_OK)
		pgs_ref_concat_backward(dx, dy, parts, n_parts);
	return st;
}

static pgs_status
check_dropout(float p, pgs_error *err)
{
	if (!(p >= 0.0f && p < 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "dropout probability %g is not in [0, 1)", (double) p);
	return PGS_OK;
}

static pgs_status
ref_dropout_forward(void *ctx, size_t n, float p, uint64_t seed, const float *x, float *y, pgs_error *err)
{
	pgs_status	st = check_dropout(p, err);

	if (st == PGS_OK)
		pgs_ref_dropout_forward(y, x, n, p, seed);
	return st;
}

static pgs_status
ref_dropout_backward(void *ctx, size_t n, float p, uint64_t seed, const float *dy, float *dx, pgs_error *err)
{
	pgs_status	st = check_dropout(p, err);

	if (st == PGS_OK)
		pgs_ref_dropout_backward(dx, dy, n, p, seed);
	return st;
}

static pgs_status
check_fc(int n, int in, int out, pgs_error *err)
{
	if (n < 0 || in < 1 || out < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "fully connected layer of %d×%d for %d rows", out, in, n);
	return PGS_OK;
}

static pgs_status
ref_fc_forward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *b, float *y,
			   pgs_error *err)
{
	pgs_status	st = check_fc(n, in, out, err);

	if (st == PGS_OK)
		pgs_ref_fc_forward(y, x, w, b, n, in, out);
	return st;
}

static pgs_status
ref_fc_backward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *dy, float *dx,
				float *dw, float *db, pgs_error *err)
{
	pgs_status	st = check_fc(n, in, out, err);

	if (st == PGS_OK)
		pgs_ref_fc_backward(dx, dw, db, dy, x, w, n, in, out);
	return st;
}

static pgs_status
ref_sigmoid_bce(void *ctx, size_t n, const float *logits, const float *targets, float *losses, float *dlogits,
				float grad_scale, pgs_error *err)
{
	pgs_ref_sigmoid_bce(losses, dlogits, logits, targets, n, grad_scale);
	return PGS_OK;
}

static pgs_status
ref_softmax_ce(void *ctx, int n, int k, const float *logits, const int32_t *labels, float *losses, float *dlogits,
			   float grad_scale, pgs_error *err)
{
	if (k < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "softmax over %d classes", k);
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "class label %d is not in [0, %d)", labels[i], k);
	pgs_ref_softmax_ce(losses, dlogits, logits, labels, n, k, grad_scale);
	return PGS_OK;
}

static pgs_status
ref_optimizer_update(void *ctx, const pgs_optimizer_update *u, size_t n, float *param, const float *grad,
					 float *state1, float *state2, pgs_error *err)
{
	if (!pgs_optimizer_update_ready(u, state1, state2))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "optimiser %d lacks its state or step number", (int) u->kind);
	pgs_ref_optimizer_update(param, state1, state2, grad, n, u);
	return PGS_OK;
}

static const pgs_ops reference_ops = {
	.version = PGS_OPS_VERSION,
	.kind = PGS_DEVICE_CPU,
	.ordinal = 0,
	.name = "reference",
	.ctx = NULL,
	.alloc = ref_alloc,
	.free = ref_free,
	.upload = ref_copy,
	.download = ref_copy,
	.synchronize = ref_nothing,
	.axpy = ref_axpy,
	.configure = ref_configure,
	.zero = ref_zero,
	.fill = ref_fill,
	.copy = ref_copy,
	.sum_squares = ref_sum_squares,
	.conv_workspace = ref_conv_workspace,
	.conv_forward = ref_conv_forward,
	.conv_backward = ref_conv_backward,
	.bn_forward_train = ref_bn_forward_train,
	.bn_forward_infer = ref_bn_forward_infer,
	.bn_backward = ref_bn_backward,
	.relu_forward = ref_relu_forward,
	.relu_backward = ref_relu_backward,
	.pool_forward = ref_pool_forward,
	.pool_backward = ref_pool_backward,
	.concat_forward = ref_concat_forward,
	.concat_backward = ref_concat_backward,
	.dropout_forward = ref_dropout_forward,
	.dropout_backward = ref_dropout_backward,
	.fc_forward = ref_fc_forward,
	.fc_backward = ref_fc_backward,
	.sigmoid_bce = ref_sigmoid_bce,
	.softmax_ce = ref_softmax_ce,
	.optimizer_update = ref_optimizer_update,
	/* input preparation's reference is already plain loops over augment.h (kernels/device/prepare_input.c) */
	.prepare_input = pgs_cpu_prepare_input,
};

const pgs_ops *
pgs_reference_ops(void)
{
	return &reference_ops;
}
