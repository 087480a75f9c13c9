/* Synthetic fundus photographs: the eye and camera from the seed, DR lesions from the seed and the grade. */
#include "synthetic.h"
#include "synthetic_scene.h"
#include "jpeg_encode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Independent random streams, so one seed shows the same eye and camera at every grade. */
enum
{
	STREAM_EYE = 1,
	STREAM_VESSELS,
	STREAM_DISTRACTORS,
	STREAM_NOISE,
	STREAM_LESIONS				/* + grade */
};

const double pgs_eyepacs_grade_mix[PGS_DR_GRADES] = {25810, 2443, 5292, 873, 708};

static const double haemorrhage_color[3] = {0.58, 0.22, 0.26};
static const double microaneurysm_color[3] = {0.60, 0.26, 0.30};
static const double preretinal_color[3] = {0.45, 0.10, 0.12};
static const double exudate_color[3] = {0.99, 0.90, 0.46};
static const double cotton_wool_color[3] = {0.94, 0.90, 0.82};
static const double drusen_color[3] = {0.95, 0.80, 0.50};
static const double dust_color[3] = {0.78, 0.78, 0.80};
static const double pigment_color[3] = {0.50, 0.31, 0.29};
static const double scar_color[3] = {0.88, 0.74, 0.56};
static const double scar_pigment_color[3] = {0.30, 0.22, 0.20};
static const double fibrosis_color[3] = {0.94, 0.91, 0.86};

/* ---------- the eye and the camera ---------- */

static void
make_eye_and_camera(syn_scene *s, int64_t seed, int size)
{
	pgs_prng	rng;
	double		aspect,
				fill,
				pigment;
	double		u = 0;

	pgs_prng_seed(&rng, (uint64_t) seed, STREAM_EYE);
	s->side = pgs_prng_chance(&rng, 0.5) ? 1 : -1;
	/* Fundus cameras write 4:3, 3:2, 16:9 and square frames; the circle fills the height or overflows it. */
	u = pgs_prng_uniform(&rng);
	aspect = u < 0.45 ? 0.75 : u < 0.8 ? 2.0 / 3.0 : u < 0.9 ? 0.5625 : 1.0;
	fill = aspect == 1.0 ? pgs_prng_range(&rng, 0.86, 0.97)
		: pgs_prng_chance(&rng, 0.6) ? pgs_prng_range(&rng, 0.9, 1.0) : pgs_prng_range(&rng, 1.0, 1.12);
	s->width = size;
	s->height = (int) lround(size * aspect);
	s->height = s->height < 16 ? 16 : s->height;
	s->radius = 0.5 * s->height * fill;
	s->cx = (s->width - 1) / 2.0 + pgs_prng_range(&rng, -0.04, 0.04) * s->width;
	s->cy = (s->height - 1) / 2.0 + pgs_prng_range(&rng, -0.03, 0.03) * s->height;

	s->disc_x = s->side * pgs_prng_range(&rng, 0.5, 0.6);
	s->disc_y = pgs_prng_range(&rng, -0.08, 0.04);
	s->disc_rx = pgs_prng_range(&rng, 0.115, 0.145);
	s->disc_ry = s->disc_rx * pgs_prng_range(&rng, 1.02, 1.12);
	s->cup_ratio = pgs_prng_range(&rng, 0.3, 0.55);
	s->disc_color[0] = pgs_prng_range(&rng, 0.95, 1.05);
	s->disc_color[1] = pgs_prng_range(&rng, 0.76, 0.9);
	s->disc_color[2] = pgs_prng_range(&rng, 0.48, 0.65);
	s->fovea_x = s->disc_x - s->side * pgs_prng_range(&rng, 0.6, 0.7);
	s->fovea_y = s->disc_y + pgs_prng_range(&rng, 0.02, 0.08);
	s->macula_sigma = pgs_prng_range(&rng, 0.11, 0.15);
	s->macula_depth = pgs_prng_range(&rng, 0.18, 0.35);
	s->foveal_reflex = pgs_prng_chance(&rng, 0.4);
	/* from a lightly pigmented orange-red fundus to a darker, browner one */
	pigment = pgs_prng_uniform(&rng);
	s->albedo[0] = 0.86 - 0.24 * pigment;
	s->albedo[1] = 0.42 - 0.14 * pigment;
	s->albedo[2] = 0.17 - 0.05 * pigment;
	s->texture_amplitude = pgs_prng_range(&rng, 0.05, 0.12);
	s->texture_seed = pgs_prng_next(&rng);

	s->gain = pgs_prng_chance(&rng, 0.05) ? pgs_prng_range(&rng, 0.5, 0.65) : pgs_prng_range(&rng, 0.85, 1.15);
	s->vignetting = pgs_prng_range(&rng, 0.15, 0.45);
	s->gradient = pgs_prng_range(&rng, 0.0, 0.3);
	u = pgs_prng_range(&rng, 0, 2 * M_PI);
	s->gradient_x = cos(u);
	s->gradient_y = sin(u);
	s->rim_halo = pgs_prng_chance(&rng, 0.25) ? pgs_prng_range(&rng, 0.05, 0.15) : 0.0;
	s->channel_gain[0] = pgs_prng_range(&rng, 0.92, 1.08);
	s->channel_gain[1] = pgs_prng_range(&rng, 0.88, 1.12);
	s->channel_gain[2] = pgs_prng_range(&rng, 0.8, 1.25);
	s->gamma = pgs_prng_range(&rng, 0.85, 1.15);
	s->blur_sigma_px = s->radius * (pgs_prng_chance(&rng, 0.7) ? pgs_prng_range(&rng, 0.0, 0.0035)
									: pgs_prng_range(&rng, 0.0035, 0.007));
	s->noise_levels = pgs_prng_range(&rng, 0.8, 3.0);
	s->jpeg_quality = 72 + pgs_prng_below(&rng, 25);
}

