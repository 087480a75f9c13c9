/* Unit tests of contour following, polygon area and moments, and the minimum enclosing circle. */
#include "../../kernels/image/geometry.h"
#include "unit.h"

#include <math.h>
#include <stdbool.h>

static pgs_error err;

/* A width×height mask from rows of '#' (foreground) and '.' characters. */
static uint8_t *
mask_from(const char *const *rows, int height, int *width)
{
	uint8_t    *mask;

	*width = (int) strlen(rows[0]);
	mask = calloc((size_t) *width * height, 1);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < *width; x++)
			mask[y * *width + x] = rows[y][x] == '#';
	return mask;
}

static pgs_contour
largest(const char *const *rows, int height, double *area)
{
	int			width;
	uint8_t    *mask = mask_from(rows, height, &width);
	pgs_contour c;

	CHECK_OK(pgs_largest_outer_contour(mask, width, height, &c, area, &err), &err);
	free(mask);
	return c;
}

static bool
has_point(const pgs_contour *c, int x, int y)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->points[i].x == x && c->points[i].y == y)
			return true;
	return false;
}

static void
test_rectangle_border(void)
{
	const char *rows[] = {".......", ".#####.", ".#####.", ".#####.", "......."};
	double		area;
	pgs_contour c = largest(rows, 5, &area);

	/* the border of a 5×3 block: 2·(5 + 3) − 4 pixels, starting at the top-left one */
	CHECK(c.count == 12);
	CHECK(c.points[0].x == 1 && c.points[0].y == 1);
	CHECK(area == 4.0 * 2.0);
	for (size_t i = 0; i < c.count; i++)
		CHECK(c.points[i].x == 1 || c.points[i].x == 5 || c.points[i].y == 1 || c.points[i].y == 3);
	/* consecutive points are 8-neighbours */
	for (size_t i = 0; i < c.count; i++)
	{
		pgs_point	a = c.points[i],
					b = c.points[(i + 1) % c.count];

		CHECK(abs(a.x - b.x) <= 1 && abs(a.y - b.y) <= 1 && (a.x != b.x || a.y != b.y));
	}
	pgs_contour_free(&c);
}

static void
test_single_pixel_and_empty(void)
{
	const char *dot[] = {"...", ".#.", "..."};
	const char *none[] = {"...", "..."};
	double		area;
	pgs_contour c = largest(dot, 3, &area);

	CHECK(c.count == 1 && c.points[0].x == 1 && c.points[0].y == 1 && area == 0.0);
	pgs_contour_free(&c);
	c = largest(none, 2, &area);
	CHECK(c.count == 0 && area == 0.0);
	pgs_contour_free(&c);
}

/* A region touching the frame is traced along the frame (the image is treated as bordered by zeros). */
static void
test_full_mask_follows_the_frame(void)
{
	const char *rows[] = {"####", "####", "####"};
	double		area;
	pgs_contour c = largest(rows, 3, &area);

	CHECK(c.count == 10 && area == 3.0 * 2.0);
	CHECK(has_point(&c, 0, 0) && has_point(&c, 3, 0) && has_point(&c, 3, 2) && has_point(&c, 0, 2));
	pgs_contour_free(&c);
}

/* The largest region wins; a blob inside another's hole is never the largest; 8-connectivity joins corners. */
static void
test_largest_region(void)
{
	const char *rows[] = {
		"##..........",
		"##..#######.",
		"....#.....#.",
		"....#.###.#.",
		"....#.###.#.",
		"....#.....#.",
		"....#######.",
		"...........#",
	};
	double		area;
	pgs_contour c = largest(rows, 8, &area);

	/* the ring (with the lone pixel at its lower right joined diagonally) encloses 6×5 */
	CHECK(area == 6.0 * 5.0);
	CHECK(has_point(&c, 4, 1) && has_point(&c, 11, 7) && !has_point(&c, 6, 3));
	pgs_contour_free(&c);
}

/* A one-pixel-wide line is walked out and back: every inner pixel twice, no area. */
static void
test_thin_line(void)
{
	const char *rows[] = {".....", ".###.", "....."};
	double		area;
	pgs_contour c = largest(rows, 3, &area);

	CHECK(c.count == 4 && area == 0.0);
	CHECK(c.points[0].x == 1 && c.points[1].x == 2 && c.points[2].x == 3 && c.points[3].x == 2);
	pgs_contour_free(&c);
}

