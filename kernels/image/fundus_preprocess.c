/* The fundus pipeline from encoded bytes: decode at the right DCT scale, locate, crop, resize, pad (graham). */
#include "fundus.h"
#include "imgproc.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

pgs_status
pgs_fundus_method_parse(const char *name, pgs_fundus_method *method, pgs_error *err)
{
	if (strcmp(name, "voets2018") == 0)
		*method = PGS_FUNDUS_VOETS2018;
	else if (strcmp(name, "graham") == 0)
		*method = PGS_FUNDUS_GRAHAM;
	else
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"unknown fundus preprocessing method \"%s\" (expected voets2018 or graham)", name);
	return PGS_OK;
}

void
pgs_fundus_options_init(pgs_fundus_options *opts)
{
	opts->diameter = 299;
	opts->method = PGS_FUNDUS_VOETS2018;
	opts->max_pixels = PGS_DEFAULT_MAX_PIXELS;
	opts->scale_denom = 0;
}

static uint8_t
sample_to_u8(const pgs_image *in, size_t index, double max_value)
{
	double		v;

	if (in->dtype == PGS_DTYPE_U8)
		return ((const uint8_t *) in->data)[index];
	v = ((const uint16_t *) in->data)[index];
	v = v >= max_value ? 255.0 : v * 255.0 / max_value;
	return (uint8_t) (v + 0.5);
}