/* ---------- where lesions go ---------- */

static bool
usable_spot(const syn_scene *s, double x, double y, double max_rho)
{
	double		px = s->cx + x * s->radius,
				py = s->cy + y * s->radius;
	double		dx = (x - s->disc_x) / s->disc_rx,
				dy = (y - s->disc_y) / s->disc_ry;

	return hypot(x, y) < max_rho && dx * dx + dy * dy > 1.3 * 1.3 &&
		px >= 2 && py >= 2 && px <= s->width - 3 && py <= s->height - 3;
}

/* Around the posterior pole (between fovea and disc, most of them within ≈ 0.35 R), where DR starts. */
static bool
spot_near_pole(const syn_scene *s, pgs_prng *rng, double spread, double *x, double *y)
{
	double		px = 0.75 * s->fovea_x + 0.25 * s->disc_x,
				py = 0.75 * s->fovea_y + 0.25 * s->disc_y;

	for (int tries = 0; tries < 200; tries++)
	{
		*x = px + spread * pgs_prng_normal(rng);
		*y = py + spread * pgs_prng_normal(rng);
		if (usable_spot(s, *x, *y, 0.93))
			return true;
	}
	return false;
}

/* Anywhere in the fundus between inner and outer radius (all four quadrants, as in severe NPDR). */
static bool
spot_anywhere(const syn_scene *s, pgs_prng *rng, double inner, double outer, double *x, double *y)
{
	for (int tries = 0; tries < 200; tries++)
	{
		double		r = sqrt(pgs_prng_range(rng, inner * inner, outer * outer)),
					a = pgs_prng_range(rng, 0, 2 * M_PI);

		*x = r * cos(a);
		*y = r * sin(a);
		if (usable_spot(s, *x, *y, outer))
			return true;
	}
	return false;
}

/* ---------- lesions ---------- */

/* Microaneurysms; one in five is as large as a small dot haemorrhage, which graders cannot always tell apart. */
static void
microaneurysm(syn_scene *s, pgs_prng *rng, double x, double y, double visibility)
{
	double		r = pgs_prng_chance(rng, 0.2) ? pgs_prng_range(rng, 0.008, 0.012) : pgs_prng_range(rng, 0.0045, 0.008);

	syn_add_ellipse(s, SYN_DARKEN, SYN_DOME, x, y, r, r, 0, visibility * pgs_prng_range(rng, 0.75, 0.95),
					microaneurysm_color);
}