static void
test_polygon_moments(void)
{
	pgs_point	rect[] = {{2, 1}, {8, 1}, {8, 5}, {2, 5}};
	pgs_point	rect_reversed[] = {{2, 5}, {8, 5}, {8, 1}, {2, 1}};
	pgs_point	triangle[] = {{0, 0}, {9, 0}, {0, 6}};
	pgs_point	ell[] = {{0, 0}, {4, 0}, {4, 1}, {1, 1}, {1, 3}, {0, 3}};
	pgs_moments m = pgs_polygon_moments(rect, 4);
	pgs_moments r = pgs_polygon_moments(rect_reversed, 4);

	CHECK(m.m00 == 24.0 && m.m10 / m.m00 == 5.0 && m.m01 / m.m00 == 3.0);
	CHECK(r.m00 == m.m00 && r.m10 == m.m10 && r.m01 == m.m01);
	CHECK(fabs(pgs_polygon_signed_area(rect, 4)) == 24.0);
	CHECK(pgs_polygon_signed_area(rect, 4) == -pgs_polygon_signed_area(rect_reversed, 4));
	m = pgs_polygon_moments(triangle, 3);
	CHECK(m.m00 == 27.0 && fabs(m.m10 / m.m00 - 3.0) < 1e-12 && fabs(m.m01 / m.m00 - 2.0) < 1e-12);
	/* an L of a 4×1 bar (centroid 2, 0.5) and a 1×2 bar (0.5, 2): area-weighted centroid */
	m = pgs_polygon_moments(ell, 6);
	CHECK(m.m00 == 6.0);
	CHECK(fabs(m.m10 / m.m00 - (4 * 2.0 + 2 * 0.5) / 6) < 1e-12 && fabs(m.m01 / m.m00 - (4 * 0.5 + 2 * 2.0) / 6) < 1e-12);
	m = pgs_polygon_moments(rect, 2);
	CHECK(m.m00 == 0.0);
}

/* The smallest circle through two or three of the points that holds them all, by trying every candidate. */
static pgs_circle
brute_force_circle(const pgs_point *p, int n)
{
	pgs_circle	best = {p[0].x, p[0].y, n == 1 ? 0.0 : INFINITY};

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			for (int k = j; k < n; k++)
			{
				pgs_circle	c;
				bool		ok = true;

				if (k == j)
				{
					c.cx = (p[i].x + p[j].x) / 2.0;
					c.cy = (p[i].y + p[j].y) / 2.0;
					c.radius = hypot(p[i].x - p[j].x, p[i].y - p[j].y) / 2.0;
				}
				else
				{
					double		bx = p[j].x - p[i].x,
								by = p[j].y - p[i].y,
								cx = p[k].x - p[i].x,
								cy = p[k].y - p[i].y,
								d = 2 * (bx * cy - by * cx);

					if (d == 0)
						continue;
					c.cx = p[i].x + (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / d;
					c.cy = p[i].y + (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / d;
					c.radius = hypot(c.cx - p[i].x, c.cy - p[i].y);
				}
				for (int m = 0; m < n && ok; m++)
					ok = hypot(p[m].x - c.cx, p[m].y - c.cy) <= c.radius * (1 + 1e-9) + 1e-9;
				if (ok && c.radius < best.radius)
					best = c;
			}
	return best;
}

static void
test_enclosing_circle_against_brute_force(void)
{
	unsigned long long seed = 99;
	pgs_point	pts[40],
				scratch[40];

	for (int trial = 0; trial < 400; trial++)
	{
		int			n = 1 + (int) (unit_random(&seed) % 40);
		int			spread = trial % 3 == 0 ? 5 : 1000;	/* small grids make duplicates and collinear sets */
		pgs_circle	got,
					want;

		for (int i = 0; i < n; i++)
		{
			pts[i].x = (int) (unit_random(&seed) % spread);
			pts[i].y = trial % 7 == 0 ? 3 : (int) (unit_random(&seed) % spread);
		}
		got = pgs_min_enclosing_circle(pts, (size_t) n, scratch);
		want = brute_force_circle(pts, n);
		CHECKF(fabs(got.radius - want.radius) <= 1e-9 * (1 + want.radius), "trial %d (%d points): radius %.12g, brute force %.12g",
			   trial, n, got.radius, want.radius);
		for (int i = 0; i < n; i++)
			CHECK(hypot(pts[i].x - got.cx, pts[i].y - got.cy) <= got.radius * (1 + 1e-9) + 1e-9);
	}
}

static void
test_enclosing_circle_of_a_traced_disc(void)
{
	int			w = 101,
				h = 81;
	uint8_t    *mask = calloc((size_t) w * h, 1);
	pgs_contour c;
	pgs_point  *scratch;
	pgs_circle	circle;
	pgs_moments m;
	double		area;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			mask[y * w + x] = (x - 50) * (x - 50) + (y - 40) * (y - 40) <= 30 * 30;
	CHECK_OK(pgs_largest_outer_contour(mask, w, h, &c, &area, &err), &err);
	scratch = malloc(c.count * sizeof(pgs_point));
	circle = pgs_min_enclosing_circle(c.points, c.count, scratch);
	m = pgs_polygon_moments(c.points, c.count);
	CHECK(fabs(circle.radius - 30.0) < 1e-9 && fabs(circle.cx - 50) < 1e-9 && fabs(circle.cy - 40) < 1e-9);
	CHECK(fabs(m.m10 / m.m00 - 50) < 1e-9 && fabs(m.m01 / m.m00 - 40) < 1e-9);
	CHECK(fabs(area - M_PI * 30 * 30) < 2 * M_PI * 30);
	free(scratch);
	free(mask);
	pgs_contour_free(&c);
}

int
main(void)
{
	RUN(test_rectangle_border);
	RUN(test_single_pixel_and_empty);
	RUN(test_full_mask_follows_the_frame);
	RUN(test_largest_region);
	RUN(test_thin_line);
	RUN(test_polygon_moments);
	RUN(test_enclosing_circle_against_brute_force);
	RUN(test_enclosing_circle_of_a_traced_disc);
	return unit_done();
}
