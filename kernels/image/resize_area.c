/* Resizing one float channel: area averaging where it shrinks (no aliasing), linear where it grows. */
#include "imgproc.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/*
 * The weights of one axis as a sparse matrix: output i takes `count[i]` source samples from `first[i]` on
 * with weights `w[offset[i] ...]`. Shrinking: output i covers source [i·s, (i + 1)·s), s = src/dst, and each
 * source pixel contributes the share of it that lies inside. Growing: pixel centres map as
 * (i + 0.5)·s − 0.5, clamped, between two neighbours.
 */
typedef struct axis_map
{
	int		   *first;
	int		   *count;
	int		   *offset;
	float	   *w;
} axis_map;

static void
axis_free(axis_map *m)
{
	free(m->first);
	free(m->count);
	free(m->offset);
	free(m->w);
}

static bool
axis_init(axis_map *m, int src, int dst)
{
	double		s = (double) src / dst;
	int			per = s > 1.0 ? (int) ceil(s) + 1 : 2;
	int			k = 0;

	m->first = malloc(sizeof(int) * dst);
	m->count = malloc(sizeof(int) * dst);
	m->offset = malloc(sizeof(int) * dst);
	m->w = malloc(sizeof(float) * (size_t) dst * per);
	if (m->first == NULL || m->count == NULL || m->offset == NULL || m->w == NULL)
		return false;
	for (int i = 0; i < dst; i++)
	{
		m->offset[i] = k;
		if (s > 1.0)
		{
			double		lo = i * s,
						hi = (i + 1) * s;
			int			a = (int) floor(lo),
						b = (int) ceil(hi) - 1;

			b = b >= src ? src - 1 : b;
			m->first[i] = a;
			m->count[i] = b - a + 1;
			for (int j = a; j <= b; j++)
				m->w[k++] = (float) ((fmin(hi, j + 1.0) - fmax(lo, (double) j)) / s);
		}
		else
		{
			double		pos = (i + 0.5) * s - 0.5;
			int			a = (int) floor(pos);
			double		f = pos - a;

			if (a < 0)
				a = 0, f = 0;
			if (a >= src - 1)
				a = src - 1, f = 0;
			m->first[i] = a;
			m->count[i] = f > 0 ? 2 : 1;
			m->w[k++] = (float) (1.0 - f);
			if (f > 0)
				m->w[k++] = (float) f;
		}
	}
	return true;
}

pgs_status
pgs_resize_area_f32(const float *src, int src_w, int src_h, float *dst, int dst_w, int dst_h, pgs_error *err)
{
	axis_map	mx = {0},
				my = {0};
	float	   *rows;
	pgs_status	st = PGS_OK;

	if (src_w <= 0 || src_h <= 0 || dst_w <= 0 || dst_h <= 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid resize from %d×%d to %d×%d", src_w, src_h, dst_w, dst_h);
	rows = malloc(sizeof(float) * (size_t) dst_w * src_h);
	if (rows == NULL || !axis_init(&mx, src_w, dst_w) || !axis_init(&my, src_h, dst_h))
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate resize buffers");
	else
	{
		/* horizontal pass over every source row, then vertical */
		for (int y = 0; y < src_h; y++)
		{
			if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
				break;
			for (int i = 0; i < dst_w; i++)
			{
				const float *s = src + (size_t) y * src_w + mx.first[i];
				const float *w = mx.w + mx.offset[i];
				float		acc = 0.0f;

				for (int j = 0; j < mx.count[i]; j++)
					acc += w[j] * s[j];
				rows[(size_t) y * dst_w + i] = acc;
			}
		}
		for (int i = 0; i < dst_h && st == PGS_OK; i++)
		{
			const float *w = my.w + my.offset[i];
			float	   *out = dst + (size_t) i * dst_w;

			for (int x = 0; x < dst_w; x++)
				out[x] = 0.0f;
			for (int j = 0; j < my.count[i]; j++)
			{
				const float *r = rows + (size_t) (my.first[i] + j) * dst_w;

				for (int x = 0; x < dst_w; x++)
					out[x] += w[j] * r[x];
			}
		}
	}
	free(rows);
	axis_free(&mx);
	axis_free(&my);
	return st;
}