/* Dot and blot haemorrhages: one to three overlapping round bleeds, of radius up to max_r. */
static void
blot_haemorrhage(syn_scene *s, pgs_prng *rng, double x, double y, double max_r, double visibility)
{
	double		r = pgs_prng_range(rng, 0.008, max_r);
	double		strength = visibility * pgs_prng_range(rng, 0.7, 0.92);

	syn_add_ellipse(s, SYN_DARKEN, SYN_DOME, x, y, r, r * pgs_prng_range(rng, 0.75, 1.0),
					pgs_prng_range(rng, 0, M_PI), strength, haemorrhage_color);
	for (int k = pgs_prng_below(rng, 3); k > 0; k--)
	{
		double		a = pgs_prng_range(rng, 0, 2 * M_PI),
					rr = r * pgs_prng_range(rng, 0.45, 0.8);

		syn_add_ellipse(s, SYN_DARKEN, SYN_DOME, x + 0.6 * r * cos(a), y + 0.6 * r * sin(a), rr, rr, 0,
						strength * 0.6, haemorrhage_color);
	}
}

/* Flame haemorrhages lie in the nerve fibre layer: streaks pointing away from the disc. */
static void
flame_haemorrhage(syn_scene *s, pgs_prng *rng, double x, double y, double visibility)
{
	double		a = atan2(y - s->disc_y, x - s->disc_x);
	double		half = pgs_prng_range(rng, 0.015, 0.035);

	syn_add_capsule(s, SYN_DARKEN, x - half * cos(a), y - half * sin(a), x + half * cos(a), y + half * sin(a),
					pgs_prng_range(rng, 0.006, 0.011), visibility * pgs_prng_range(rng, 0.6, 0.85), haemorrhage_color);
}

/* Hard exudates: sharp yellow dots in clusters, often a ring (circinate) around leaking microaneurysms. */
static int
exudate_cluster(syn_scene *s, pgs_prng *rng, double x, double y, double severity, double visibility)
{
	int			n = 2 + pgs_prng_poisson(rng, 2 + 7 * severity);
	bool		ring = pgs_prng_chance(rng, 0.4);
	double		ring_r = pgs_prng_range(rng, 0.03, 0.08),
				start = pgs_prng_range(rng, 0, 2 * M_PI),
				span = pgs_prng_range(rng, M_PI, 2 * M_PI),
				spread = pgs_prng_range(rng, 0.015, 0.04);
	int			drawn = 0;

	for (int i = 0; i < n; i++)
	{
		double		a = start + span * pgs_prng_uniform(rng);
		double		ex = ring ? x + ring_r * cos(a) + 0.006 * pgs_prng_normal(rng) : x + spread * pgs_prng_normal(rng);
		double		ey = ring ? y + ring_r * sin(a) + 0.006 * pgs_prng_normal(rng) : y + spread * pgs_prng_normal(rng);
		double		r = pgs_prng_range(rng, 0.0035, 0.011);

		if (!usable_spot(s, ex, ey, 0.95))
			continue;
		syn_add_ellipse(s, SYN_TINT, SYN_SHARP, ex, ey, r, r * pgs_prng_range(rng, 0.6, 1.0),
						pgs_prng_range(rng, 0, M_PI), visibility * pgs_prng_range(rng, 0.6, 0.9), exudate_color);
		drawn++;
	}
	return drawn;
}

/* Cotton-wool spots: fluffy pale patches, ischaemic nerve fibre layer near the arcades. */
static void
cotton_wool_spot(syn_scene *s, pgs_prng *rng, double x, double y, double visibility)
{
	double		r = pgs_prng_range(rng, 0.022, 0.05);

	for (int k = 1 + pgs_prng_below(rng, 3); k > 0; k--)
		syn_add_ellipse(s, SYN_TINT, SYN_SOFT, x + 0.4 * r * pgs_prng_normal(rng), y + 0.4 * r * pgs_prng_normal(rng),
						r * pgs_prng_range(rng, 0.8, 1.2), r * pgs_prng_range(rng, 0.5, 0.8),
						pgs_prng_range(rng, 0, M_PI), visibility * pgs_prng_range(rng, 0.4, 0.6), cotton_wool_color);
}

/* Panretinal photocoagulation: rows of pale burns with pigmented centres in the mid-periphery. */
static int
laser_scars(syn_scene *s, pgs_prng *rng)
{
	int			n = 40 + pgs_prng_poisson(rng, 60);
	int			drawn = 0;

	for (int i = 0; i < n; i++)
	{
		double		x,
					y,
					r = pgs_prng_range(rng, 0.014, 0.022);

		if (!spot_anywhere(s, rng, 0.55, 0.95, &x, &y))
			continue;
		syn_add_ellipse(s, SYN_TINT, SYN_SHARP, x, y, r, r, 0, pgs_prng_range(rng, 0.4, 0.6), scar_color);
		syn_add_ellipse(s, SYN_DARKEN, SYN_DOME, x, y, r * pgs_prng_range(rng, 0.35, 0.65), r * 0.5, 0,
						pgs_prng_range(rng, 0.5, 0.8), scar_pigment_color);
		drawn++;
	}
	return drawn;
}

