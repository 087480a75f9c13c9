/* CPU convolution: im2col + GEMM (a 1×1 stride-1 convolution is a plain GEMM), parallel over tiles. */
#include "cpu_layers.h"
#include "cpu_parallel.h"
#include "gemm.h"
#include "../device/layer_shapes.h"

#include <string.h>

/*
 * Per image n, with col the (C·R·S) × (P·Q) matrix of input patches, forward is y_n = w · col, backward is
 * dw += dy_n · colᵀ and dcol = wᵀ · dy_n scattered back into dx_n (col2im). The work is cut into tiles that
 * each thread does alone with a serial GEMM and its own slice of the workspace:
 *   forward  — (image, block of output columns): patches of that block only, then a GEMM into y;
 *   dw       — blocks of input channels (rows of dw), summing over images in order: no two threads write
 *              the same weight and the sum order never changes, so results are reproducible;
 *   dx       — (image, block of input channels): a GEMM for those rows of dcol, then col2im into them.
 */

/* Scratch per thread is capped near this many floats (8 MiB), one channel at least. */
#define TILE_FLOATS (1 << 21)

typedef struct conv_geometry
{
	int			n,
				c,
				h,
				w,
				k,
				r,
				s,
				p,
				q,
				stride_h,
				stride_w,
				pad_h,
				pad_w;
	int			rs;				/* r·s */
	int			crs;			/* rows of col */
	int			pq;				/* columns of col */
	int			hw;
	bool		direct;			/* 1×1, stride 1, no padding: col is the input itself */
} conv_geometry;

typedef struct conv_tiling
{
	int			columns;		/* forward: output columns per tile */
	int			channels;		/* backward: input channels per tile */
	size_t		floats_per_thread;	/* scratch */
} conv_tiling;

static conv_geometry
geometry_of(const pgs_conv_desc *d)
{
	conv_geometry g;

	g.n = d->x.n;
	g.c = d->x.c;
	g.h = d->x.h;
	g.w = d->x.w;
	g.k = d->c_out;
	g.r = d->kernel_h;
	g.s = d->kernel_w;
	g.stride_h = d->stride_h;
	g.stride_w = d->stride_w;
	g.pad_h = d->pad_h;
	g.pad_w = d->pad_w;
	g.p = pgs_window_output_size(g.h, g.r, g.stride_h, g.pad_h);
	g.q = pgs_window_output_size(g.w, g.s, g.stride_w, g.pad_w);
	g.rs = g.r * g.s;
	g.crs = g.c * g.rs;
	g.pq = g.p * g.q;
	g.hw = g.h * g.w;
	g.direct = g.rs == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
	return g;
}

