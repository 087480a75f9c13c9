/* Steps 1–4 of the voets2018 fundus preprocessing: mask, largest outer contour, enclosing circle, centroid. */
#include "fundus.h"
#include "geometry.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * The replication computed v' = (255/1.3)·(v/(255/1.5))² in float and cast to uint8, which wraps for
 * v ≥ 195 (v' ≥ 256): bright pixels became dark. Clamping is what was meant; the curve only serves to build
 * the mask, in which dark pixels (v ≤ 12, JPEG noise in the black surround) drop to 0.
 */
void
pgs_fundus_contrast_table(uint8_t table[256])
{
	for (int v = 0; v < 256; v++)
	{
		double		x = v / (255.0 / 1.5);
		double		curved = (255.0 / 1.3) * (x * x);

		table[v] = curved >= 255.0 ? 255 : (uint8_t) curved;
	}
}

/*
 * BT.601 grey with OpenCV's fixed-point weights (0.299, 0.587, 0.114 as 4899, 9617, 1868 / 2^14, rounded),
 * so the mask matches cv2.cvtColor + cv2.findContours pixel for pixel: grey ≥ 1 means the weighted sum of
 * the curved channels reaches half of 2^14.
 */
void
pgs_fundus_mask(const pgs_image *rgb, uint8_t *mask)
{
	uint8_t		table[256];
	const uint8_t *p = rgb->data;
	size_t		n = (size_t) rgb->width * rgb->height;

	pgs_fundus_contrast_table(table);
	for (size_t i = 0; i < n; i++, p += 3)
		mask[i] = (table[p[0]] * 4899 + table[p[1]] * 9617 + table[p[2]] * 1868 + 8192) >> 14 >= 1;
}

/*
 * Length of the outline that follows the circle (within 3 % of the radius, at least 2 px) away from the
 * image border, as a share of the circumference. A fundus shows most of its round edge; a photograph that
 * fills the frame shows none (its outline runs along the border), a square shows four corners of it.
 */
static double
rim_fraction(const pgs_contour *contour, pgs_circle circle, int width, int height)
{
	double		tolerance = fmax(2.0, 0.03 * circle.radius);
	double		traced = 0.0;

	if (contour->count < 2 || !(circle.radius > 0))
		return 0.0;
	for (size_t i = 0, prev = contour->count - 1; i < contour->count; prev = i++)
	{
		pgs_point	a = contour->points[prev],
					b = contour->points[i];
		bool		on_border = a.x == 0 || a.y == 0 || a.x == width - 1 || a.y == height - 1 ||
			b.x == 0 || b.y == 0 || b.x == width - 1 || b.y == height - 1;

		if (!on_border &&
			fabs(hypot(a.x - circle.cx, a.y - circle.cy) - circle.radius) <= tolerance &&
			fabs(hypot(b.x - circle.cx, b.y - circle.cy) - circle.radius) <= tolerance)
			traced += hypot(a.x - b.x, a.y - b.y);
	}
	return traced / (2.0 * M_PI * circle.radius);
}

pgs_status
pgs_fundus_locate(const pgs_image *rgb, pgs_fundus_geometry *geometry, pgs_error *err)
{
	size_t		n = (size_t) rgb->width * rgb->height;
	uint8_t    *mask;
	pgs_contour contour;
	pgs_point  *scratch;
	pgs_circle	circle;
	pgs_moments moments;
	pgs_status	st;

	geometry->found = false;
	geometry->cx = geometry->cy = geometry->radius = geometry->area = geometry->rim_fraction = 0.0;
	geometry->contour_points = 0;
	if (rgb->dtype != PGS_DTYPE_U8 || rgb->channels != 3)
		return pgs_fail(err, PGS_ERR_INTERNAL, "fundus location needs an 8-bit RGB image");
	if ((mask = malloc(n ? n : 1)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d mask", rgb->width, rgb->height);
	pgs_fundus_mask(rgb, mask);
	if ((st = pgs_cancel_point(err)) == PGS_OK)
		st = pgs_largest_outer_contour(mask, rgb->width, rgb->height, &contour, &geometry->area, err);
	free(mask);
	if (st != PGS_OK)
		return st;
	if (contour.count == 0)
		return PGS_OK;

	if ((scratch = malloc(contour.count * sizeof(pgs_point))) == NULL)
	{
		pgs_contour_free(&contour);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a contour of %zu points", contour.count);
	}
	circle = pgs_min_enclosing_circle(contour.points, contour.count, scratch);
	moments = pgs_polygon_moments(contour.points, contour.count);
	free(scratch);
	geometry->rim_fraction = rim_fraction(&contour, circle, rgb->width, rgb->height);
	geometry->contour_points = contour.count;
	pgs_contour_free(&contour);

	geometry->radius = circle.radius;
	/* A contour enclosing no area (a line, a single pixel) has no centroid. */
	if (moments.m00 > 0)
	{
		geometry->found = true;
		geometry->cx = moments.m10 / moments.m00;
		geometry->cy = moments.m01 / moments.m00;
	}
	return PGS_OK;
}

void
pgs_fundus_describe_verdict(const pgs_fundus_circle *circle, char *buf, size_t size)
{
	switch (circle->verdict)
	{
		case PGS_FUNDUS_BLACK:
			snprintf(buf, size, "the image has no bright region (it is black or nearly so)");
			break;
		case PGS_FUNDUS_TOO_SMALL:
			snprintf(buf, size, "the bright region has a radius of %.1f pixels; more than %.0f are needed",
					 circle->radius, PGS_FUNDUS_MIN_RADIUS);
			break;
		case PGS_FUNDUS_NOT_ROUND:
			snprintf(buf, size, "the bright region has no round edge (%.0f %% of a circle traced, %.0f %% needed)",
					 100.0 * circle->rim_fraction, 100.0 * PGS_FUNDUS_MIN_RIM_FRACTION);
			break;
		case PGS_FUNDUS_GRADABLE:
			snprintf(buf, size, "the fundus was found");
			break;
	}
}