static int
count_or_at_least(pgs_prng *rng, int base, double mean)
{
	return base + pgs_prng_poisson(rng, mean);
}

/*
 * Lesion counts and kinds grow with the grade as in the International Clinical DR scale. Within moderate
 * NPDR a severity in [0, 1] scales the counts, so the mildest moderate cases show one small haemorrhage or a
 * few exudates beside their microaneurysms; large microaneurysms in mild cases look like small dot
 * haemorrhages; each photograph also has its own lesion contrast, blur and noise. The classes overlap, as
 * graders' do.
 */
static void
draw_lesions(syn_scene *s, int64_t seed, int grade, pgs_synthetic_fundus_truth *t)
{
	pgs_prng	rng;
	double		visibility,
				x,
				y;
	double		severity = 1.0,
				blot_max = 0.032;
	int			microaneurysms = 0,
				blots = 0,
				flames = 0,
				clusters = 0,
				spots = 0,
				irma = 0;
	bool		anywhere = grade >= 3;

	pgs_prng_seed(&rng, (uint64_t) seed, STREAM_LESIONS + grade);
	visibility = pgs_prng_range(&rng, 0.6, 1.0);
	switch (grade)
	{
		case 1:
			microaneurysms = count_or_at_least(&rng, 1, 2.5);
			break;
		case 2:
			severity = pgs_prng_uniform(&rng);
			blot_max = 0.026;
			microaneurysms = count_or_at_least(&rng, 1, 2 + 4 * severity);
			blots = pgs_prng_poisson(&rng, 0.4 + 3.0 * severity);
			flames = pgs_prng_poisson(&rng, 0.7 * severity);
			clusters = pgs_prng_poisson(&rng, 1.0 * severity);
			spots = pgs_prng_poisson(&rng, 0.6 * severity);
			if (blots + flames + clusters + spots == 0)
			{
				double		u = pgs_prng_uniform(&rng);

				*(u < 0.6 ? &blots : u < 0.85 ? &clusters : &spots) = 1;
			}
			break;
		case 3:
			microaneurysms = count_or_at_least(&rng, 4, 8);
			blots = count_or_at_least(&rng, 12, 12);
			flames = pgs_prng_poisson(&rng, 2);
			clusters = pgs_prng_poisson(&rng, 1.2);
			spots = pgs_prng_poisson(&rng, 2);
			irma = pgs_prng_poisson(&rng, 1.5);
			break;
		case 4:
			microaneurysms = count_or_at_least(&rng, 2, 6);
			blots = count_or_at_least(&rng, 3, 10);
			flames = pgs_prng_poisson(&rng, 1.5);
			clusters = pgs_prng_poisson(&rng, 1.2);
			spots = pgs_prng_poisson(&rng, 1.2);
			break;
		default:
			break;
	}

	for (int i = 0; i < microaneurysms; i++)
		if (spot_near_pole(s, &rng, 0.3, &x, &y))
		{
			microaneurysm(s, &rng, x, y, visibility);
			t->microaneurysms++;
		}
	for (int i = 0; i < blots; i++)
		if (anywhere ? spot_anywhere(s, &rng, 0.1, 0.88, &x, &y) : spot_near_pole(s, &rng, 0.33, &x, &y))
		{
			blot_haemorrhage(s, &rng, x, y, blot_max, visibility);
			t->haemorrhages++;
			if (irma > 0 && pgs_prng_chance(&rng, 0.3))
			{
				syn_draw_irma(s, &rng, x, y);
				irma--;
			}
		}
	for (int i = 0; i < flames; i++)
		if (syn_point_on_vein(s, &rng, &x, &y) && usable_spot(s, x, y, 0.9))
		{
			flame_haemorrhage(s, &rng, x + 0.01 * pgs_prng_normal(&rng), y + 0.01 * pgs_prng_normal(&rng), visibility);
			t->haemorrhages++;
		}
	if (grade == 4)
	{
		bool		disc = pgs_prng_chance(&rng, 0.6),
					elsewhere = pgs_prng_chance(&rng, 0.6) || !disc;

		if (disc)
		{
			syn_draw_new_vessels(s, &rng, s->disc_x, s->disc_y, 1.3 * s->disc_rx, 6 + pgs_prng_below(&rng, 9));
			t->neovascularisation++;
		}
		if (elsewhere && syn_point_on_vein(s, &rng, &x, &y))
		{
			syn_draw_new_vessels(s, &rng, x, y, 0.05, 5 + pgs_prng_below(&rng, 6));
			t->neovascularisation++;
		}
		if (pgs_prng_chance(&rng, 0.3) && syn_point_on_vein(s, &rng, &x, &y) && usable_spot(s, x, y, 0.85))
		{
			double		a = pgs_prng_range(&rng, 0.06, 0.12);

			syn_add_boat(s, x, y, a, a * pgs_prng_range(&rng, 0.7, 1.0), pgs_prng_range(&rng, -0.4, 0.1), 0.95,
						 preretinal_color);
			t->haemorrhages++;
		}
		if (pgs_prng_chance(&rng, 0.2) && syn_point_on_vein(s, &rng, &x, &y))
			for (int k = 2 + pgs_prng_below(&rng, 3); k > 0; k--)
			{
				double		a = pgs_prng_range(&rng, 0.06, 0.12);

				syn_add_ellipse(s, SYN_TINT, SYN_SOFT, x + 0.03 * pgs_prng_normal(&rng), y + 0.03 * pgs_prng_normal(&rng),
								a, a * 0.35, atan2(y - s->disc_y, x - s->disc_x) + M_PI / 2,
								pgs_prng_range(&rng, 0.35, 0.55), fibrosis_color);
			}
		if (pgs_prng_chance(&rng, 0.3))
			t->laser_scars = laser_scars(s, &rng);
	}
	for (int i = 0; i < clusters; i++)
		if (spot_near_pole(s, &rng, 0.25, &x, &y))
			t->exudates += exudate_cluster(s, &rng, x, y, severity, visibility);
	for (int i = 0; i < spots; i++)
		if (syn_point_on_vein(s, &rng, &x, &y) && usable_spot(s, x, y, 0.85))
		{
			cotton_wool_spot(s, &rng, x + 0.02 * pgs_prng_normal(&rng), y + 0.02 * pgs_prng_normal(&rng), visibility);
			t->cotton_wool_spots++;
		}
}

