/* Prepares a network's uint8 HWC input from NPY tensors or raw images, preprocessing as the model says. */
#include "input.h"

#include <string.h>

#include "../image/fundus.h"
#include "../image/image.h"

static pgs_status
copy_checked(const pgs_image *image, pgs_image_format format, const pgs_input_spec *spec, uint8_t *dst,
			 pgs_error *err)
{
	if (image->dtype != PGS_DTYPE_U8)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "input is a %s of %s samples, not uint8",
						pgs_image_format_name(format), image->dtype == PGS_DTYPE_U16 ? "uint16" : "float32");
	if (image->width != spec->width || image->height != spec->height || image->channels != spec->channels)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"input is %d×%d×%d but the model takes %d×%d×%d (height×width×channels)",
						image->height, image->width, image->channels, spec->height, spec->width,
						spec->channels);
	memcpy(dst, image->data, (size_t) spec->height * spec->width * spec->channels);
	return PGS_OK;
}

/* The model's fundus preprocessing (voets2018 or graham) on a raw photograph. */
static pgs_status
preprocess_fundus(const uint8_t *data, size_t len, const pgs_input_spec *spec, uint8_t *dst, pgs_error *err)
{
	pgs_fundus_options opts;
	pgs_fundus_circle circle;
	pgs_image	image;
	pgs_status	st;

	pgs_fundus_options_init(&opts);
	opts.method = spec->preprocess == PGS_RECIPE_PREPROCESS_GRAHAM ? PGS_FUNDUS_GRAHAM : PGS_FUNDUS_VOETS2018;
	opts.diameter = spec->preprocess_diameter > 0 ? spec->preprocess_diameter : spec->height;
	opts.max_pixels = spec->max_pixels;
	st = pgs_fundus_preprocess(data, len, &opts, &pgs_malloc_allocator, &image, &circle, err);
	if (st != PGS_OK)
		return st;
	if (!circle.gradable)
		return circle.found ?
			pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "no gradable fundus: its radius is %.1f px, at most %.0f",
					 circle.radius, PGS_FUNDUS_MIN_RADIUS) :
			pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "no fundus found in the photograph");
	st = copy_checked(&image, PGS_FORMAT_NPY, spec, dst, err);
	pgs_image_free(&pgs_malloc_allocator, &image);
	return st;
}

pgs_status
pgs_input_prepare(const uint8_t *data, size_t len, const pgs_input_spec *spec, uint8_t *dst, pgs_error *err)
{
	pgs_image_format format = pgs_image_sniff(data, len);
	pgs_decode_options opts;
	pgs_image	image;
	pgs_status	st;

	if (format != PGS_FORMAT_NPY && spec->preprocess == PGS_RECIPE_PREPROCESS_NONE &&
		format != PGS_FORMAT_UNKNOWN)
	{
		/* An image that is already the input size needs no preprocessing; any other one does. */
		pgs_image_info info;

		if (pgs_image_probe(data, len, &info, err) != PGS_OK)
			return err ? err->code : PGS_ERR_BAD_DATA;
		if (info.width != spec->width || info.height != spec->height)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"input is a %d×%d %s image but the model takes %d×%d tensors and no preprocessing",
							info.width, info.height, pgs_image_format_name(format), spec->width, spec->height);
	}
	if (format != PGS_FORMAT_NPY && spec->preprocess != PGS_RECIPE_PREPROCESS_NONE)
		return preprocess_fundus(data, len, spec, dst, err);
	pgs_decode_options_init(&opts);
	opts.max_pixels = spec->max_pixels;
	st = pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &image, err);
	if (st != PGS_OK)
		return st;
	st = copy_checked(&image, format, spec, dst, err);
	pgs_image_free(&pgs_malloc_allocator, &image);
	return st;
}
