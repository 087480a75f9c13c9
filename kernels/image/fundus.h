/* Fundus photograph preprocessing: find the circular fundus, scale it to a fixed diameter, centre it. */
#ifndef PGS_FUNDUS_H
#define PGS_FUNDUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_fundus_method
{
	PGS_FUNDUS_VOETS2018 = 0,	/* the replication's steps (docs/study.md, "Preprocessing") */
	PGS_FUNDUS_GRAHAM			/* the same geometry, then Ben Graham's local-average subtraction */
} pgs_fundus_method;

/* A fundus whose circle has this radius or less (full-resolution pixels) is ungradable. */
#define PGS_FUNDUS_MIN_RADIUS 100.0
/*
 * pgscreen's addition to the replication's test: at least this fraction of the circle's circumference must
 * be seen as the outline of the bright region away from the image border. A photograph that is not of a
 * fundus usually fills the frame (its outline is the border) or has a square or ragged outline.
 */
#define PGS_FUNDUS_MIN_RIM_FRACTION 0.25
#define PGS_FUNDUS_MIN_DIAMETER 8
#define PGS_FUNDUS_MAX_DIAMETER 4096

/* Parse "voets2018" or "graham"; an unknown name is PGS_ERR_INVALID_ARGUMENT. */
pgs_status	pgs_fundus_method_parse(const char *name, pgs_fundus_method *method, pgs_error *err);

typedef struct pgs_fundus_options
{
	int			diameter;		/* output side in pixels */
	pgs_fundus_method method;
	int64_t		max_pixels;		/* largest image decoded */
	/*
	 * 0: JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that leaves the fundus circle at least
	 * `diameter` across; other formats at full size. 1, 2, 4, 8: decode at exactly that scale.
	 */
	int			scale_denom;
} pgs_fundus_options;

void		pgs_fundus_options_init(pgs_fundus_options *opts);

/*
 * Where the fundus is, in the coordinates of the decoded image it was measured on: the centroid of the
 * largest outer contour of the mask and the radius of that contour's minimum enclosing circle.
 */
typedef struct pgs_fundus_geometry
{
	bool		found;			/* the mask has a foreground region with a non-empty outline */
	double		cx;
	double		cy;
	double		radius;
	double		area;			/* area enclosed by the contour, pixels */
	size_t		contour_points;
	double		rim_fraction;	/* share of the circumference traced by the outline off the image border */
} pgs_fundus_geometry;

/* Why a photograph is ungradable, in the order the checks are made. */
typedef enum pgs_fundus_verdict
{
	PGS_FUNDUS_GRADABLE = 0,
	PGS_FUNDUS_BLACK,			/* nothing brighter than the mask threshold, or no region with an area */
	PGS_FUNDUS_TOO_SMALL,		/* radius ≤ PGS_FUNDUS_MIN_RADIUS full-resolution pixels */
	PGS_FUNDUS_NOT_ROUND		/* rim fraction below PGS_FUNDUS_MIN_RIM_FRACTION */
} pgs_fundus_verdict;

/*
 * What fundus_circle reports: the geometry mapped to full-resolution pixel coordinates of the original
 * photograph (pixel centres at integers), its size, the decode scale used, and whether it is gradable.
 */
typedef struct pgs_fundus_circle
{
	bool		found;
	bool		gradable;		/* verdict == PGS_FUNDUS_GRADABLE */
	pgs_fundus_verdict verdict;
	double		cx;
	double		cy;
	double		radius;
	double		rim_fraction;
	int			width;
	int			height;
	int			scale_denom;
} pgs_fundus_circle;

/* A sentence fragment for an error message: why this photograph is ungradable. */
void		pgs_fundus_describe_verdict(const pgs_fundus_circle *circle, char *buf, size_t size);

/*
 * Steps 1–4 of voets2018 on an 8-bit RGB image: contrast curve (clamped at 255), BT.601 grey, mask = grey ≥ 1,
 * largest outer contour, its minimum enclosing circle and centroid; and how much of that circle the
 * outline traces (the rim fraction).
 */
pgs_status	pgs_fundus_locate(const pgs_image *rgb, pgs_fundus_geometry *geometry, pgs_error *err);

/* The contrast curve of step 1, v' = min(255, ⌊(255/1.3)·(v/(255/1.5))²⌋), as a table. */
void		pgs_fundus_contrast_table(uint8_t table[256]);

/* The foreground mask of steps 1–3 (1 = fundus), width×height bytes, from an 8-bit RGB image. */
void		pgs_fundus_mask(const pgs_image *rgb, uint8_t *mask);

/*
 * Steps 5–7: crop the square around the truncated centroid (clipped at the borders), resize by
 * (diameter/2)/radius with OpenCV-exact bilinear interpolation and pad with black, centred. The result is a
 * diameter×diameter×3 image from `allocator`. For graham, the local average colour is then subtracted and
 * everything outside 90 % of the circle set to the neutral 128.
 * The crop is the full-resolution pipeline's, from the circle in full-resolution coordinates; rgb is the
 * image decoded at 1/circle->scale_denom, sampled where the full-resolution pixels would lie (sub-pixel),
 * so a reduced decode does not shift the result by the crop's rounding to the coarse grid.
 */
pgs_status	pgs_fundus_crop_resize(const pgs_image *rgb, const pgs_fundus_circle *circle, int diameter,
								   pgs_fundus_method method, const pgs_allocator *allocator, pgs_image *out,
								   pgs_error *err);

/*
 * The whole pipeline from encoded bytes. Always fills `circle` when it returns PGS_OK. An ungradable
 * photograph (black, a radius ≤ 100 full-resolution pixels, or no round rim) is not an error here: the
 * function returns PGS_OK with circle->gradable false and out->data NULL, and the caller decides. `out` may be NULL
 * to locate the circle only (what fundus_circle needs).
 */
pgs_status	pgs_fundus_preprocess(const uint8_t *data, size_t len, const pgs_fundus_options *opts,
								  const pgs_allocator *allocator, pgs_image *out, pgs_fundus_circle *circle,
								  pgs_error *err);

/* Any decoded image (gray, gray+alpha, RGB, RGBA; 8 or 16 bits) as 8-bit RGB from `allocator`. */
pgs_status	pgs_image_to_rgb8(const pgs_image *in, const pgs_allocator *allocator, pgs_image *out,
							  pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
