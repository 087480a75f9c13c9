/* CPU max and average pooling, PyTorch's semantics and divisors, computed separably (rows, then columns). */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "../device/layer_shapes.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Both reductions are separable: a window's max (or sum) is the max over its rows of each row's max over
 * its columns. So each plane is reduced along rows into an H × Q scratch, then down its columns into the
 * P × Q output — O(H·Q·kw + P·Q·kh) instead of O(P·Q·kh·kw), and both passes are plain loops over contiguous
 * memory. The average's divisor is separable too: PyTorch's count_include_pad divisor is the padded window
 * extent clipped at the padded border, in rows times in columns; without padding it is the clipped extent.
 */

/* Below this many input elements one thread does the whole layer: waking others would cost more. */
#define PARALLEL_MIN 65536

/* The input range [lo, hi) one output index covers along an axis, and its divisor factor. */
typedef struct window_axis
{
	int			lo;
	int			hi;
	float		count;
} window_axis;

typedef struct pool_job
{
	const pgs_pool_desc *d;
	pgs_shape4	out;
	window_axis *rows;			/* out.h entries */
	window_axis *cols;			/* out.w entries */
	float	   *col_counts;		/* cols[pw].count, contiguous for vector loops */
	float	   *scratch;		/* per worker: H × Q */
	const float *x;
	const float *dy;
	float	   *y;
	float	   *dx;
} pool_job;

static void
plan_axis(window_axis *axis, int out, int in, int kernel, int stride, int pad, pgs_pool_mode mode)
{
	for (int o = 0; o < out; o++)
	{
		int			start = o * stride - pad;
		int			end = start + kernel < in + pad ? start + kernel : in + pad;

		axis[o].lo = start < 0 ? 0 : start;
		axis[o].hi = end < in ? end : in;
		axis[o].count = (float) (mode == PGS_POOL_AVG_INCLUDE_PAD ? end - start : axis[o].hi - axis[o].lo);
	}
}

/* Output columns [*first, *last) whose windows lie wholly inside the row: no clipping needed there. */
static void
interior_columns(const pool_job *j, int *first, int *last)
{
	const pgs_pool_desc *d = j->d;
	int			s = d->stride_w;

	*first = (d->pad_w + s - 1) / s;
	*last = (d->x.w + d->pad_w - d->kernel_w) / s + 1;
	if (*last > j->out.w)
		*last = j->out.w;
	if (*first > *last)
		*first = *last;
}

/*
 * Row pass: r[pw] = reduction of row over the window of output column pw. Windows that lie wholly inside
 * the row (all but a few at the edges) are done tap by tap across all columns, loops the compiler
 * vectorises; the edge columns use their clipped ranges.
 */
static inline float
combine(bool is_max, float acc, float v)
{
	/* Bitwise | keeps the max branch-free; a NaN propagates, as in PyTorch. */
	return is_max ? (((v > acc) | (v != v)) ? v : acc) : acc + v;
}

static void
reduce_row(const pool_job *j, bool is_max, const float *row, float *r)
{
	const pgs_pool_desc *d = j->d;
	int			q = j->out.w,
				s = d->stride_w,
				k = d->kernel_w,
				pad = d->pad_w;
	int			first,
				last;

	interior_columns(j, &first, &last);
	for (int pw = 0; pw < q; pw++)
	{
		if (pw == first)
			pw = last;
		if (pw >= q)
			break;
		r[pw] = is_max ? -INFINITY : 0.0f;
		for (int iw = j->cols[pw].lo; iw < j->cols[pw].hi; iw++)
			r[pw] = combine(is_max, r[pw], row[iw]);
	}
	if (first >= last)
		return;
	for (int pw = first; pw < last; pw++)
		r[pw] = row[pw * s - pad];
	for (int t = 1; t < k; t++)
	{
		const float *tap = row + t - pad;

		if (is_max)
			for (int pw = first; pw < last; pw++)
				r[pw] = combine(true, r[pw], tap[pw * s]);
		else
			for (int pw = first; pw < last; pw++)
				r[pw] += tap[pw * s];
	}
}

