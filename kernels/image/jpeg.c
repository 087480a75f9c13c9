/* JPEG decoding with libjpeg-turbo's TurboJPEG API, including DCT-domain scaling to 1/2, 1/4 or 1/8 size. */
#include "image.h"
#include "../common/cancel.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <turbojpeg.h>

/*
 * Decoding is strict: libjpeg-turbo "warnings" (a truncated file, corrupt entropy data) fill the rest of
 * the image with grey and report success, which would feed silently damaged photographs into training.
 * TJFLAG_STOPONWARNING turns them into errors; TJFLAG_LIMITSCANS refuses progressive files with an absurd
 * number of scans (a known decompression-bomb vector).
 */
#define PGS_TJ_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

static int
channels_for_colorspace(int colorspace)
{
	switch (colorspace)
	{
		case TJCS_GRAY:
			return 1;
		case TJCS_CMYK:
		case TJCS_YCCK:
			return 4;
		default:
			return 3;
	}
}

/*
 * Find the frame header (SOFn) by walking the marker segments ourselves. TurboJPEG 2.1 "succeeds" on a
 * header cut short and reports whatever bytes follow as the size (seen: a 44 TB allocation request), so its
 * dimensions are only trusted when a complete SOF segment with the same numbers is present.
 */
static bool
find_frame_header(const uint8_t *data, size_t len, int *width, int *height)
{
	size_t		pos = 2;

	while (pos + 4 <= len)
	{
		uint8_t		marker;
		size_t		seglen;

		if (data[pos] != 0xFF)
			return false;
		marker = data[pos + 1];
		if (marker == 0xFF)
		{
			pos++;				/* fill byte */
			continue;
		}
		if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
		{
			pos += 2;
			continue;
		}
		if (marker == 0xD9 || marker == 0xDA)
			return false;		/* end of image or scan data before any frame header */
		seglen = ((size_t) data[pos + 2] << 8) | data[pos + 3];
		if (seglen < 2 || pos + 2 + seglen > len)
			return false;
		if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
		{
			if (seglen < 8)
				return false;
			*height = (data[pos + 5] << 8) | data[pos + 6];
			*width = (data[pos + 7] << 8) | data[pos + 8];
			return true;
		}
		pos += 2 + seglen;
	}
	return false;
}

static pgs_status
read_header(tjhandle tj, const uint8_t *data, size_t len, int *width, int *height, int *colorspace,
			pgs_error *err)
{
	int			subsamp;
	int			sof_width,
				sof_height;

	if (len < 4 || data[0] != 0xFF || data[1] != 0xD8)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "data is not a JPEG file");
	if (!find_frame_header(data, len, &sof_width, &sof_height))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "invalid JPEG header: no complete frame header (SOF) found");
	if (len > (size_t) (unsigned long) -1)
		return pgs_fail(err, PGS_ERR_LIMIT, "JPEG file is too large");
	if (tjDecompressHeader3(tj, data, (unsigned long) len, width, height, &subsamp, colorspace) != 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "invalid JPEG header: %s", tjGetErrorStr2(tj));
	if (*width <= 0 || *height <= 0 || *width != sof_width || *height != sof_height)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "invalid JPEG header: %d×%d image", *width, *height);
	return PGS_OK;
}