pgs_status
pgs_image_to_rgb8(const pgs_image *in, const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	size_t		n = (size_t) in->width * in->height;
	size_t		chunk = (size_t) in->width * PGS_CANCEL_ROWS;
	int			bits = in->bits > 0 && in->bits <= 16 ? in->bits : (in->dtype == PGS_DTYPE_U8 ? 8 : 16);
	double		max_value = (double) ((1u << bits) - 1);
	uint8_t    *dst;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	if (in->dtype != PGS_DTYPE_U8 && in->dtype != PGS_DTYPE_U16)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "a photograph must have 8 or 16-bit samples, not %s",
						pgs_dtype_name(in->dtype));
	if (in->channels < 1 || in->channels > 4)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "a photograph must have 1 to 4 channels, not %d", in->channels);
	if ((dst = pgs_alloc(allocator, n * 3)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", in->width, in->height);
	/* Gray (and gray + alpha) is repeated in R, G and B; alpha is dropped. */
	for (size_t start = 0; start < n; start += chunk)
	{
		if ((st = pgs_cancel_point(err)) != PGS_OK)
		{
			pgs_free(allocator, dst);
			return st;
		}
		for (size_t i = start; i < n && i < start + chunk; i++)
		{
			size_t		at = i * in->channels;

			if (in->channels <= 2)
				dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = sample_to_u8(in, at, max_value);
			else
				for (int c = 0; c < 3; c++)
					dst[3 * i + c] = sample_to_u8(in, at + c, max_value);
		}
	}
	out->width = in->width;
	out->height = in->height;
	out->channels = 3;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	out->data = dst;
	return PGS_OK;
}

/*
 * Ben Graham's Kaggle preprocessing on the scaled fundus: 4·(img − Gaussian(img, σ = radius/30)) + 128
 * (saturated, as cv2.addWeighted does), which removes the local average colour and so the camera's
 * illumination, then everything outside 90 % of the circle set to 128, hiding the blur's edge effects.
 */
static pgs_status
subtract_local_average(uint8_t *pixels, int side, double cx, double cy, double radius, pgs_error *err)
{
	size_t		n = (size_t) side * side * 3;
	uint8_t    *blur = malloc(n);
	double		keep = 0.9 * radius;
	pgs_status	st;

	if (blur == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", side, side);
	if ((st = pgs_gaussian_blur_u8(pixels, blur, side, side, 3, radius / 30.0, err)) != PGS_OK)
	{
		free(blur);
		return st;
	}
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++)
		{
			uint8_t    *p = pixels + ((size_t) y * side + x) * 3;
			const uint8_t *b = blur + ((size_t) y * side + x) * 3;
			bool		inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= keep * keep;

			for (int c = 0; c < 3; c++)
			{
				int			v = 4 * (p[c] - b[c]) + 128;

				p[c] = !inside ? 128 : v < 0 ? 0 : v > 255 ? 255 : (uint8_t) v;
			}
		}
	free(blur);
	return PGS_OK;
}

static int
max_int(int a, int b)
{
	return a > b ? a : b;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

/*
 * The crop of the full-resolution pipeline along one axis, in full-resolution pixels: from the truncated
 * centre less the radius (clipped at 0) for the truncated diameter (clipped at the image's end).
 */
static void
crop_span(double centre, double radius, int full_length, int *start, int *length)
{
	int			side = (int) (2.0 * radius);

	*start = max_int(0, (int) ((int) centre - radius));
	*length = min_int(*start + side, full_length) - *start;
}

/*
 * Resample one axis of the crop from an image decoded at 1/denom: output pixel u samples full-resolution
 * position (u + 0.5)/factor − 0.5 + start, which lies at (p + 0.5)/denom − 0.5 in the decoded image. The
 * window of decoded pixels that covers the crop is where sampling clamps, as the crop's edges clamp it at
 * full resolution; at denom 1 the window is the crop itself and the mapping the plain resize.
 */
static void
scaled_window(int start, int length, int denom, int decoded_length, int *window_start, int *window_length,
			  double *offset)
{
	int			first = start / denom,
				last = min_int((start + length - 1) / denom, decoded_length - 1);

	*window_start = first;
	*window_length = last - first + 1;
	*offset = (double) start / denom - first;
}

pgs_status
pgs_fundus_crop_resize(const pgs_image *rgb, const pgs_fundus_circle *circle, int diameter,
					   pgs_fundus_method method, const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	double		r = circle->radius;
	int			denom = circle->scale_denom;
	int			x0,
				y0,
				crop_w,
				crop_h,
				wx0,
				wy0,
				window_w,
				window_h;
	double		factor = (diameter / 2.0) / r,
				offset_x,
				offset_y;
	int			out_w,
				out_h,
				top,
				left;
	uint8_t    *pixels;
	pgs_status	st;

	memset(out, 0, sizeof(*out));
	if (!circle->found || !(r > 0) || denom < 1)
		return pgs_fail(err, PGS_ERR_INTERNAL, "no fundus to crop");
	crop_span(circle->cx, r, circle->width, &x0, &crop_w);
	crop_span(circle->cy, r, circle->height, &y0, &crop_h);
	if (crop_w <= 0 || crop_h <= 0)
		return pgs_fail(err, PGS_ERR_INTERNAL, "no fundus to crop");
	scaled_window(x0, crop_w, denom, rgb->width, &wx0, &window_w, &offset_x);
	scaled_window(y0, crop_h, denom, rgb->height, &wy0, &window_h, &offset_y);
	if (window_w <= 0 || window_h <= 0)
		return pgs_fail(err, PGS_ERR_INTERNAL, "no fundus to crop");
	out_w = min_int(diameter, max_int(1, pgs_resize_length(crop_w, factor)));
	out_h = min_int(diameter, max_int(1, pgs_resize_length(crop_h, factor)));
	/* Centred; when the margin is odd the extra pixel goes on the top and the left. */
	top = (diameter - out_h) / 2;
	left = (diameter - out_w) / 2;
	if (out_h + 2 * top == diameter - 1)
		top++;
	if (out_w + 2 * left == diameter - 1)
		left++;

	if ((pixels = pgs_alloc(allocator, (size_t) diameter * diameter * 3)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", diameter, diameter);
	memset(pixels, 0, (size_t) diameter * diameter * 3);
	if (denom == 1)
		st = pgs_resize_bilinear_u8((const uint8_t *) rgb->data + ((size_t) y0 * rgb->width + x0) * 3,
									crop_w, crop_h, (size_t) rgb->width * 3, 3,
									pixels + ((size_t) top * diameter + left) * 3, out_w, out_h,
									(size_t) diameter * 3, factor, factor, err);
	else
		st = pgs_resample_bilinear_u8((const uint8_t *) rgb->data + ((size_t) wy0 * rgb->width + wx0) * 3,
									  window_w, window_h, (size_t) rgb->width * 3, 3,
									  pixels + ((size_t) top * diameter + left) * 3, out_w, out_h,
									  (size_t) diameter * 3, 1.0 / (factor * denom), offset_x,
									  1.0 / (factor * denom), offset_y, err);
	if (st == PGS_OK && method == PGS_FUNDUS_GRAHAM)
	{
		/* Where the fundus centre lands: source pixel centres map to (s + 0.5)·factor − 0.5. */
		double		cx = left + (circle->cx - x0 + 0.5) * factor - 0.5,
					cy = top + (circle->cy - y0 + 0.5) * factor - 0.5;

		st = subtract_local_average(pixels, diameter, cx, cy, diameter / 2.0, err);
	}
	if (st != PGS_OK)
	{
		pgs_free(allocator, pixels);
		return st;
	}
	out->width = out->height = diameter;
	out->channels = 3;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	out->data = pixels;
	return PGS_OK;
}

/* Decode at 1/denom into 8-bit RGB (malloc'd) and locate the fundus on it. */
static pgs_status
decode_and_locate(const uint8_t *data, size_t len, int denom, int64_t max_pixels, pgs_image *rgb,
				  pgs_fundus_geometry *geometry, pgs_error *err)
{
	pgs_decode_options opts;
	pgs_image	decoded;
	pgs_status	st;

	pgs_decode_options_init(&opts);
	opts.scale_denom = denom;
	opts.max_pixels = max_pixels;
	if ((st = pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &decoded, err)) != PGS_OK)
		return st;
	if (decoded.dtype == PGS_DTYPE_U8 && decoded.channels == 3)
		*rgb = decoded;
	else
	{
		st = pgs_image_to_rgb8(&decoded, &pgs_malloc_allocator, rgb, err);
		pgs_image_free(&pgs_malloc_allocator, &decoded);
		if (st != PGS_OK)
			return st;
	}
	if ((st = pgs_fundus_locate(rgb, geometry, err)) != PGS_OK)
		pgs_image_free(&pgs_malloc_allocator, rgb);
	return st;
}

/* The largest of 1, 2, 4, 8 that keeps a radius of radius_px full-resolution pixels ≥ diameter/2. */
static int
coarsest_denom(double radius_px, int diameter)
{
	int			denom = 1;

	while (denom < 8 && radius_px / (2 * denom) >= diameter / 2.0)
		denom *= 2;
	return denom;
}

/*
 * DCT scaling (JPEG): the circle is unknown before decoding, so guess it from the header — fundus cameras
 * frame the fundus to fill about the shorter side (radius 0.45–0.55 of it; the guess is the middle) —
 * decode at the scale the guess allows, measure, and decode again only when the measured circle calls for
 * another scale (a guess off by a little costs one more decode, usually a cheap coarse one). The measured radius is widened
 * by one coarse pixel of uncertainty before choosing. If the circle still ends up smaller than the target,
 * halve the denominator until it does not (or the scale is 1). Each step depends on the bytes alone, so the
 * result is deterministic.
 */
static pgs_status
decode_at_best_scale(const uint8_t *data, size_t len, const pgs_image_info *info, const pgs_fundus_options *opts,
					 pgs_image *rgb, pgs_fundus_geometry *geometry, int *denom, pgs_error *err)
{
	int			shorter = info->width < info->height ? info->width : info->height;
	int			guess = coarsest_denom(0.5 * shorter, opts->diameter);
	int			want;
	pgs_status	st;

	*denom = guess;
	if ((st = decode_and_locate(data, len, guess, opts->max_pixels, rgb, geometry, err)) != PGS_OK)
		return st;
	want = geometry->found ? coarsest_denom(geometry->radius * guess - guess, opts->diameter) : 1;
	while (want != *denom || (geometry->found && geometry->radius < opts->diameter / 2.0 && *denom > 1))
	{
		if (want == *denom)
			want = *denom / 2;
		pgs_image_free(&pgs_malloc_allocator, rgb);
		*denom = want;
		if ((st = decode_and_locate(data, len, want, opts->max_pixels, rgb, geometry, err)) != PGS_OK)
			return st;
		if (!geometry->found)
			break;
	}
	return PGS_OK;
}

pgs_status
pgs_fundus_preprocess(const uint8_t *data, size_t len, const pgs_fundus_options *opts,
					  const pgs_allocator *allocator, pgs_image *out, pgs_fundus_circle *circle, pgs_error *err)
{
	pgs_image_info info;
	pgs_image	rgb;
	pgs_fundus_geometry geometry;
	int			denom;
	pgs_status	st;

	memset(circle, 0, sizeof(*circle));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (opts->diameter < PGS_FUNDUS_MIN_DIAMETER || opts->diameter > PGS_FUNDUS_MAX_DIAMETER)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "diameter must be between %d and %d pixels, not %d",
						PGS_FUNDUS_MIN_DIAMETER, PGS_FUNDUS_MAX_DIAMETER, opts->diameter);
	if (opts->scale_denom != 0 && opts->scale_denom != 1 && opts->scale_denom != 2 && opts->scale_denom != 4 &&
		opts->scale_denom != 8)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "scale denominator must be 0 (automatic), 1, 2, 4 or 8, not %d",
						opts->scale_denom);
	if ((st = pgs_image_probe(data, len, &info, err)) != PGS_OK)
		return st;
	if (info.frames != 1)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "a photograph must have one frame, not %d", info.frames);

	if (opts->scale_denom == 0 && info.format == PGS_FORMAT_JPEG)
		st = decode_at_best_scale(data, len, &info, opts, &rgb, &geometry, &denom, err);
	else
	{
		denom = opts->scale_denom == 0 ? 1 : opts->scale_denom;
		st = decode_and_locate(data, len, denom, opts->max_pixels, &rgb, &geometry, err);
	}
	if (st != PGS_OK)
		return st;

	circle->found = geometry.found;
	circle->width = info.width;
	circle->height = info.height;
	circle->scale_denom = denom;
	circle->verdict = PGS_FUNDUS_BLACK;
	if (geometry.found)
	{
		/* Scaled pixel i covers full-resolution pixels [i·d, (i + 1)·d), whose centre is i·d + (d − 1)/2. */
		circle->cx = geometry.cx * denom + (denom - 1) / 2.0;
		circle->cy = geometry.cy * denom + (denom - 1) / 2.0;
		circle->radius = geometry.radius * denom;
		circle->rim_fraction = geometry.rim_fraction;
		circle->verdict = circle->radius <= PGS_FUNDUS_MIN_RADIUS ? PGS_FUNDUS_TOO_SMALL
			: geometry.rim_fraction < PGS_FUNDUS_MIN_RIM_FRACTION ? PGS_FUNDUS_NOT_ROUND : PGS_FUNDUS_GRADABLE;
		circle->gradable = circle->verdict == PGS_FUNDUS_GRADABLE;
	}
	if (out != NULL && circle->gradable)
		st = pgs_fundus_crop_resize(&rgb, circle, opts->diameter, opts->method, allocator, out, err);
	pgs_image_free(&pgs_malloc_allocator, &rgb);
	return st;
}