static void
forward_plane(void *arg, int pl, int worker)
{
	const pool_job *j = arg;
	const pgs_pool_desc *d = j->d;
	int			h = d->x.h,
				w = d->x.w,
				p = j->out.h,
				q = j->out.w;
	bool		is_max = d->mode == PGS_POOL_MAX;
	const float *in = j->x + (size_t) pl * h * w;
	float	   *out = j->y + (size_t) pl * p * q;
	float	   *rows = j->scratch + (size_t) worker * h * q;

	for (int ih = 0; ih < h; ih++)
		reduce_row(j, is_max, in + (size_t) ih * w, rows + (size_t) ih * q);
	/* Column pass, contiguous over pw: the window's first row initialises, the others combine. */
	for (int ph = 0; ph < p; ph++)
	{
		const window_axis *r = &j->rows[ph];
		float	   *o = out + (size_t) ph * q;
		const float *first = rows + (size_t) r->lo * q;

		for (int pw = 0; pw < q; pw++)
			o[pw] = first[pw];
		for (int ih = r->lo + 1; ih < r->hi; ih++)
		{
			const float *src = rows + (size_t) ih * q;

			if (is_max)
				for (int pw = 0; pw < q; pw++)
					o[pw] = combine(true, o[pw], src[pw]);
			else
				for (int pw = 0; pw < q; pw++)
					o[pw] += src[pw];
		}
		if (!is_max)
			for (int pw = 0; pw < q; pw++)
				o[pw] /= r->count * j->col_counts[pw];
	}
}

/* Row pass of the average's backward, the adjoint of reduce_row's sum: out[iw] += r[pw] over each window. */
static void
scatter_row(const pool_job *j, const float *r, float *out)
{
	const pgs_pool_desc *d = j->d;
	int			q = j->out.w,
				s = d->stride_w,
				k = d->kernel_w,
				pad = d->pad_w;
	int			first,
				last;

	interior_columns(j, &first, &last);
	for (int pw = 0; pw < q; pw++)
	{
		if (pw == first)
			pw = last;
		if (pw >= q)
			break;
		for (int iw = j->cols[pw].lo; iw < j->cols[pw].hi; iw++)
			out[iw] += r[pw];
	}
	for (int t = 0; t < k && first < last; t++)
	{
		float	   *tap = out + t - pad;

		/* Stride 1 (the same-size pools of Inception blocks) separately: with a known stride it vectorises. */
		if (s == 1)
			for (int pw = first; pw < last; pw++)
				tap[pw] += r[pw];
		else
			for (int pw = first; pw < last; pw++)
				tap[pw * s] += r[pw];
	}
}

/* Average: dy / divisor scattered up the columns into an H × Q scratch, then along each row into dx. */
static void
backward_average_plane(const pool_job *j, int pl, int worker)
{
	const pgs_pool_desc *d = j->d;
	int			h = d->x.h,
				w = d->x.w,
				p = j->out.h,
				q = j->out.w;
	const float *g = j->dy + (size_t) pl * p * q;
	float	   *gi = j->dx + (size_t) pl * h * w;
	float	   *rows = j->scratch + (size_t) worker * h * q;

	for (size_t i = 0; i < (size_t) h * q; i++)
		rows[i] = 0.0f;
	for (int ph = 0; ph < p; ph++)
	{
		const window_axis *r = &j->rows[ph];
		const float *src = g + (size_t) ph * q;

		for (int ih = r->lo; ih < r->hi; ih++)
		{
			float	   *dst = rows + (size_t) ih * q;

			/* Divided, not multiplied by an inverse: the rounding PyTorch's kernel has. */
			for (int pw = 0; pw < q; pw++)
				dst[pw] += src[pw] / (r->count * j->col_counts[pw]);
		}
	}
	for (int ih = 0; ih < h; ih++)
		scatter_row(j, rows + (size_t) ih * q, gi + (size_t) ih * w);
}

static inline uint32_t
float_bits(float v)
{
	uint32_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits;
}

/*
 * Max: each window's gradient goes to its first maximum in row-major order, as PyTorch's argmax. The
 * forward output is that element's value, bit for bit (forward keeps the first of equal values, and its
 * rows-then-columns order finds the same element), so the window is scanned backwards comparing bits with
 * a conditional move: the last hit is the first maximum, and no branch depends on the data (a search that
 * stopped at the first float-equal hit mispredicted on most windows). A NaN maximum goes to the first NaN.
 */
