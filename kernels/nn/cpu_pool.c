/* CPU max and average pooling over each (image, channel) plane, PyTorch's semantics and divisors. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "layer_shapes.h"

#include <math.h>

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

pgs_status
pgs_cpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err)
{
	pgs_status	st;
	pgs_shape4	out;
	int			planes;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	out = pgs_pool_output_shape(d);
	planes = d->x.n * d->x.c;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static)
	for (int pl = 0; pl < planes; pl++)
	{
		const float *in = x + (size_t) pl * d->x.h * d->x.w;
		float	   *o = y + (size_t) pl * out.h * out.w;

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
	return PGS_OK;
}

pgs_status
pgs_cpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y, const float *dy,
					  float *dx, pgs_error *err)
{
	pgs_status	st;
	pgs_shape4	out;
	int			planes;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	out = pgs_pool_output_shape(d);
	planes = d->x.n * d->x.c;
#pragma omp parallel for num_threads(pgs_cpu_thread_count()) schedule(static)
	for (int pl = 0; pl < planes; pl++)
	{
		const float *in = x + (size_t) pl * d->x.h * d->x.w;
		const float *g = dy + (size_t) pl * out.h * out.w;
		float	   *gi = dx + (size_t) pl * d->x.h * d->x.w;

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
	return PGS_OK;
}
