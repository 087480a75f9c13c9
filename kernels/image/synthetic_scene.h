/* Internal to the synthetic fundus generator: the scene (anatomy, camera) and the drawing primitives. */
#ifndef PGS_SYNTHETIC_SCENE_H
#define PGS_SYNTHETIC_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/prng.h"
#include "../common/status.h"

/*
 * Lengths in the scene are in units of the fundus radius R with the origin at the fundus centre and y
 * pointing down, so an eye looks the same at any image size; primitives are converted to pixels when added.
 */

typedef enum syn_shape
{
	SYN_CAPSULE,				/* a segment with a half-width: vessels, flame haemorrhages */
	SYN_ELLIPSE					/* microaneurysms, blots, exudates, spots */
} syn_shape;

typedef enum syn_effect
{
	SYN_VEIN,					/* vessels combine by maximum within their kind, then darken */
	SYN_ARTERY,
	SYN_NEW_VESSEL,
	SYN_DARKEN,					/* absorbs: colour ×= 1 − α + α·color */
	SYN_TINT					/* scatters: colour = (1 − α)·colour + α·color */
} syn_effect;

typedef enum syn_profile
{
	SYN_SHARP,					/* full opacity to an anti-aliased edge (exudates) */
	SYN_DOME,					/* √(1 − q²): thick in the middle (vessels, haemorrhages) */
	SYN_SOFT					/* Gaussian falloff beyond the nominal radius (cotton-wool, dust) */
} syn_profile;

#define SYN_VESSEL_KINDS 3

typedef struct syn_prim
{
	uint8_t		shape;
	uint8_t		effect;
	uint8_t		profile;
	float		x0,
				y0,
				x1,
				y1;				/* pixels: capsule ends, or the ellipse centre in (x0, y0) */
	float		a;				/* capsule half-width, or ellipse semi-axis along the orientation */
	float		b;				/* ellipse semi-axis across */
	float		cos_t,
				sin_t;			/* ellipse orientation */
	float		flat_top;		/* ellipse: cut off where the normalised y is below this (≥ −1) */
	float		strength;		/* peak opacity */
	float		color[3];
	int			bbox[4];		/* x0, y0, x1, y1 in pixels, inclusive */
} syn_prim;

typedef struct syn_scene
{
	int			width;
	int			height;
	double		cx;				/* fundus centre and radius, pixels */
	double		cy;
	double		radius;
	int			side;			/* +1 right eye (disc on the right of the picture), −1 left */

	/* anatomy, in R units */
	double		disc_x,
				disc_y,
				disc_rx,
				disc_ry,
				cup_ratio;
	double		disc_color[3];
	double		fovea_x,
				fovea_y;
	double		macula_sigma,
				macula_depth;
	bool		foveal_reflex;
	double		albedo[3];
	double		texture_amplitude;
	uint64_t	texture_seed;

	/* illumination and camera */
	double		gain;
	double		vignetting;
	double		gradient,
				gradient_x,
				gradient_y;
	double		rim_halo;
	double		channel_gain[3];
	double		gamma;
	double		blur_sigma_px;
	double		noise_levels;
	int			jpeg_quality;

	/* vessels first, then lesions in the order they are drawn */
	syn_prim   *prims;
	size_t		count;
	size_t		capacity;
	size_t		vessel_count;
	bool		out_of_memory;
} syn_scene;

/* Add primitives; positions and sizes in R units. Failures to grow set scene->out_of_memory. */
void		syn_add_capsule(syn_scene *scene, syn_effect effect, double x0, double y0, double x1, double y1,
							double half_width, double strength, const double color[3]);
void		syn_add_ellipse(syn_scene *scene, syn_effect effect, syn_profile profile, double x, double y,
							double a, double b, double angle, double strength, const double color[3]);
/* An ellipse whose upper part above normalised height `flat_top` is cut off: a boat-shaped bleed. */
void		syn_add_boat(syn_scene *scene, double x, double y, double a, double b, double flat_top,
						 double strength, const double color[3]);

/* The vessel tree: arcades around the macula, nasal trunks, macular twigs; veins beaded when asked. */
void		syn_draw_vessels(syn_scene *scene, pgs_prng *rng, bool beading);

/* Tangles of fine new vessels within `spread` of (x, y), or intraretinal microvascular abnormalities. */
void		syn_draw_new_vessels(syn_scene *scene, pgs_prng *rng, double x, double y, double spread, int loops);
void		syn_draw_irma(syn_scene *scene, pgs_prng *rng, double x, double y);

/* A random point on a vein (R units) within 0.85 R of the centre, for lesions that follow vessels. */
bool		syn_point_on_vein(const syn_scene *scene, pgs_prng *rng, double *x, double *y);

/* Rasterise the scene into 8-bit RGB (width × height × 3), then blur and add sensor noise. */
pgs_status	syn_render(const syn_scene *scene, uint8_t *rgb, uint64_t noise_seed, pgs_error *err);

#endif
