/* The decode entry point: format sniffing and dispatch to the codecs (which sit below it, in image.c's layer). */
#include "image.h"
#include "npy.h"

#include <string.h>

static const pgs_image_codec *dicom_codec = NULL;

void
pgs_image_register_dicom_codec(const pgs_image_codec *codec)
{
	dicom_codec = codec;
}

void
pgs_decode_options_init(pgs_decode_options *opts)
{
	opts->frame = 0;
	opts->scale_denom = 1;
	opts->max_pixels = PGS_DEFAULT_MAX_PIXELS;
	opts->display = false;
}

/* DICOM Part 10 files carry "DICM" after a 128-byte preamble; bare data sets start with group 0002 or 0008. */
static bool
looks_like_dicom(const uint8_t *data, size_t len)
{
	if (len >= 132 && memcmp(data + 128, "DICM", 4) == 0)
		return true;
	if (len >= 8 && (data[0] == 0x02 || data[0] == 0x08) && data[1] == 0x00)
	{
		bool		explicit_vr = data[4] >= 'A' && data[4] <= 'Z' && data[5] >= 'A' && data[5] <= 'Z';
		uint32_t	implicit_len = (uint32_t) data[4] | (uint32_t) data[5] << 8 |
			(uint32_t) data[6] << 16 | (uint32_t) data[7] << 24;

		return explicit_vr || implicit_len < 1024;
	}
	return false;
}

pgs_image_format
pgs_image_sniff(const uint8_t *data, size_t len)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

	if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
		return PGS_FORMAT_JPEG;
	if (len >= 8 && memcmp(data, png_sig, 8) == 0)
		return PGS_FORMAT_PNG;
	if (len >= 6 && memcmp(data, "\x93NUMPY", 6) == 0)
		return PGS_FORMAT_NPY;
	if (looks_like_dicom(data, len))
		return PGS_FORMAT_DICOM;
	return PGS_FORMAT_UNKNOWN;
}

const char *
pgs_image_format_name(pgs_image_format format)
{
	switch (format)
	{
		case PGS_FORMAT_JPEG:
			return "jpeg";
		case PGS_FORMAT_PNG:
			return "png";
		case PGS_FORMAT_NPY:
			return "npy";
		case PGS_FORMAT_DICOM:
			return "dicom";
		case PGS_FORMAT_UNKNOWN:
			break;
	}
	return "unknown";
}

static pgs_status
unknown_format(const uint8_t *data, size_t len, pgs_error *err)
{
	if (len == 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "image data is empty");
	return pgs_fail(err, PGS_ERR_BAD_DATA,
					"data is not a JPEG, PNG, NPY or DICOM image (it starts with bytes %02x %02x %02x %02x)",
					data[0], len > 1 ? data[1] : 0, len > 2 ? data[2] : 0, len > 3 ? data[3] : 0);
}

pgs_status
pgs_image_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err)
{
	memset(info, 0, sizeof(*info));
	switch (pgs_image_sniff(data, len))
	{
		case PGS_FORMAT_JPEG:
			return pgs_jpeg_probe(data, len, info, err);
		case PGS_FORMAT_PNG:
			return pgs_png_probe(data, len, info, err);
		case PGS_FORMAT_NPY:
			return pgs_npy_image_probe(data, len, info, err);
		case PGS_FORMAT_DICOM:
			if (dicom_codec == NULL)
				return pgs_fail(err, PGS_ERR_UNSUPPORTED, "DICOM pixel decoding is not available in this build");
			return dicom_codec->probe(data, len, info, err);
		case PGS_FORMAT_UNKNOWN:
			break;
	}
	return unknown_format(data, len, err);
}

pgs_status
pgs_image_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
				 const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	pgs_image	full;
	pgs_status	st;
	pgs_image_format format = pgs_image_sniff(data, len);

	memset(out, 0, sizeof(*out));
	if (opts->scale_denom != 1 && opts->scale_denom != 2 && opts->scale_denom != 4 && opts->scale_denom != 8)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "scale denominator must be 1, 2, 4 or 8, not %d",
						opts->scale_denom);
	if (opts->frame < 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "frame number must not be negative");

	/* JPEG scales in the DCT domain, which is much cheaper than decoding at full size and shrinking. */
	if (format == PGS_FORMAT_JPEG)
		return pgs_jpeg_decode(data, len, opts, allocator, out, err);

	{
		pgs_decode_options full_opts = *opts;

		full_opts.scale_denom = 1;
		switch (format)
		{
			case PGS_FORMAT_PNG:
				st = pgs_png_decode(data, len, &full_opts, allocator, &full, err);
				break;
			case PGS_FORMAT_NPY:
				st = pgs_npy_image_decode(data, len, &full_opts, allocator, &full, err);
				break;
			case PGS_FORMAT_DICOM:
				if (dicom_codec == NULL)
					return pgs_fail(err, PGS_ERR_UNSUPPORTED, "DICOM pixel decoding is not available in this build");
				st = dicom_codec->decode(data, len, &full_opts, allocator, &full, err);
				break;
			default:
				return unknown_format(data, len, err);
		}
	}
	if (st != PGS_OK || opts->scale_denom == 1)
	{
		*out = full;
		return st;
	}
	st = pgs_image_downscale_box(&full, opts->scale_denom, allocator, out, err);
	pgs_image_free(allocator, &full);
	return st;
}
