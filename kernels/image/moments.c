/* Area and first-order moments of the region a closed polygon encloses (Green's theorem). */
#include "geometry.h"

/*
 * Sums over the edges (x₁, y₁) → (x₂, y₂) of d = x₁y₂ − x₂y₁: area = Σd / 2, m10 = Σd(x₁ + x₂) / 6,
 * m01 = Σd(y₁ + y₂) / 6. Every term is an integer, so in double precision the sums are exact for any image
 * below about 10⁵ pixels a side, whatever the order of the points — which is why the result does not depend
 * on whether a contour keeps its collinear points (CHAIN_APPROX_NONE or _SIMPLE in OpenCV's terms).
 */
double
pgs_polygon_signed_area(const pgs_point *points, size_t count)
{
	double		twice_area = 0.0;

	if (count < 3)
		return 0.0;
	for (size_t i = 0, prev = count - 1; i < count; prev = i++)
		twice_area += (double) points[prev].x * points[i].y - (double) points[i].x * points[prev].y;
	return twice_area / 2.0;
}

pgs_moments
pgs_polygon_moments(const pgs_point *points, size_t count)
{
	double		a00 = 0.0,
				a10 = 0.0,
				a01 = 0.0;
	pgs_moments m;

	for (size_t i = 0, prev = count - 1; count >= 3 && i < count; prev = i++)
	{
		double		d = (double) points[prev].x * points[i].y - (double) points[i].x * points[prev].y;

		a00 += d;
		a10 += d * ((double) points[prev].x + points[i].x);
		a01 += d * ((double) points[prev].y + points[i].y);
	}
	/* The orientation of the border decides the sign; the region's moments do not depend on it. */
	if (a00 < 0)
	{
		a00 = -a00;
		a10 = -a10;
		a01 = -a01;
	}
	m.m00 = a00 / 2.0;
	m.m10 = a10 / 6.0;
	m.m01 = a01 / 6.0;
	return m;
}