static void
backward_max_plane(const pool_job *j, int pl)
{
	const pgs_pool_desc *d = j->d;
	int			w = d->x.w,
				p = j->out.h,
				q = j->out.w;
	const float *in = j->x + (size_t) pl * d->x.h * w;
	const float *out = j->y + (size_t) pl * p * q;
	const float *g = j->dy + (size_t) pl * p * q;
	float	   *gi = j->dx + (size_t) pl * d->x.h * w;

	for (int ph = 0; ph < p; ph++)
	{
		const window_axis *r = &j->rows[ph];

		for (int pw = 0; pw < q; pw++)
		{
			const window_axis *c = &j->cols[pw];
			float		target = out[(size_t) ph * q + pw];
			int			best = r->lo * w + c->lo;

			if (target == target)
			{
				/* The bits of the first maximum: ties (0 and −0 included) resolve as forward did. */
				uint32_t	bits = float_bits(target);

				for (int ih = r->hi - 1; ih >= r->lo; ih--)
					for (int iw = c->hi - 1; iw >= c->lo; iw--)
						best = float_bits(in[ih * w + iw]) == bits ? ih * w + iw : best;
			}
			else
				for (int ih = r->hi - 1; ih >= r->lo; ih--)
					for (int iw = c->hi - 1; iw >= c->lo; iw--)
						best = in[ih * w + iw] != in[ih * w + iw] ? ih * w + iw : best;
			gi[best] += g[(size_t) ph * q + pw];
		}
	}
}

static void
backward_plane(void *arg, int pl, int worker)
{
	const pool_job *j = arg;

	if (j->d->mode == PGS_POOL_MAX)
		backward_max_plane(j, pl);
	else
		backward_average_plane(j, pl, worker);
}

static void
finish(pool_job *job)
{
	free(job->rows);
	free(job->cols);
	free(job->col_counts);
	free(job->scratch);
}

/* Window tables and per-worker scratch for one call. */
static pgs_status
prepare(const pgs_pool_desc *d, pool_job *job, int *workers, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_check_pool_desc(d, err)) != PGS_OK)
		return st;
	job->d = d;
	job->out = pgs_pool_output_shape(d);
	*workers = pgs_shape4_numel(&d->x) < PARALLEL_MIN ? 1 : pgs_cpu_thread_count();
	job->rows = malloc((size_t) job->out.h * sizeof(window_axis));
	job->cols = malloc((size_t) job->out.w * sizeof(window_axis));
	job->col_counts = malloc((size_t) job->out.w * sizeof(float));
	job->scratch = malloc((size_t) *workers * d->x.h * job->out.w * sizeof(float));
	if (job->rows == NULL || job->cols == NULL || job->col_counts == NULL || job->scratch == NULL)
	{
		finish(job);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for pooling");
	}
	plan_axis(job->rows, job->out.h, d->x.h, d->kernel_h, d->stride_h, d->pad_h, d->mode);
	plan_axis(job->cols, job->out.w, d->x.w, d->kernel_w, d->stride_w, d->pad_w, d->mode);
	for (int pw = 0; pw < job->out.w; pw++)
		job->col_counts[pw] = job->cols[pw].count;
	return PGS_OK;
}


pgs_status
pgs_cpu_pool_forward(void *ctx, const pgs_pool_desc *d, const float *x, float *y, pgs_error *err)
{
	pool_job	job = {.x = x, .y = y};
	int			workers;
	pgs_status	st;

	if ((st = prepare(d, &job, &workers, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.n * d->x.c, workers, forward_plane, &job);
	finish(&job);
	return PGS_OK;
}

pgs_status
pgs_cpu_pool_backward(void *ctx, const pgs_pool_desc *d, const float *x, const float *y, const float *dy,
					  float *dx, pgs_error *err)
{
	pool_job	job = {.x = x, .y = (float *) y, .dy = dy, .dx = dx};
	int			workers;
	pgs_status	st;

	if ((st = prepare(d, &job, &workers, err)) != PGS_OK)
		return st;
	pgs_parallel_for(d->x.n * d->x.c, workers, backward_plane, &job);
	finish(&job);
	return PGS_OK;
}
