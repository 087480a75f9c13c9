/* CPU max and average pooling over each (image, channel) plane, PyTorch's semantics and divisors. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "layer_shapes.h"

#include <math.h>

/* Below this many input elements one thread does the whole layer: waking others would cost more. */
#define PARALLEL_MIN 65536

typedef struct pool_window
{
	int			h0,
				h1,
				w0,
				w1;				/* the input rows/columns under the window, clipped to the input */
	float		divisor;		/* average pooling only */
} pool_window;

static pool_window
window_at(const pgs_pool_desc *d, int ph, int pw)
{
	pool_window win;
	int			hs = ph * d->stride_h - d->pad_h;
	int			ws = pw * d->stride_w - d->pad_w;
	/* PyTorch clips the window at the padded border for the include-padding divisor. */
	int			he = hs + d->kernel_h < d->x.h + d->pad_h ? hs + d->kernel_h : d->x.h + d->pad_h;
	int			we = ws + d->kernel_w < d->x.w + d->pad_w ? ws + d->kernel_w : d->x.w + d->pad_w;
	int			padded_size = (he - hs) * (we - ws);

	win.h0 = hs < 0 ? 0 : hs;
	win.w0 = ws < 0 ? 0 : ws;
	win.h1 = he < d->x.h ? he : d->x.h;
	win.w1 = we < d->x.w ? we : d->x.w;
	win.divisor = (float) (d->mode == PGS_POOL_AVG_INCLUDE_PAD ? padded_size
						   : (win.h1 - win.h0) * (win.w1 - win.w0));
	return win;
}

/* Arguments of the per-plane loops (one task per image and channel). */
typedef struct pool_job
{
	const pgs_pool_desc *d;
	pgs_shape4	out;
	const float *x;
	const float *dy;
	float	   *y;
	float	   *dx;
} pool_job;

static void
forward_plane(void *arg, int pl, int worker)
{
	const pool_job *j = arg;
	const pgs_pool_desc *d = j->d;
	pgs_shape4	out = j->out;
	const float *in = j->x + (size_t) pl * d->x.h * d->x.w;
	float	   *o = j->y + (size_t) pl * out.h * out.w;

	for (int ph = 0; ph < out.h; ph++)
		for (int pw = 0; pw < out.w; pw++)
		{
			pool_window win = window_at(d, ph, pw);
			float		acc = d->mode == PGS_POOL_MAX ? -INFINITY : 0.0f;

			for (int ih = win.h0; ih < win.h1; ih++)
				for (int iw = win.w0; iw < win.w1; iw++)
				{
					float		v = in[ih * d->x.w + iw];

					if (d->mode != PGS_POOL_MAX)
						acc += v;
					else if (v > acc || v != v)
						acc = v;	/* NaN propagates, as in PyTorch */
				}
			o[ph * out.w + pw] = d->mode == PGS_POOL_MAX ? acc : acc / win.divisor;
		}
}

pgs_status
pgs_cpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err)
{
	pool_job	job = {.d = d, .x = x, .y = y};
	pgs_status	st;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	job.out = pgs_pool_output_shape(d);
	pgs_parallel_for(d->x.n * d->x.c, pgs_shape4_numel(&d->x) < PARALLEL_MIN ? 1 : 0, forward_plane, &job);
	return PGS_OK;
}

static void
backward_plane(void *arg, int pl, int worker)
{
	const pool_job *j = arg;
	const pgs_pool_desc *d = j->d;
	pgs_shape4	out = j->out;
	const float *in = j->x + (size_t) pl * d->x.h * d->x.w;
	const float *g = j->dy + (size_t) pl * out.h * out.w;
	float	   *gi = j->dx + (size_t) pl * d->x.h * d->x.w;

	for (int ph = 0; ph < out.h; ph++)
		for (int pw = 0; pw < out.w; pw++)
		{
			pool_window win = window_at(d, ph, pw);
			float		grad = g[ph * out.w + pw];

			if (d->mode == PGS_POOL_MAX)
			{
				/* The first maximum in row-major order gets the gradient, as PyTorch's argmax. */
				int			best = win.h0 * d->x.w + win.w0;
				float		acc = -INFINITY;

				for (int ih = win.h0; ih < win.h1; ih++)
					for (int iw = win.w0; iw < win.w1; iw++)
					{
						float		v = in[ih * d->x.w + iw];

						if (v > acc || v != v)
						{
							acc = v;
							best = ih * d->x.w + iw;
							if (v != v)
								goto found;
						}
					}
found:
				gi[best] += grad;
			}
			else
			{
				float		share = grad / win.divisor;

				for (int ih = win.h0; ih < win.h1; ih++)
					for (int iw = win.w0; iw < win.w1; iw++)
						gi[ih * d->x.w + iw] += share;
			}
		}
}

/* The output y is not needed: the maximum is found again in x (the ops table passes it for cuDNN). */
pgs_status
pgs_cpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y, const float *dy,
					  float *dx, pgs_error *err)
{
	pool_job	job = {.d = d, .x = x, .dy = dy, .dx = dx};
	pgs_status	st;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	job.out = pgs_pool_output_shape(d);
	pgs_parallel_for(d->x.n * d->x.c, pgs_shape4_numel(&d->x) < PARALLEL_MIN ? 1 : 0, backward_plane, &job);
	return PGS_OK;
}