static int
ceil_div(int a, int b)
{
	return (a + b - 1) / b;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

static int
max_int(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Forward tiles of at most TILE_COLUMNS output columns, none larger than the scratch cap. The width depends
 * on the layer's geometry only, never on the batch size or the thread count: each output is then summed in
 * the same order however the images are batched and on however many cores, so an image scores the same
 * alone (predict) as in a batch (score), on any machine. Tiles of 256 columns still leave several per
 * image to share among threads in the large early layers.
 */
#define TILE_COLUMNS 256

static conv_tiling
tiling_of(const conv_geometry *g, int threads)
{
	conv_tiling t;
	int			tiles_per_image = ceil_div(g->pq, TILE_COLUMNS);
	size_t		backward_floats;

	t.columns = ceil_div(g->pq, tiles_per_image);
	t.columns = min_int(t.columns, max_int(16, TILE_FLOATS / g->crs));
	t.columns = max_int(min_int(t.columns, g->pq), 1);
	t.channels = min_int(ceil_div(g->c, threads), max_int(1, TILE_FLOATS / (g->rs * g->pq)));
	backward_floats = (size_t) t.channels * g->rs * g->pq;
	t.floats_per_thread = g->direct ? 0 : (size_t) g->crs * t.columns;
	if (!g->direct && backward_floats > t.floats_per_thread)
		t.floats_per_thread = backward_floats;
	/* Keep every thread's slice on its own cache lines. */
	t.floats_per_thread = (t.floats_per_thread + 15) & ~(size_t) 15;
	return t;
}

/* The q-range [*lo, *hi) whose input column q·stride − pad + offset lies inside [0, width). */
static void
valid_columns(int q_begin, int q_end, int stride, int pad, int offset, int width, int *lo, int *hi)
{
	int			first = pad - offset;	/* smallest q·stride allowed */
	int			limit = width + pad - offset;	/* q·stride must stay below this */
	int			a = first <= 0 ? 0 : ceil_div(first, stride);
	int			b = limit <= 0 ? 0 : ceil_div(limit, stride);

	*lo = max_int(q_begin, a);
	*hi = max_int(*lo, min_int(q_end, b));
}

/*
 * col[(cc·R + r)·S + s][j − j0] for channels c0 ≤ cc + c0 < c1 and output columns j0 ≤ j < j1 of one image:
 * the input element under filter tap (r, s) at output position j, or 0 in the padding.
 */
static void
im2col_block(const conv_geometry *g, const float *x, int c0, int c1, int j0, int j1, float *col)
{
	int			width = j1 - j0;

	for (int c = c0; c < c1; c++)
		for (int r = 0; r < g->r; r++)
			for (int s = 0; s < g->s; s++)
			{
				float	   *dst = col + ((size_t) (c - c0) * g->rs + r * g->s + s) * width;
				const float *plane = x + (size_t) c * g->hw;

				for (int j = j0; j < j1;)
				{
					int			p = j / g->q;
					int			q0 = j % g->q;
					int			q1 = min_int(g->q, q0 + (j1 - j));
					int			ih = p * g->stride_h - g->pad_h + r;
					float	   *out = dst + (j - j0) - q0;	/* indexed by q */
					int			lo,
								hi;

					if (ih < 0 || ih >= g->h)
						memset(out + q0, 0, (size_t) (q1 - q0) * sizeof(float));
					else
					{
						const float *row = plane + (size_t) ih * g->w + s - g->pad_w;

						valid_columns(q0, q1, g->stride_w, g->pad_w, s, g->w, &lo, &hi);
						for (int q = q0; q < lo; q++)
							out[q] = 0.0f;
						if (g->stride_w == 1)
							memcpy(out + lo, row + lo, (size_t) (hi - lo) * sizeof(float));
						else
							for (int q = lo; q < hi; q++)
								out[q] = row[q * g->stride_w];
						for (int q = hi; q < q1; q++)
							out[q] = 0.0f;
					}
					j += q1 - q0;
				}
			}
}

/* The adjoint of im2col_block over all columns: dx[c][ih][iw] += dcol[...] for channels [c0, c1). */
static void
col2im_add(const conv_geometry *g, const float *col, int c0, int c1, float *dx)
{
	for (int c = c0; c < c1; c++)
		for (int r = 0; r < g->r; r++)
			for (int s = 0; s < g->s; s++)
			{
				const float *src = col + ((size_t) (c - c0) * g->rs + r * g->s + s) * g->pq;
				float	   *plane = dx + (size_t) c * g->hw;
				int			lo,
							hi;

				valid_columns(0, g->q, g->stride_w, g->pad_w, s, g->w, &lo, &hi);
				for (int p = 0; p < g->p; p++)
				{
					int			ih = p * g->stride_h - g->pad_h + r;
					const float *in = src + (size_t) p * g->q;
					float	   *row;

					if (ih < 0 || ih >= g->h)
						continue;
					row = plane + (size_t) ih * g->w + s - g->pad_w;
					if (g->stride_w == 1)
						for (int q = lo; q < hi; q++)
							row[q] += in[q];
					else
						for (int q = lo; q < hi; q++)
							row[q * g->stride_w] += in[q];
				}
			}
}

pgs_status
pgs_cpu_conv_workspace(void *ctx, const pgs_conv_desc *d, size_t *bytes, pgs_error *err)
{
	pgs_status	st;
	conv_geometry g;

	*bytes = 0;
	if ((st = pgs_check_conv_desc(d, err)) != PGS_OK)
		return st;
	g = geometry_of(d);
	*bytes = tiling_of(&g, pgs_cpu_thread_count()).floats_per_thread * pgs_cpu_thread_count() * sizeof(float);
	return PGS_OK;
}

/* Below this many multiply-adds one thread does the whole convolution: waking others would cost more. */
#define PARALLEL_MIN_MACS 1000000

/* How many threads the workspace can feed (each needs its own slice), and the work deserves. */
static pgs_status
workers_for(const conv_geometry *g, const conv_tiling *t, size_t workspace_bytes, int *workers, pgs_error *err)
{
	size_t		per_thread = t->floats_per_thread * sizeof(float);
	double		macs = (double) g->n * g->k * g->crs * g->pq;
	int			threads = macs < PARALLEL_MIN_MACS ? 1 : pgs_cpu_thread_count();

	if (per_thread == 0)
	{
		*workers = threads;
		return PGS_OK;
	}
	if (workspace_bytes / per_thread < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"convolution workspace of %zu bytes is too small (%zu needed)", workspace_bytes,
						per_thread);
	*workers = workspace_bytes / per_thread < (size_t) threads ? (int) (workspace_bytes / per_thread) : threads;
	return PGS_OK;
}

/* What the tile functions need: one struct serves the three parallel loops. */
typedef struct conv_job
{
	conv_geometry g;
	conv_tiling t;
	int			workers;		/* threads the workspace and the work allow */
	const float *x;
	const float *w;
	const float *dy;
	float	   *y;
	float	   *dx;
	float	   *dw;
	float	   *workspace;
	int			tiles_per_image;	/* forward: column blocks per image */
	int			blocks;			/* backward: channel blocks */
} conv_job;

static void
forward_tile(void *arg, int tile, int worker)
{
	const conv_job *j = arg;
	const conv_geometry *g = &j->g;
	int			n = tile / j->tiles_per_image;
	int			j0 = (tile % j->tiles_per_image) * j->t.columns;
	int			j1 = min_int(g->pq, j0 + j->t.columns);
	const float *x_n = j->x + (size_t) n * g->c * g->hw;
	float	   *y_n = j->y + (size_t) n * g->k * g->pq;

	if (g->direct)
		pgs_sgemm(false, false, g->k, j1 - j0, g->c, 1.0f, j->w, g->c, x_n + j0, g->hw, 0.0f, y_n + j0, g->pq);
	else
	{
		float	   *col = j->workspace + (size_t) worker * j->t.floats_per_thread;

		im2col_block(g, x_n, 0, g->c, j0, j1, col);
		pgs_sgemm(false, false, g->k, j1 - j0, g->crs, 1.0f, j->w, g->crs, col, j1 - j0, 0.0f, y_n + j0, g->pq);
	}
}

/* What forward and backward share: the checks, the geometry, the tiling, and how many threads. */
static pgs_status
prepare(const pgs_conv_desc *d, void *workspace, size_t workspace_bytes, conv_job *job, pgs_error *err)
{
	pgs_status	st;

	memset(job, 0, sizeof(*job));
	if ((st = pgs_check_conv_desc(d, err)) != PGS_OK)
		return st;
	job->g = geometry_of(d);
	job->t = tiling_of(&job->g, pgs_cpu_thread_count());
	if ((st = workers_for(&job->g, &job->t, workspace_bytes, &job->workers, err)) != PGS_OK)
		return st;
	job->workspace = workspace;
	/* Loads OpenBLAS now, in this thread, before the pool's threads call it. */
	pgs_gemm_use(PGS_GEMM_AUTO);
	return PGS_OK;
}

pgs_status
pgs_cpu_conv_forward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, float *y,
					 void *workspace, size_t workspace_bytes, pgs_error *err)
{
	conv_job	job;
	pgs_status	st;

	if ((st = prepare(d, workspace, workspace_bytes, &job, err)) != PGS_OK)
		return st;
	job.x = x;
	job.w = w;
	job.y = y;
	job.tiles_per_image = ceil_div(job.g.pq, job.t.columns);
	pgs_parallel_for(job.g.n * job.tiles_per_image, job.workers, forward_tile, &job);
	return PGS_OK;
}

static void
weight_gradient_block(void *arg, int block, int worker)
{
	const conv_job *j = arg;
	const conv_geometry *g = &j->g;
	int			c0 = block * j->t.channels;
	int			c1 = min_int(g->c, c0 + j->t.channels);
	float	   *col = j->workspace + (size_t) worker * j->t.floats_per_thread;

	for (int n = 0; n < g->n; n++)
	{
		const float *x_n = j->x + (size_t) n * g->c * g->hw;
		const float *dy_n = j->dy + (size_t) n * g->k * g->pq;

		if (g->direct)
			pgs_sgemm(false, true, g->k, c1 - c0, g->pq, 1.0f, dy_n, g->pq, x_n + (size_t) c0 * g->hw, g->hw, 1.0f,
					  j->dw + c0, g->c);
		else
		{
			im2col_block(g, x_n, c0, c1, 0, g->pq, col);
			pgs_sgemm(false, true, g->k, (c1 - c0) * g->rs, g->pq, 1.0f, dy_n, g->pq, col, g->pq, 1.0f,
					  j->dw + (size_t) c0 * g->rs, g->crs);
		}
	}
}

static void
input_gradient_tile(void *arg, int tile, int worker)
{
	const conv_job *j = arg;
	const conv_geometry *g = &j->g;
	int			n = tile / j->blocks;
	int			c0 = (tile % j->blocks) * j->t.channels;
	int			c1 = min_int(g->c, c0 + j->t.channels);
	const float *dy_n = j->dy + (size_t) n * g->k * g->pq;
	float	   *dx_n = j->dx + (size_t) n * g->c * g->hw;

	if (g->direct)
		pgs_sgemm(true, false, c1 - c0, g->pq, g->k, 1.0f, j->w + c0, g->c, dy_n, g->pq, 1.0f,
				  dx_n + (size_t) c0 * g->hw, g->hw);
	else
	{
		float	   *col = j->workspace + (size_t) worker * j->t.floats_per_thread;

		pgs_sgemm(true, false, (c1 - c0) * g->rs, g->pq, g->k, 1.0f, j->w + (size_t) c0 * g->rs, g->crs, dy_n,
				  g->pq, 0.0f, col, g->pq);
		col2im_add(g, col, c0, c1, dx_n);
	}
}

pgs_status
pgs_cpu_conv_backward(void *ctx, const pgs_conv_desc *d, const float *x, const float *w, const float *dy,
					  float *dx, float *dw, void *workspace, size_t workspace_bytes, pgs_error *err)
{
	conv_job	job;
	pgs_status	st;

	if ((st = prepare(d, workspace, workspace_bytes, &job, err)) != PGS_OK)
		return st;
	job.x = x;
	job.w = w;
	job.dy = dy;
	job.dx = dx;
	job.dw = dw;
	job.blocks = ceil_div(job.g.c, job.t.channels);
	if (dw != NULL)
		pgs_parallel_for(job.blocks, job.workers, weight_gradient_block, &job);
	if (dx != NULL)
		pgs_parallel_for(job.g.n * job.blocks, job.workers, input_gradient_tile, &job);
	return PGS_OK;
}
