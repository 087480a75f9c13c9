/* Outer contours of a binary mask: Suzuki–Abe border following, with a flood fill retiring each region. */
#include "geometry.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Directions around a pixel, numbered as in Suzuki–Abe and OpenCV: 0 is east and numbers grow
 * counter-clockwise on screen (y points down): 0 E, 1 NE, 2 N, 3 NW, 4 W, 5 SW, 6 S, 7 SE.
 */
static const int dir_dx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int dir_dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};

void
pgs_contour_free(pgs_contour *contour)
{
	free(contour->points);
	contour->points = NULL;
	contour->count = contour->capacity = 0;
}

static pgs_status
contour_append(pgs_contour *contour, int x, int y, pgs_error *err)
{
	if (contour->count == contour->capacity)
	{
		size_t		cap = contour->capacity ? 2 * contour->capacity : 256;
		pgs_point  *grown = realloc(contour->points, cap * sizeof(pgs_point));

		if (grown == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a contour of %zu points", cap);
		contour->points = grown;
		contour->capacity = cap;
	}
	contour->points[contour->count].x = x;
	contour->points[contour->count].y = y;
	contour->count++;
	return PGS_OK;
}

/*
 * Steps 3.1–3.5 of Suzuki and Abe's algorithm 1 for an outer border. Start at i0 with the background pixel
 * to the west; search clockwise for the first foreground neighbour i1 (none: an isolated pixel). Then, from
 * each border pixel i3, search counter-clockwise starting just after the pixel we came from; the first
 * foreground pixel found is the next border pixel i4. Stop when we are back at i0 having just left i1.
 */
pgs_status
pgs_trace_outer_border(const uint8_t *padded, int width, int height, int x, int y, pgs_contour *out,
					   pgs_error *err)
{
	ptrdiff_t	stride = (ptrdiff_t) width + 2;
	ptrdiff_t	delta[8];
	ptrdiff_t	i0 = (ptrdiff_t) (y + 1) * stride + (x + 1);
	ptrdiff_t	i1,
				i3,
				i4;
	int			s = 4;
	pgs_status	st;

	(void) height;
	for (int d = 0; d < 8; d++)
		delta[d] = dir_dy[d] * stride + dir_dx[d];

	do
	{
		s = (s - 1) & 7;
		i1 = i0 + delta[s];
	} while (padded[i1] == 0 && s != 4);
	if (padded[i1] == 0)
		return contour_append(out, x, y, err);

	i3 = i0;
	for (;;)
	{
		int			k;

		for (k = 1; k <= 8; k++)
		{
			i4 = i3 + delta[(s + k) & 7];
			if (padded[i4] != 0)
				break;
		}
		s = (s + k) & 7;
		if ((st = contour_append(out, x, y, err)) != PGS_OK)
			return st;
		x += dir_dx[s];
		y += dir_dy[s];
		if (i4 == i0 && i3 == i1)
			break;
		i3 = i4;
		s = (s + 4) & 7;
	}
	return PGS_OK;
}

/*
 * Scan in raster order. The first unvisited foreground pixel met is the first pixel of a new region, so its
 * west neighbour is background and it starts that region's outer border, exactly where findContours starts
 * it. Trace the border, keep it if it encloses the largest area so far, and retire the region.
 */
pgs_status
pgs_largest_outer_contour(const uint8_t *mask, int width, int height, pgs_contour *out, double *area,
						  pgs_error *err)
{
	size_t		stride = (size_t) width + 2;
	uint8_t    *padded;
	pgs_contour candidate = {0};
	pgs_fill_stack stack = {0};
	double		best_area = -1.0;
	pgs_status	st = PGS_OK;

	memset(out, 0, sizeof(*out));
	*area = 0.0;
	if (width <= 0 || height <= 0)
		return PGS_OK;
	padded = calloc(stride * ((size_t) height + 2), 1);
	if (padded == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d mask", width, height);
	for (int y = 0; y < height; y++)
	{
		const uint8_t *src = mask + (size_t) y * width;
		uint8_t    *dst = padded + (size_t) (y + 1) * stride + 1;

		for (int x = 0; x < width; x++)
			dst[x] = src[x] != 0;
	}

	for (int y = 0; y < height && st == PGS_OK; y++)
	{
		const uint8_t *row = padded + (size_t) (y + 1) * stride + 1;

		if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			break;
		for (int x = 0; x < width; x++)
		{
			double		candidate_area;

			if (row[x] != 1)
				continue;
			candidate.count = 0;
			if ((st = pgs_trace_outer_border(padded, width, height, x, y, &candidate, err)) != PGS_OK)
				break;
			candidate_area = fabs(pgs_polygon_signed_area(candidate.points, candidate.count));
			if (candidate_area > best_area)
			{
				pgs_contour swap = *out;

				*out = candidate;
				candidate = swap;
				best_area = candidate_area;
			}
			if ((st = pgs_fill_region(padded, width, x + 1, y + 1, 1, 2, &stack, NULL, err)) != PGS_OK)
				break;
		}
	}
	free(padded);
	free(stack.xy);
	pgs_contour_free(&candidate);
	if (st != PGS_OK)
	{
		pgs_contour_free(out);
		return st;
	}
	*area = best_area > 0 ? best_area : 0.0;
	return PGS_OK;
}
