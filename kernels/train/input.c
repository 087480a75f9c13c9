/* Prepares a network's uint8 HWC input from NPY tensors or raw images, preprocessing as the model says. */
#include "input.h"

#include <string.h>

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
	pgs_decode_options_init(&opts);
	opts.max_pixels = spec->max_pixels;
	st = pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &image, err);
	if (st != PGS_OK)
		return st;
	st = copy_checked(&image, format, spec, dst, err);
	pgs_image_free(&pgs_malloc_allocator, &image);
	return st;
}
