/* Plane geometry on binary masks: outer contours, polygon area and moments, enclosing circle, regions. */
#ifndef PGS_GEOMETRY_H
#define PGS_GEOMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgs_point
{
	int			x;
	int			y;
} pgs_point;

typedef struct pgs_circle
{
	double		cx;
	double		cy;
	double		radius;
} pgs_circle;

/* A closed polygon through pixel centres, owned by the caller (free points with free()). */
typedef struct pgs_contour
{
	pgs_point  *points;
	size_t		count;
	size_t		capacity;
} pgs_contour;

void		pgs_contour_free(pgs_contour *contour);

/*
 * The outer border of the largest 8-connected foreground region (by the area enclosed by its border) of a
 * width×height mask (non-zero = foreground), followed as Suzuki and Abe (1985) follow an outer border —
 * the border OpenCV's findContours(RETR_EXTERNAL) returns, point for point. Regions inside holes of others
 * are never the largest, so they need no special treatment. Returns PGS_OK with count == 0 when the mask is
 * empty. `area` receives the enclosed area (pixel centres as vertices, as cv::contourArea computes it).
 */
pgs_status	pgs_largest_outer_contour(const uint8_t *mask, int width, int height, pgs_contour *out,
									  double *area, pgs_error *err);

/*
 * Follow one outer border on a padded mask: `padded` has (width + 2) × (height + 2) bytes with a zero frame;
 * (x, y) are unpadded coordinates of a foreground pixel whose left neighbour is background. Points are
 * appended to `out` in unpadded coordinates.
 */
pgs_status	pgs_trace_outer_border(const uint8_t *padded, int width, int height, int x, int y,
								   pgs_contour *out, pgs_error *err);

/* A growable stack of (x, y) pairs for region filling; start zeroed, free xy when done. */
typedef struct pgs_fill_stack
{
	int		   *xy;
	size_t		count;
	size_t		capacity;
} pgs_fill_stack;

/* What a fill saw of its region, in padded coordinates (x, y ≥ 1). */
typedef struct pgs_region_stats
{
	int			x0,
				y0,
				x1,
				y1;
	int64_t		pixels;
	int64_t		left_pixels;	/* in columns left of the image's middle */
	int64_t		right_pixels;	/* right of it */
} pgs_region_stats;

/*
 * Relabel the 8-connected region of `from` pixels containing padded pixel (x, y) as `to` (to ≠ from, neither
 * 0), a scanline at a time, on a (width + 2) × (height + 2) mask with a zero frame. stats may be NULL.
 */
pgs_status	pgs_fill_region(uint8_t *padded, int width, int x, int y, uint8_t from, uint8_t to,
							pgs_fill_stack *stack, pgs_region_stats *stats, pgs_error *err);

/* Signed area of a closed polygon (shoelace formula); exact for integer vertices. */
double		pgs_polygon_signed_area(const pgs_point *points, size_t count);

/*
 * Spatial moments m00, m10, m01 of the region a closed polygon encloses (Green's theorem, as cv::moments
 * computes them for a contour), with the sign normalised so m00 ≥ 0. The centroid is (m10/m00, m01/m00).
 */
typedef struct pgs_moments
{
	double		m00;
	double		m10;
	double		m01;
} pgs_moments;

pgs_moments pgs_polygon_moments(const pgs_point *points, size_t count);

/*
 * The smallest circle containing every point (Welzl's algorithm in its iterative form, points visited in a
 * fixed pseudo-random order, so the expected cost is linear and the result deterministic). `scratch` must
 * hold `count` points; it receives the shuffled copy. count == 0 gives a zero circle at the origin.
 */
pgs_circle	pgs_min_enclosing_circle(const pgs_point *points, size_t count, pgs_point *scratch);

/* The largest 8-connected region of a mask: bounding box, area and area in the left and right halves. */
typedef struct pgs_component
{
	int			x0,
				y0,
				x1,
				y1;				/* inclusive */
	int64_t		pixels;
	int64_t		left_pixels;
	int64_t		right_pixels;
} pgs_component;

/* What pgs_classify_regions writes into the mask. */
#define PGS_REGION_BACKGROUND 0
#define PGS_REGION_SMALL 1		/* another region, smaller than min_other pixels */
#define PGS_REGION_LARGEST 2
#define PGS_REGION_OTHER 3		/* another region of at least min_other pixels */

/*
 * Find the largest 8-connected region of a 0/1 mask (ties: the first in raster order) and label every pixel
 * in place with the PGS_REGION_ values above. out->pixels == 0 when the mask is empty.
 */
pgs_status	pgs_classify_regions(uint8_t *mask, int width, int height, int64_t min_other, pgs_component *out,
								 pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
