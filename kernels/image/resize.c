/* Bilinear resize of 8-bit images with OpenCV's INTER_LINEAR arithmetic, so replicated pipelines match it. */
#include "imgproc.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define COEF_BITS 11
#define COEF_ONE (1 << COEF_BITS)

int
pgs_resize_length(int length, double factor)
{
	return (int) lrint(length * factor);
}

/*
 * Source index and fixed-point weights for each output position along one axis. OpenCV computes the
 * position in double, rounds it to float, and rounds each weight separately to 11 bits; so do we. Along x
 * a position outside the image is clamped to the edge pixel with weight 1; along y OpenCV keeps the weights
 * and clips the row indices instead (both rows are then the edge row), which rounds differently by one
 * level now and then, so the axes differ here too.
 */
static void
axis_weights(int src_len, int dst_len, double scale, double offset, bool clamp_weights, int *index, short *weights)
{
	for (int d = 0; d < dst_len; d++)
	{
		float		f = (float) ((d + 0.5) * scale - 0.5 + offset);
		int			s = (int) floorf(f);

		f -= (float) s;
		if (clamp_weights && s < 0)
		{
			f = 0.0f;
			s = 0;
		}
		if (clamp_weights && s >= src_len - 1)
		{
			f = 0.0f;
			s = src_len - 1;
		}
		index[d] = s;
		weights[2 * d] = (short) lrintf((1.0f - f) * COEF_ONE);
		weights[2 * d + 1] = (short) lrintf(f * COEF_ONE);
	}
}

/* One source row resized horizontally into fixed-point sums (scale 2^11). */
static void
resize_row(const uint8_t *src, int src_w, int channels, int dst_w, const int *xofs, const short *alpha,
		   int *out)
{
	for (int d = 0; d < dst_w; d++)
	{
		const uint8_t *p = src + (size_t) xofs[d] * channels;
		int			a0 = alpha[2 * d],
					a1 = alpha[2 * d + 1];

		if (xofs[d] + 1 < src_w)
			for (int c = 0; c < channels; c++)
				out[d * channels + c] = p[c] * a0 + p[c + channels] * a1;
		else
			for (int c = 0; c < channels; c++)
				out[d * channels + c] = p[c] * COEF_ONE;
	}
}

static int
clip_row(int y, int rows)
{
	return y < 0 ? 0 : y >= rows ? rows - 1 : y;
}

/* OpenCV's INTER_AREA fast path, which it takes for an exact halving requested as INTER_LINEAR. */
static void
halve(const uint8_t *src, size_t src_stride, int channels, uint8_t *dst, int dst_w, int dst_h, size_t dst_stride)
{
	for (int y = 0; y < dst_h; y++)
	{
		const uint8_t *r0 = src + (size_t) (2 * y) * src_stride;
		const uint8_t *r1 = r0 + src_stride;
		uint8_t    *out = dst + (size_t) y * dst_stride;

		for (int x = 0; x < dst_w; x++)
			for (int c = 0; c < channels; c++)
			{
				size_t		i = (size_t) (2 * x) * channels + c;

				out[x * channels + c] = (uint8_t) ((r0[i] + r0[i + channels] + r1[i] + r1[i + channels] + 2) >> 2);
			}
	}
}

pgs_status
pgs_resize_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride, int channels,
					   uint8_t *dst, int dst_w, int dst_h, size_t dst_stride, double factor_x, double factor_y,
					   pgs_error *err)
{
	if (!(factor_x > 0) || !(factor_y > 0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid resize from %d×%d to %d×%d", src_w, src_h,
						dst_w, dst_h);
	if (factor_x == 0.5 && factor_y == 0.5 && src_w == 2 * dst_w && src_h == 2 * dst_h && src_w > 0 && src_h > 0 &&
		channels > 0)
	{
		halve(src, src_stride, channels, dst, dst_w, dst_h, dst_stride);
		return PGS_OK;
	}
	return pgs_resample_bilinear_u8(src, src_w, src_h, src_stride, channels, dst, dst_w, dst_h, dst_stride,
									1.0 / factor_x, 0.0, 1.0 / factor_y, 0.0, err);
}

pgs_status
pgs_resample_bilinear_u8(const uint8_t *src, int src_w, int src_h, size_t src_stride, int channels,
						 uint8_t *dst, int dst_w, int dst_h, size_t dst_stride, double scale_x, double offset_x,
						 double scale_y, double offset_y, pgs_error *err)
{
	int		   *xofs,
			   *yofs,
			   *rows;
	short	   *alpha,
			   *beta;
	int			cached[2] = {-1, -1};
	size_t		row_len = (size_t) dst_w * channels;
	pgs_status	st = PGS_OK;

	if (src_w <= 0 || src_h <= 0 || dst_w <= 0 || dst_h <= 0 || channels <= 0 || !(scale_x > 0) || !(scale_y > 0) ||
		!isfinite(offset_x) || !isfinite(offset_y))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid resize from %d×%d to %d×%d", src_w, src_h,
						dst_w, dst_h);

	xofs = malloc(sizeof(int) * (size_t) dst_w);
	yofs = malloc(sizeof(int) * (size_t) dst_h);
	alpha = malloc(sizeof(short) * 2 * (size_t) dst_w);
	beta = malloc(sizeof(short) * 2 * (size_t) dst_h);
	rows = malloc(sizeof(int) * 2 * row_len);
	if (xofs == NULL || yofs == NULL || alpha == NULL || beta == NULL || rows == NULL)
	{
		free(xofs);
		free(yofs);
		free(alpha);
		free(beta);
		free(rows);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate resize buffers");
	}
	axis_weights(src_w, dst_w, scale_x, offset_x, true, xofs, alpha);
	axis_weights(src_h, dst_h, scale_y, offset_y, false, yofs, beta);

	for (int dy = 0; dy < dst_h; dy++)
	{
		int			sy[2] = {clip_row(yofs[dy], src_h), clip_row(yofs[dy] + 1, src_h)};
		int		   *row[2];
		int			b0 = beta[2 * dy],
					b1 = beta[2 * dy + 1];
		uint8_t    *out = dst + (size_t) dy * dst_stride;

		if (dy % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			break;
		/* Consecutive output rows mostly share source rows: keep the two last resized rows. */
		for (int k = 0; k < 2; k++)
		{
			int			slot = cached[0] == sy[k] ? 0 : cached[1] == sy[k] ? 1 : -1;

			if (slot < 0)
			{
				slot = (k == 0) ? (cached[1] == sy[1] ? 0 : 1) : (cached[0] == sy[0] ? 1 : 0);
				resize_row(src + (size_t) sy[k] * src_stride, src_w, channels, dst_w, xofs, alpha,
						   rows + slot * row_len);
				cached[slot] = sy[k];
			}
			row[k] = rows + slot * row_len;
		}
		for (size_t i = 0; i < row_len; i++)
			out[i] = (uint8_t) ((((b0 * (row[0][i] >> 4)) >> 16) + ((b1 * (row[1][i] >> 4)) >> 16) + 2) >> 2);
	}
	free(xofs);
	free(yofs);
	free(alpha);
	free(beta);
	free(rows);
	return st;
}
