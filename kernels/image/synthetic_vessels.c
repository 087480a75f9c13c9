/* Retinal vessels of the synthetic fundus: branching random walks steered around the macula, new vessels. */
#include "synthetic_scene.h"

#include <math.h>
#include <stdlib.h>

#define STEP 0.008				/* walk step, R units: the same tree at every image size */
#define MIN_WIDTH 0.003		/* vessels end when thinner than this (R units) */
#define MAX_WALKERS 2048

static const double vein_color[3] = {0.60, 0.40, 0.42};
static const double artery_color[3] = {0.80, 0.62, 0.60};
static const double new_vessel_color[3] = {0.66, 0.40, 0.42};

typedef struct walker
{
	double		x,
				y,
				heading,
				width,
				budget;
	syn_effect	kind;
	int			orbit;			/* ±1: follow a circle around the fovea (the arcades); 0: wander outwards */
	double		orbit_radius;
	double		sweep_left;		/* radians of orbit left before wandering */
	int			branch_side;
} walker;

static double
angle_toward(double from, double to)
{
	double		d = fmod(to - from, 2.0 * M_PI);

	if (d > M_PI)
		d -= 2.0 * M_PI;
	if (d < -M_PI)
		d += 2.0 * M_PI;
	return d;
}

/*
 * Real arcades leave the disc vertically, bend around the macula at about 0.45 R from the fovea and then
 * run towards the temporal periphery; branches leave at 25–60° and head outwards; nothing crosses the foveal
 * avascular zone. Widths taper along the vessel and drop at each branching (roughly Murray's law).
 */
static void
steer(const syn_scene *scene, walker *w, pgs_prng *rng)
{
	double		rx = w->x - scene->fovea_x,
				ry = w->y - scene->fovea_y;
	double		dist = hypot(rx, ry) + 1e-9;

	if (w->orbit != 0 && w->sweep_left > 0)
	{
		double		ex = rx / dist,
					ey = ry / dist;
		double		tx = w->orbit * -ey + 2.5 * (w->orbit_radius - dist) * ex,
					ty = w->orbit * ex + 2.5 * (w->orbit_radius - dist) * ey;

		w->heading += 0.18 * angle_toward(w->heading, atan2(ty, tx));
		w->sweep_left -= STEP / dist;
	}
	else
		w->heading += 0.006 * angle_toward(w->heading, atan2(ry, rx));
	if (dist < 0.16)
		w->heading += 0.3 * angle_toward(w->heading, atan2(ry, rx));
	w->heading += 0.06 * pgs_prng_normal(rng);
}

static void
walk(syn_scene *scene, pgs_prng *rng, walker *stack, int *depth, bool beading)
{
	walker		w = stack[--*depth];
	double		spacing = pgs_prng_range(rng, 0.12, 0.26);
	double		travelled = 0.0;
	double		bead_phase = pgs_prng_range(rng, 0, 2 * M_PI);
	const double *color = w.kind == SYN_VEIN ? vein_color : artery_color;
	double		strength = w.kind == SYN_VEIN ? 0.9 : 0.75;

	while (w.width >= MIN_WIDTH && w.budget > 0 && !scene->out_of_memory)
	{
		double		nx,
					ny,
					drawn = w.width;

		steer(scene, &w, rng);
		nx = w.x + STEP * cos(w.heading);
		ny = w.y + STEP * sin(w.heading);
		/* Venous beading: the calibre swells and narrows every ≈ 0.05 R along the vein. */
		if (beading && w.kind == SYN_VEIN && w.width > 0.006)
			drawn *= 1.0 + 0.35 * sin(bead_phase + 2 * M_PI * travelled / 0.05);
		syn_add_capsule(scene, w.kind, w.x, w.y, nx, ny, drawn / 2, strength, color);
		w.x = nx;
		w.y = ny;
		w.width *= 1.0 - 0.9 * STEP;
		w.budget -= STEP;
		travelled += STEP;
		if (hypot(w.x, w.y) > 1.02)
			break;
		if (w.width > 2.5 * MIN_WIDTH && pgs_prng_uniform(rng) < STEP / spacing && *depth < MAX_WALKERS)
		{
			walker	   *child = &stack[(*depth)++];
			int			side = pgs_prng_chance(rng, 0.5) ? 1 : -1;

			*child = w;
			child->orbit = 0;
			child->width = w.width * pgs_prng_range(rng, 0.42, 0.7);
			child->heading = w.heading + side * pgs_prng_range(rng, 0.5, 1.2);
			child->budget = pgs_prng_range(rng, 0.3, 1.2);
			w.width *= pgs_prng_range(rng, 0.82, 0.93);
			spacing = pgs_prng_range(rng, 0.12, 0.26);
		}
	}
}

static void
push_trunk(walker *stack, int *depth, syn_scene *scene, pgs_prng *rng, syn_effect kind, double dy_dir,
		   double dx_dir, double width, int orbit, double orbit_radius)
{
	walker	   *w = &stack[(*depth)++];

	w->x = scene->disc_x + pgs_prng_range(rng, -0.01, 0.01);
	w->y = scene->disc_y + dy_dir * scene->disc_ry * 0.2;
	w->heading = atan2(dy_dir, dx_dir);
	w->width = width;
	w->budget = 3.0;
	w->kind = kind;
	w->orbit = orbit;
	w->orbit_radius = orbit_radius;
	w->sweep_left = pgs_prng_range(rng, 2.0, 2.6);
}

