/* Scanline flood fill of 8-connected regions on a zero-framed mask, with optional region statistics. */
#include "geometry.h"
#include "../common/cancel.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool
fill_push(pgs_fill_stack *stack, int x, int y)
{
	if (stack->count + 2 > stack->capacity)
	{
		size_t		cap = stack->capacity ? 2 * stack->capacity : 1024;
		int		   *grown = realloc(stack->xy, cap * sizeof(int));

		if (grown == NULL)
			return false;
		stack->xy = grown;
		stack->capacity = cap;
	}
	stack->xy[stack->count++] = x;
	stack->xy[stack->count++] = y;
	return true;
}

static void
note_run(pgs_region_stats *stats, int width, int y, int left, int right)
{
	/* padded column c is image column c − 1; the middle splits image columns at width / 2 */
	int			middle = width / 2 + 1;
	int			n_left = left < middle ? (right < middle ? right : middle - 1) - left + 1 : 0;

	stats->x0 = left < stats->x0 ? left : stats->x0;
	stats->x1 = right > stats->x1 ? right : stats->x1;
	stats->y0 = y < stats->y0 ? y : stats->y0;
	stats->y1 = y > stats->y1 ? y : stats->y1;
	stats->pixels += right - left + 1;
	stats->left_pixels += n_left;
	stats->right_pixels += right - left + 1 - n_left;
}

pgs_status
pgs_fill_region(uint8_t *padded, int width, int x, int y, uint8_t from, uint8_t to, pgs_fill_stack *stack,
				pgs_region_stats *stats, pgs_error *err)
{
	size_t		stride = (size_t) width + 2;
	size_t		runs = 0;
	pgs_status	st;

	if (stats != NULL)
	{
		memset(stats, 0, sizeof(*stats));
		stats->x0 = stats->y0 = INT32_MAX;
	}
	stack->count = 0;
	if (!fill_push(stack, x, y))
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the region fill stack");
	while (stack->count > 0)
	{
		int			cy = stack->xy[--stack->count];
		int			cx = stack->xy[--stack->count];
		uint8_t    *row = padded + (size_t) cy * stride;
		int			left = cx,
					right = cx;

		if (row[cx] != from)
			continue;
		/* a run is at most a row: as often as the row loops check */
		if (++runs % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		while (row[left - 1] == from)
			left--;
		while (row[right + 1] == from)
			right++;
		memset(row + left, to, (size_t) (right - left + 1));
		if (stats != NULL)
			note_run(stats, width, cy, left, right);
		for (int ny = cy - 1; ny <= cy + 1; ny += 2)
		{
			const uint8_t *next = padded + (size_t) ny * stride;
			bool		in_run = false;

			for (int nx = left - 1; nx <= right + 1; nx++)
			{
				if (next[nx] == from && !in_run && !fill_push(stack, nx, ny))
					return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the region fill stack");
				in_run = next[nx] == from;
			}
		}
	}
	return PGS_OK;
}