pgs_status
pgs_jpeg_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err)
{
	tjhandle	tj = tjInitDecompress();
	int			width,
				height,
				colorspace;
	pgs_status	st;

	if (tj == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the JPEG decoder");
	st = read_header(tj, data, len, &width, &height, &colorspace, err);
	tjDestroy(tj);
	if (st != PGS_OK)
		return st;
	info->format = PGS_FORMAT_JPEG;
	info->width = width;
	info->height = height;
	info->channels = channels_for_colorspace(colorspace);
	info->bits = 8;
	info->frames = 1;
	return PGS_OK;
}

int
pgs_jpeg_pick_scale_denom(int width, int height, int min_width, int min_height)
{
	int			best = 1;

	for (int denom = 2; denom <= 8; denom *= 2)
	{
		/* libjpeg-turbo rounds scaled sizes up: ceil(size / denom). */
		if ((width + denom - 1) / denom >= min_width && (height + denom - 1) / denom >= min_height)
			best = denom;
	}
	return best;
}

/*
 * CMYK JPEGs in the wild are written by Adobe applications with inverted values (0 = full ink), and
 * libjpeg returns the stored values. With C = 255 − C' and K' = 255 − K this is Pillow's conversion
 * R = K' − C·K'/255 (rounded the same way), so pixels agree with Pillow exactly.
 */
static void
inverted_cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t pixels)
{
	for (size_t i = 0; i < pixels; i++)
	{
		unsigned	k = cmyk[4 * i + 3];

		for (int c = 0; c < 3; c++)
		{
			unsigned	v = (255u - cmyk[4 * i + c]) * k + 128;

			rgb[3 * i + c] = (uint8_t) (k - ((v + (v >> 8)) >> 8));
		}
	}
}

pgs_status
pgs_jpeg_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
				const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	tjhandle	tj;
	int			width,
				height,
				colorspace,
				out_width,
				out_height,
				pixel_format,
				decoded_channels;
	tjscalingfactor factor;
	pgs_status	st;
	uint8_t    *pixels = NULL;
	uint8_t    *decoded;
	size_t		npixels;

	memset(out, 0, sizeof(*out));
	if (opts->frame != 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "frame %d requested, a JPEG image has one frame",
						opts->frame);
	if (opts->scale_denom != 1 && opts->scale_denom != 2 && opts->scale_denom != 4 && opts->scale_denom != 8)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "scale denominator must be 1, 2, 4 or 8, not %d",
						opts->scale_denom);
	if ((tj = tjInitDecompress()) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the JPEG decoder");
	if ((st = read_header(tj, data, len, &width, &height, &colorspace, err)) != PGS_OK)
		goto done;

	factor.num = 1;
	factor.denom = opts->scale_denom;
	out_width = TJSCALED(width, factor);
	out_height = TJSCALED(height, factor);
	if ((st = pgs_image_check_dimensions(out_width, out_height, opts->max_pixels, err)) != PGS_OK)
		goto done;

	decoded_channels = channels_for_colorspace(colorspace);
	pixel_format = decoded_channels == 1 ? TJPF_GRAY : decoded_channels == 4 ? TJPF_CMYK : TJPF_RGB;
	npixels = (size_t) out_width * (size_t) out_height;
	pixels = pgs_alloc(allocator, npixels * (decoded_channels == 1 ? 1 : 3));
	decoded = decoded_channels == 4 ? malloc(npixels * 4) : pixels;
	if (pixels == NULL || decoded == NULL)
	{
		if (decoded != pixels)
			free(decoded);
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", out_width, out_height);
		goto done;
	}
	if (tjDecompress2(tj, data, (unsigned long) len, decoded, out_width, 0, out_height, pixel_format,
					  PGS_TJ_FLAGS) != 0)
	{
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt JPEG data: %s", tjGetErrorStr2(tj));
		if (decoded != pixels)
			free(decoded);
		goto done;
	}
	/* libjpeg-turbo decodes in one call that cannot stop part-way; the next pass need not start */
	if ((st = pgs_cancel_point(err)) != PGS_OK)
	{
		if (decoded != pixels)
			free(decoded);
		goto done;
	}
	if (decoded != pixels)
	{
		inverted_cmyk_to_rgb(decoded, pixels, npixels);
		free(decoded);
	}
	out->width = out_width;
	out->height = out_height;
	out->channels = decoded_channels == 1 ? 1 : 3;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	out->data = pixels;
	pixels = NULL;
	st = PGS_OK;

done:
	pgs_free(allocator, pixels);
	tjDestroy(tj);
	return st;
}
