/* Regions of a binary mask: the largest (the breast in a thresholded mammogram), the others by size. */
#include "geometry.h"
#include "../common/cancel.h"

#include <stdlib.h>
#include <string.h>

/* Padded working values: 1 unvisited, 2 visited; then 4 the largest, 5 small others, 6 large others. */
enum
{
	UNVISITED = 1,
	VISITED = 2,
	LARGEST = 4,
	SMALL = 5,
	LARGE = 6
};

static void
load_padded(uint8_t *padded, const uint8_t *mask, int width, int height)
{
	size_t		stride = (size_t) width + 2;

	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++)
			padded[(size_t) (y + 1) * stride + x + 1] = mask[(size_t) y * width + x] != 0 ? UNVISITED : 0;
}

static pgs_status
find_largest(uint8_t *padded, int width, int height, pgs_fill_stack *stack, pgs_component *out, int *seed_x,
			 int *seed_y, pgs_error *err)
{
	size_t		stride = (size_t) width + 2;
	pgs_region_stats region;
	pgs_status	st;

	for (int y = 1; y <= height; y++)
	{
		if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		for (int x = 1; x <= width; x++)
		{
			if (padded[(size_t) y * stride + x] != UNVISITED)
				continue;
			if ((st = pgs_fill_region(padded, width, x, y, UNVISITED, VISITED, stack, &region, err)) != PGS_OK)
				return st;
			if (region.pixels > out->pixels)
			{
				*seed_x = x;
				*seed_y = y;
				out->x0 = region.x0 - 1;
				out->y0 = region.y0 - 1;
				out->x1 = region.x1 - 1;
				out->y1 = region.y1 - 1;
				out->pixels = region.pixels;
				out->left_pixels = region.left_pixels;
				out->right_pixels = region.right_pixels;
			}
		}
	}
	return PGS_OK;
}

/* Second pass on a fresh copy: the largest region first, then every other one sorted by its size. */
static pgs_status
label_regions(uint8_t *padded, int width, int height, int seed_x, int seed_y, int64_t min_other,
			  pgs_fill_stack *stack, pgs_error *err)
{
	size_t		stride = (size_t) width + 2;
	pgs_region_stats region;
	pgs_status	st;

	if ((st = pgs_fill_region(padded, width, seed_x, seed_y, UNVISITED, LARGEST, stack, NULL, err)) != PGS_OK)
		return st;
	for (int y = 1; y <= height; y++)
	{
		if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		for (int x = 1; x <= width; x++)
		{
			if (padded[(size_t) y * stride + x] != UNVISITED)
				continue;
			if ((st = pgs_fill_region(padded, width, x, y, UNVISITED, SMALL, stack, &region, err)) != PGS_OK ||
				(region.pixels >= min_other &&
				 (st = pgs_fill_region(padded, width, x, y, SMALL, LARGE, stack, NULL, err)) != PGS_OK))
				return st;
		}
	}
	return PGS_OK;
}

pgs_status
pgs_classify_regions(uint8_t *mask, int width, int height, int64_t min_other, pgs_component *out, pgs_error *err)
{
	size_t		stride = (size_t) width + 2;
	uint8_t    *padded;
	pgs_fill_stack stack = {0};
	int			seed_x = 0,
				seed_y = 0;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	if (width <= 0 || height <= 0)
		return PGS_OK;
	if ((padded = calloc(stride * ((size_t) height + 2), 1)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d mask", width, height);
	load_padded(padded, mask, width, height);
	st = find_largest(padded, width, height, &stack, out, &seed_x, &seed_y, err);
	if (st == PGS_OK && out->pixels > 0)
	{
		load_padded(padded, mask, width, height);
		st = label_regions(padded, width, height, seed_x, seed_y, min_other, &stack, err);
	}
	for (int y = 0; y < height && st == PGS_OK; y++)
		for (int x = 0; x < width; x++)
		{
			uint8_t		v = padded[(size_t) (y + 1) * stride + x + 1];

			mask[(size_t) y * width + x] = v == LARGEST ? PGS_REGION_LARGEST : v == LARGE ? PGS_REGION_OTHER
				: v == SMALL ? PGS_REGION_SMALL : PGS_REGION_BACKGROUND;
		}
	free(padded);
	free(stack.xy);
	return st;
}