/*
 * Things that are not diabetic retinopathy but look a little like it, equally often at every grade: drusen
 * (pale yellow, soft), pigment clumps (small, brown), and dust on the camera optics (grey, blurred).
 */
static void
draw_distractors(syn_scene *s, int64_t seed)
{
	pgs_prng	rng;
	double		x,
				y;

	pgs_prng_seed(&rng, (uint64_t) seed, STREAM_DISTRACTORS);
	if (pgs_prng_chance(&rng, 0.18))
		for (int n = 3 + pgs_prng_poisson(&rng, 8); n > 0; n--)
			if (spot_near_pole(s, &rng, 0.15, &x, &y))
			{
				double		r = pgs_prng_range(&rng, 0.005, 0.014);

				syn_add_ellipse(s, SYN_TINT, SYN_SOFT, x, y, r, r, 0, pgs_prng_range(&rng, 0.25, 0.45), drusen_color);
			}
	if (pgs_prng_chance(&rng, 0.25))
		for (int n = 1 + pgs_prng_below(&rng, 3); n > 0; n--)
			if (spot_anywhere(s, &rng, 0.1, 0.9, &x, &y))
			{
				double		r = pgs_prng_range(&rng, 0.006, 0.012);

				syn_add_ellipse(s, SYN_DARKEN, SYN_DOME, x, y, r, r * 0.8, pgs_prng_range(&rng, 0, M_PI), 0.6,
								pigment_color);
			}
	if (pgs_prng_chance(&rng, 0.25))
		for (int n = 1 + pgs_prng_below(&rng, 3); n > 0; n--)
			if (spot_anywhere(s, &rng, 0.0, 0.9, &x, &y))
			{
				double		r = pgs_prng_range(&rng, 0.012, 0.03);

				syn_add_ellipse(s, SYN_DARKEN, SYN_SOFT, x, y, r, r, 0, pgs_prng_range(&rng, 0.25, 0.45), dust_color);
			}
}

/* ---------- entry points ---------- */

