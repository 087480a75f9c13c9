/* The minimum enclosing circle of a point set: Welzl's algorithm in its iterative, move-free form. */
#include "geometry.h"
#include "../common/prng.h"

#include <math.h>
#include <string.h>

/*
 * A point counts as inside when it lies within the circle up to a relative tolerance: the circles are built
 * from integer points with a few floating-point operations, so a boundary point may land a few ulps outside.
 */
static int
inside(pgs_circle c, pgs_point p)
{
	double		dx = p.x - c.cx,
				dy = p.y - c.cy;

	return dx * dx + dy * dy <= c.radius * c.radius * (1.0 + 1e-12) + 1e-9;
}

static pgs_circle
circle_from_two(pgs_point a, pgs_point b)
{
	pgs_circle	c;

	c.cx = (a.x + (double) b.x) / 2.0;
	c.cy = (a.y + (double) b.y) / 2.0;
	c.radius = hypot(a.x - (double) b.x, a.y - (double) b.y) / 2.0;
	return c;
}

/* The circle through three points; collinear points give the circle on the two farthest apart. */
static pgs_circle
circle_from_three(pgs_point a, pgs_point b, pgs_point c)
{
	double		bx = (double) b.x - a.x,
				by = (double) b.y - a.y,
				cx = (double) c.x - a.x,
				cy = (double) c.y - a.y;
	double		d = 2.0 * (bx * cy - by * cx);
	pgs_circle	out;

	if (d == 0.0)
	{
		pgs_circle	ab = circle_from_two(a, b),
					ac = circle_from_two(a, c),
					bc = circle_from_two(b, c);

		return ab.radius >= ac.radius && ab.radius >= bc.radius ? ab : (ac.radius >= bc.radius ? ac : bc);
	}
	{
		double		b2 = bx * bx + by * by,
					c2 = cx * cx + cy * cy;
		double		ux = (cy * b2 - by * c2) / d,
					uy = (bx * c2 - cx * b2) / d;

		out.cx = a.x + ux;
		out.cy = a.y + uy;
		out.radius = hypot(ux, uy);
	}
	return out;
}

/*
 * Welzl (1991) without recursion: after a random permutation, each point outside the current circle must lie
 * on the boundary of the circle of the points seen so far; the nested loops find that circle with one or two
 * fixed boundary points. The expected number of steps is linear in the number of points.
 */
pgs_circle
pgs_min_enclosing_circle(const pgs_point *points, size_t count, pgs_point *p)
{
	pgs_circle	c = {0.0, 0.0, 0.0};
	pgs_prng	rng;

	if (count == 0)
		return c;
	memcpy(p, points, count * sizeof(pgs_point));
	pgs_prng_seed(&rng, UINT64_C(0x5eed), count);
	for (size_t i = count - 1; i > 0; i--)
	{
		size_t		j = (size_t) (pgs_prng_next(&rng) % (i + 1));
		pgs_point	t = p[i];

		p[i] = p[j];
		p[j] = t;
	}

	c.cx = p[0].x;
	c.cy = p[0].y;
	for (size_t i = 1; i < count; i++)
	{
		if (inside(c, p[i]))
			continue;
		c.cx = p[i].x;
		c.cy = p[i].y;
		c.radius = 0.0;
		for (size_t j = 0; j < i; j++)
		{
			if (inside(c, p[j]))
				continue;
			c = circle_from_two(p[i], p[j]);
			for (size_t k = 0; k < j; k++)
				if (!inside(c, p[k]))
					c = circle_from_three(p[i], p[j], p[k]);
		}
	}
	return c;
}
