/* Mammogram preprocessing on presentation values: Otsu, the breast region, orientation, crop, resize, pad. */
#include "mammo.h"
#include "geometry.h"
#include "imgproc.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *
pgs_orientation_source_name(pgs_orientation_source source)
{
	switch (source)
	{
		case PGS_ORIENTED_BY_IMAGE:
			return "image";
		case PGS_ORIENTED_BY_HEADER:
			return "header";
		case PGS_ORIENTED_BY_DEFAULT:
			break;
	}
	return "default";
}

void
pgs_mammo_options_init(pgs_mammo_options *opts)
{
	opts->height = 1024;
	opts->width = 832;
	opts->dtype = PGS_DTYPE_U8;
}

static int
level_of(float v)
{
	return v <= 0.0f ? 0 : v >= 1.0f ? 255 : (int) lrintf(v * 255.0f);
}

/*
 * Is the chest wall on the right? The breast is pressed against the detector at the chest wall, so its
 * region reaches that edge of the image, and the breast is thickest there. If the region touches exactly
 * one side, that is the chest wall; if it touches both or neither, the side holding clearly more of its
 * area (a third more) is; otherwise the header decides.
 */
static bool
chest_wall_right(const pgs_component *c, int width, pgs_chest_wall header, pgs_orientation_source *source)
{
	bool		touches_left = c->x0 == 0,
				touches_right = c->x1 == width - 1;

	*source = PGS_ORIENTED_BY_IMAGE;
	if (touches_left != touches_right)
		return touches_right;
	if (c->right_pixels * 3 > c->left_pixels * 4)
		return true;
	if (c->left_pixels * 3 > c->right_pixels * 4)
		return false;
	*source = header == PGS_CHEST_WALL_UNKNOWN ? PGS_ORIENTED_BY_DEFAULT : PGS_ORIENTED_BY_HEADER;
	return header == PGS_CHEST_WALL_RIGHT;
}

static void
store(const float *v, size_t n, pgs_dtype dtype, void *dst)
{
	for (size_t i = 0; i < n; i++)
	{
		float		x = v[i] <= 0.0f ? 0.0f : v[i] >= 1.0f ? 1.0f : v[i];

		if (dtype == PGS_DTYPE_U8)
			((uint8_t *) dst)[i] = (uint8_t) lrintf(x * 255.0f);
		else if (dtype == PGS_DTYPE_U16)
			((uint16_t *) dst)[i] = (uint16_t) lrintf(x * 65535.0f);
		else
			((float *) dst)[i] = x;
	}
}

pgs_status
pgs_mammo_preprocess(const pgs_image *in, pgs_chest_wall header, const pgs_mammo_options *opts,
					 const pgs_allocator *allocator, pgs_image *out, pgs_mammo_report *report, pgs_error *err)
{
	const float *px = in->data;
	size_t		n = (size_t) in->width * in->height;
	uint64_t	histogram[256] = {0};
	uint8_t    *mask = NULL;
	float	   *crop = NULL,
			   *fitted = NULL,
			   *canvas = NULL;
	pgs_component breast;
	int			cw,
				ch,
				fit_w,
				fit_h,
				top;
	double		scale;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	memset(report, 0, sizeof(*report));
	if (opts->height < PGS_MAMMO_MIN_SIDE || opts->height > PGS_MAMMO_MAX_SIDE ||
		opts->width < PGS_MAMMO_MIN_SIDE || opts->width > PGS_MAMMO_MAX_SIDE)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "height and width must be between %d and %d pixels, not %d×%d",
						PGS_MAMMO_MIN_SIDE, PGS_MAMMO_MAX_SIDE, opts->height, opts->width);
	if (opts->dtype != PGS_DTYPE_U8 && opts->dtype != PGS_DTYPE_U16 && opts->dtype != PGS_DTYPE_F32)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown output type");
	if (in->dtype != PGS_DTYPE_F32 || in->channels != 1)
		return pgs_fail(err, PGS_ERR_INTERNAL, "mammogram preprocessing needs one float channel");

	/* 1. Otsu's threshold on the presentation values at 8 bits, and the largest bright region */
	for (size_t i = 0; i < n; i++)
		histogram[level_of(px[i])]++;
	report->threshold = pgs_otsu_threshold(histogram);
	if ((st = pgs_cancel_point(err)) != PGS_OK)
		return st;
	if ((mask = malloc(n)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d mask", in->width, in->height);
	for (size_t i = 0; i < n; i++)
		mask[i] = level_of(px[i]) > report->threshold;
	/* other regions of 1/2000 of the image or more are labels or markers; smaller ones are specks */
	if ((st = pgs_cancel_point(err)) == PGS_OK)
		st = pgs_classify_regions(mask, in->width, in->height, (int64_t) (n / 2000 > 16 ? n / 2000 : 16), &breast,
								  err);
	if (st == PGS_OK && breast.pixels == 0)
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "the image has no bright region to take for the breast");
	if (st != PGS_OK)
	{
		free(mask);
		return st;
	}
	report->x = breast.x0;
	report->y = breast.y0;
	report->width = cw = breast.x1 - breast.x0 + 1;
	report->height = ch = breast.y1 - breast.y0 + 1;
	report->pixels = breast.pixels;

	/* 2. crop, mirrored when the chest wall is on the right */
	report->flipped = chest_wall_right(&breast, in->width, header, &report->oriented_by);
	if ((crop = malloc(sizeof(float) * (size_t) cw * ch)) == NULL)
	{
		free(mask);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d crop", cw, ch);
	}
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++)
		{
			size_t		at = (size_t) (breast.y0 + y) * in->width + breast.x0 + (report->flipped ? cw - 1 - x : x);

			/* a bright pixel of another sizeable region: a label or marker, not breast */
			crop[(size_t) y * cw + x] = mask[at] == PGS_REGION_OTHER ? 0.0f : px[at];
		}
	free(mask);

	/* 3. fit inside height × width keeping the aspect ratio, against the left edge, centred vertically */
	scale = fmin((double) opts->height / ch, (double) opts->width / cw);
	fit_w = (int) fmax(1.0, fmin(opts->width, lround(cw * scale)));
	fit_h = (int) fmax(1.0, fmin(opts->height, lround(ch * scale)));
	top = (opts->height - fit_h) / 2;
	fitted = malloc(sizeof(float) * (size_t) fit_w * fit_h);
	canvas = calloc((size_t) opts->width * opts->height, sizeof(float));
	out->data = pgs_alloc(allocator, (size_t) opts->width * opts->height * pgs_dtype_size(opts->dtype));
	if (fitted == NULL || canvas == NULL || out->data == NULL)
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", opts->width, opts->height);
	else
		st = pgs_resize_area_f32(crop, cw, ch, fitted, fit_w, fit_h, err);
	if (st == PGS_OK)
	{
		for (int y = 0; y < fit_h; y++)
			memcpy(canvas + (size_t) (top + y) * opts->width, fitted + (size_t) y * fit_w, sizeof(float) * fit_w);
		store(canvas, (size_t) opts->width * opts->height, opts->dtype, out->data);
		out->width = opts->width;
		out->height = opts->height;
		out->channels = 1;
		out->dtype = opts->dtype;
		out->bits = opts->dtype == PGS_DTYPE_U8 ? 8 : opts->dtype == PGS_DTYPE_U16 ? 16 : 32;
	}
	else
		pgs_image_free(allocator, out);
	free(crop);
	free(fitted);
	free(canvas);
	return st;
}
