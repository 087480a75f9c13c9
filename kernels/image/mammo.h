/* Mammogram preprocessing on presentation values: orient the breast left, crop it (Otsu), resize, pad. */
#ifndef PGS_MAMMO_H
#define PGS_MAMMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../common/tensor.h"
#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PGS_MAMMO_MIN_SIDE 16
#define PGS_MAMMO_MAX_SIDE 8192

/* Where the chest wall is, as the header says it (Patient Orientation, else laterality). */
typedef enum pgs_chest_wall
{
	PGS_CHEST_WALL_UNKNOWN = 0,
	PGS_CHEST_WALL_LEFT,
	PGS_CHEST_WALL_RIGHT
} pgs_chest_wall;

/* Which evidence decided the orientation. */
typedef enum pgs_orientation_source
{
	PGS_ORIENTED_BY_IMAGE = 0,	/* the breast touches one side of the image, or is much heavier there */
	PGS_ORIENTED_BY_HEADER,		/* the image was ambiguous: Patient Orientation or laterality decided */
	PGS_ORIENTED_BY_DEFAULT		/* neither: left as stored */
} pgs_orientation_source;

const char *pgs_orientation_source_name(pgs_orientation_source source);

typedef struct pgs_mammo_options
{
	int			height;			/* output rows (default 1024) */
	int			width;			/* output columns (default 832) */
	pgs_dtype	dtype;			/* U8 (default), U16 or F32 */
} pgs_mammo_options;

void		pgs_mammo_options_init(pgs_mammo_options *opts);

/* What was found, in the coordinates of the image as stored (before any flip). */
typedef struct pgs_mammo_report
{
	int			threshold;		/* Otsu's threshold on the 8-bit presentation values */
	int			x;				/* bounding box of the breast (the largest bright region) */
	int			y;
	int			width;
	int			height;
	int64_t		pixels;			/* its area */
	bool		flipped;		/* mirrored so that the chest wall is at the left */
	pgs_orientation_source oriented_by;
} pgs_mammo_report;

/*
 * A grey image of presentation values in [0, 1] (F32, 1 = white: after the Modality LUT, the VOI window or
 * LUT and MONOCHROME1 inversion) becomes a height×width image of `opts->dtype`:
 *   1. the breast is the largest 8-connected region brighter than Otsu's threshold; its bounding box is the
 *      crop, and other bright regions of some size inside it (burned-in labels, markers; at least 1/2000 of the
 *      image) are blanked to black — dark pixels and specks are left alone, so tissue is never cut;
 *   2. the image is mirrored so the chest wall is at the left: the side the breast touches, or carries much
 *      more of its area; when the image cannot tell, `header` decides;
 *   3. the crop is resized keeping its aspect ratio to fit (area averaging when shrinking), placed against
 *      the left edge, centred vertically, and padded with black.
 * An image with no bright region is an error (PGS_ERR_BAD_DATA).
 */
pgs_status	pgs_mammo_preprocess(const pgs_image *presentation, pgs_chest_wall header, const pgs_mammo_options *opts,
								 const pgs_allocator *allocator, pgs_image *out, pgs_mammo_report *report,
								 pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