void
syn_draw_vessels(syn_scene *scene, pgs_prng *rng, bool beading)
{
	walker	   *stack = malloc(sizeof(walker) * MAX_WALKERS);
	int			depth = 0;
	int			s = scene->side;
	double		vein_width = 0.024 * pgs_prng_range(rng, 0.88, 1.12);
	double		artery_width = 0.017 * pgs_prng_range(rng, 0.88, 1.12);

	if (stack == NULL)
	{
		scene->out_of_memory = true;
		return;
	}
	for (int up = -1; up <= 1; up += 2)
	{
		/* temporal arcades: up = −1 superior (orbit −s), +1 inferior (orbit +s) */
		double		arcade = pgs_prng_range(rng, 0.40, 0.48);

		push_trunk(stack, &depth, scene, rng, SYN_VEIN, up, -s * 0.25, vein_width, up * s, arcade);
		walk(scene, rng, stack, &depth, beading);
		push_trunk(stack, &depth, scene, rng, SYN_ARTERY, up, -s * 0.45, artery_width, up * s, arcade - 0.04);
		walk(scene, rng, stack, &depth, beading);
		/* nasal trunks, thinner, straight out of the fundus */
		push_trunk(stack, &depth, scene, rng, SYN_VEIN, up * 0.7, s, vein_width * 0.7, 0, 0);
		walk(scene, rng, stack, &depth, beading);
		push_trunk(stack, &depth, scene, rng, SYN_ARTERY, up * 0.8, s, artery_width * 0.7, 0, 0);
		walk(scene, rng, stack, &depth, beading);
		while (depth > 0)
			walk(scene, rng, stack, &depth, beading);
	}
	/* small macular branches from the disc towards the fovea, stopped by the avascular zone */
	for (int k = 2 + pgs_prng_below(rng, 3); k > 0; k--)
	{
		walker	   *w = &stack[depth++];

		w->x = scene->disc_x - s * scene->disc_rx * 0.8;
		w->y = scene->disc_y + pgs_prng_range(rng, -0.5, 0.5) * scene->disc_ry;
		w->heading = atan2(scene->fovea_y - w->y, scene->fovea_x - w->x) + pgs_prng_range(rng, -0.35, 0.35);
		w->width = pgs_prng_range(rng, 0.005, 0.008);
		w->budget = pgs_prng_range(rng, 0.3, 0.5);
		w->kind = pgs_prng_chance(rng, 0.5) ? SYN_VEIN : SYN_ARTERY;
		w->orbit = 0;
		while (depth > 0)
			walk(scene, rng, stack, &depth, beading);
	}
	free(stack);
	scene->vessel_count = scene->count;
}

/* A fine, tortuous vessel: short steps with strong random turning and a steady curl, so it loops. */
static void
tortuous_walk(syn_scene *scene, pgs_prng *rng, double x, double y, int steps, double width, double turn,
			  double curl, double strength)
{
	double		heading = pgs_prng_range(rng, 0, 2 * M_PI);

	for (int i = 0; i < steps && !scene->out_of_memory; i++)
	{
		double		nx,
					ny;

		heading += curl + turn * pgs_prng_normal(rng);
		nx = x + 0.004 * cos(heading);
		ny = y + 0.004 * sin(heading);
		if (hypot(nx, ny) > 0.98)
			break;
		syn_add_capsule(scene, SYN_NEW_VESSEL, x, y, nx, ny, width / 2, strength, new_vessel_color);
		x = nx;
		y = ny;
	}
}

void
syn_draw_new_vessels(syn_scene *scene, pgs_prng *rng, double x, double y, double spread, int loops)
{
	for (int i = 0; i < loops; i++)
	{
		double		angle = pgs_prng_range(rng, 0, 2 * M_PI),
					r = spread * sqrt(pgs_prng_uniform(rng));

		tortuous_walk(scene, rng, x + r * cos(angle), y + r * sin(angle), 10 + pgs_prng_below(rng, 20),
					  pgs_prng_range(rng, 0.0028, 0.0045), 0.45,
					  (pgs_prng_chance(rng, 0.5) ? 1 : -1) * pgs_prng_range(rng, 0.15, 0.35),
					  pgs_prng_range(rng, 0.65, 0.9));
	}
}

void
syn_draw_irma(syn_scene *scene, pgs_prng *rng, double x, double y)
{
	for (int i = 3 + pgs_prng_below(rng, 4); i > 0; i--)
		tortuous_walk(scene, rng, x + pgs_prng_range(rng, -0.03, 0.03), y + pgs_prng_range(rng, -0.03, 0.03),
					  8 + pgs_prng_below(rng, 12), 0.003, 0.35, 0.0, 0.6);
}

bool
syn_point_on_vein(const syn_scene *scene, pgs_prng *rng, double *x, double *y)
{
	for (int tries = 0; tries < 100 && scene->vessel_count > 0; tries++)
	{
		const syn_prim *p = &scene->prims[pgs_prng_below(rng, (int) scene->vessel_count)];
		double		u = (p->x0 - scene->cx) / scene->radius,
					v = (p->y0 - scene->cy) / scene->radius;

		if (p->effect == SYN_VEIN && hypot(u, v) < 0.85)
		{
			*x = u;
			*y = v;
			return true;
		}
	}
	return false;
}
