/* Stopping kernels at each of their cancel points in turn, and an allocator that counts what is still held. */
#ifndef PGS_CANCEL_TESTING_H
#define PGS_CANCEL_TESTING_H

#include <stdbool.h>
#include <stdlib.h>

#include "../../kernels/common/alloc.h"
#include "../../kernels/common/cancel.h"

static int	cancel_at_point = 0;
static int	cancel_points_seen = 0;

/* From the nth cancel point on, the check says stop (as a pending interrupt stays pending). */
static bool
cancel_from_nth_point(void)
{
	return ++cancel_points_seen >= cancel_at_point;
}

/* Stop at the nth cancel point from now on; 0 removes the check. */
static inline void
cancel_arm(int nth)
{
	cancel_at_point = nth;
	cancel_points_seen = 0;
	pgs_set_cancel_check(nth > 0 ? cancel_from_nth_point : NULL);
}

static long counted_blocks = 0;

static void *
counted_alloc(void *ctx, size_t size)
{
	void	   *p = malloc(size ? size : 1);

	(void) ctx;
	counted_blocks += p != NULL;
	return p;
}

static void *
counted_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	(void) ctx;
	counted_blocks += ptr == NULL && p != NULL;
	return p;
}

static void
counted_free(void *ctx, void *ptr)
{
	(void) ctx;
	counted_blocks -= ptr != NULL;
	free(ptr);
}

/* The kernels' output allocator with a count of the blocks it has handed out and not had back. */
static const pgs_allocator counted_allocator = {counted_alloc, counted_realloc, counted_free, NULL};

#endif