pgs_status
pgs_synthetic_fundus_render(int64_t seed, int grade, int size, const pgs_allocator *allocator, pgs_image *out,
							pgs_synthetic_fundus_truth *truth, pgs_error *err)
{
	syn_scene	scene;
	pgs_prng	vessels;
	pgs_prng	beading;
	uint8_t    *rgb;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	memset(truth, 0, sizeof(*truth));
	if (grade < 0 || grade >= PGS_DR_GRADES)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "DR grade must be between 0 and 4, not %d", grade);
	if (size < PGS_SYNTHETIC_MIN_SIZE || size > PGS_SYNTHETIC_MAX_SIZE)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "size must be between %d and %d pixels, not %d",
						PGS_SYNTHETIC_MIN_SIZE, PGS_SYNTHETIC_MAX_SIZE, size);
	memset(&scene, 0, sizeof(scene));
	make_eye_and_camera(&scene, seed, size);

	/* Venous beading belongs to severe disease; it changes calibres only, so the tree stays the same. */
	pgs_prng_seed(&beading, (uint64_t) seed, STREAM_LESIONS + 100 + grade);
	pgs_prng_seed(&vessels, (uint64_t) seed, STREAM_VESSELS);
	syn_draw_vessels(&scene, &vessels,
					 (grade == 3 && pgs_prng_chance(&beading, 0.5)) || (grade == 4 && pgs_prng_chance(&beading, 0.3)));
	draw_lesions(&scene, seed, grade, truth);
	draw_distractors(&scene, seed);
	if (scene.out_of_memory)
	{
		free(scene.prims);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the synthetic fundus scene");
	}

	if ((rgb = pgs_alloc(allocator, (size_t) scene.width * scene.height * 3)) == NULL)
	{
		free(scene.prims);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", scene.width, scene.height);
	}
	st = syn_render(&scene, rgb, pgs_prng_mix((uint64_t) seed, STREAM_NOISE), err);
	free(scene.prims);
	if (st != PGS_OK)
	{
		pgs_free(allocator, rgb);
		return st;
	}
	out->width = scene.width;
	out->height = scene.height;
	out->channels = 3;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	out->data = rgb;
	truth->grade = grade;
	truth->width = scene.width;
	truth->height = scene.height;
	truth->cx = scene.cx;
	truth->cy = scene.cy;
	truth->radius = scene.radius;
	truth->right_eye = scene.side > 0;
	truth->jpeg_quality = scene.jpeg_quality;
	return PGS_OK;
}

pgs_status
pgs_synthetic_fundus(int64_t seed, int grade, int size, const pgs_allocator *allocator, uint8_t **jpeg,
					 size_t *jpeg_len, pgs_synthetic_fundus_truth *truth, pgs_error *err)
{
	pgs_image	rgb;
	pgs_status	st;

	*jpeg = NULL;
	*jpeg_len = 0;
	if ((st = pgs_synthetic_fundus_render(seed, grade, size, &pgs_malloc_allocator, &rgb, truth, err)) != PGS_OK)
		return st;
	st = pgs_jpeg_encode(&rgb, truth->jpeg_quality, allocator, jpeg, jpeg_len, err);
	free(rgb.data);
	return st;
}

pgs_status
pgs_grade_mix_check(const double mix[PGS_DR_GRADES], pgs_error *err)
{
	double		sum = 0;

	for (int g = 0; g < PGS_DR_GRADES; g++)
	{
		if (!isfinite(mix[g]) || mix[g] < 0)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "grade mix weights must be finite and not negative");
		sum += mix[g];
	}
	if (!(sum > 0) || !isfinite(sum))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "grade mix weights must not all be zero");
	return PGS_OK;
}

int
pgs_synthetic_set_grade(int64_t seed, int64_t index, const double mix[PGS_DR_GRADES])
{
	pgs_prng	rng;
	double		sum = 0,
				u;

	for (int g = 0; g < PGS_DR_GRADES; g++)
		sum += mix[g];
	pgs_prng_seed(&rng, (uint64_t) seed, UINT64_C(0x5e7) + (uint64_t) index);
	u = pgs_prng_uniform(&rng) * sum;
	for (int g = 0; g < PGS_DR_GRADES; g++)
	{
		if (u < mix[g])
			return g;
		u -= mix[g];
	}
	for (int g = PGS_DR_GRADES - 1; g > 0; g--)
		if (mix[g] > 0)
			return g;
	return 0;
}

int64_t
pgs_synthetic_set_member_seed(int64_t seed, int64_t index)
{
	return (int64_t) pgs_prng_mix((uint64_t) seed, UINT64_C(0x5e70000) + (uint64_t) index);
}
