/* The decode entry point: format sniffing, dispatch to the codecs, dimension checks and small pixel helpers. */
#include "image.h"
#include "npy.h"

#include <math.h>
#include <stdlib.h>
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

void
pgs_image_free(const pgs_allocator *allocator, pgs_image *image)
{
	pgs_free(allocator, image->data);
	image->data = NULL;
}

size_t
pgs_image_bytes(const pgs_image *image)
{
	size_t		n = (size_t) image->width * (size_t) image->height;

	if (image->width <= 0 || image->height <= 0 || image->channels <= 0)
		return 0;
	if (n / (size_t) image->width != (size_t) image->height)
		return 0;
	if (n > SIZE_MAX / ((size_t) image->channels * pgs_dtype_size(image->dtype)))
		return 0;
	return n * (size_t) image->channels * pgs_dtype_size(image->dtype);
}

pgs_status
pgs_image_check_dimensions(int64_t width, int64_t height, int64_t max_pixels, pgs_error *err)
{
	if (width <= 0 || height <= 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "image has invalid dimensions %lld×%lld",
						(long long) width, (long long) height);
	if (width > INT32_MAX / 8 || height > INT32_MAX / 8 || width * height > max_pixels)
		return pgs_fail(err, PGS_ERR_LIMIT, "image of %lld×%lld pixels exceeds the limit of %lld pixels",
						(long long) width, (long long) height, (long long) max_pixels);
	return PGS_OK;
}

void
pgs_image_as_tensor(const pgs_image *image, pgs_tensor *tensor)
{
	memset(tensor, 0, sizeof(*tensor));
	tensor->dtype = image->dtype;
	tensor->shape[0] = image->height;
	tensor->shape[1] = image->width;
	if (image->channels == 1)
		tensor->ndim = 2;
	else
	{
		tensor->ndim = 3;
		tensor->shape[2] = image->channels;
	}
	tensor->data = image->data;
}

static double
sample_at(const pgs_image *image, size_t index)
{
	switch (image->dtype)
	{
		case PGS_DTYPE_U8:
			return ((const uint8_t *) image->data)[index];
		case PGS_DTYPE_U16:
			return ((const uint16_t *) image->data)[index];
		case PGS_DTYPE_F32:
			return ((const float *) image->data)[index];
	}
	return 0;
}

static void
store_sample(pgs_image *image, size_t index, double value)
{
	switch (image->dtype)
	{
		case PGS_DTYPE_U8:
			((uint8_t *) image->data)[index] = (uint8_t) (value + 0.5);
			break;
		case PGS_DTYPE_U16:
			((uint16_t *) image->data)[index] = (uint16_t) (value + 0.5);
			break;
		case PGS_DTYPE_F32:
			((float *) image->data)[index] = (float) value;
			break;
	}
}

pgs_status
pgs_image_downscale_box(const pgs_image *in, int factor, const pgs_allocator *allocator, pgs_image *out,
						pgs_error *err)
{
	int			ch = in->channels;
	double	   *sums;

	if (factor < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "downscale factor must be positive");
	*out = *in;
	out->width = (in->width + factor - 1) / factor;
	out->height = (in->height + factor - 1) / factor;
	out->data = pgs_alloc(allocator, pgs_image_bytes(out));
	sums = malloc(sizeof(double) * (size_t) out->width * ch);
	if (out->data == NULL || sums == NULL)
	{
		free(sums);
		pgs_image_free(allocator, out);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", out->width, out->height);
	}
	for (int oy = 0; oy < out->height; oy++)
	{
		int			y0 = oy * factor,
					y1 = y0 + factor < in->height ? y0 + factor : in->height;

		memset(sums, 0, sizeof(double) * (size_t) out->width * ch);
		for (int y = y0; y < y1; y++)
			for (int x = 0; x < in->width; x++)
				for (int c = 0; c < ch; c++)
					sums[(size_t) (x / factor) * ch + c] += sample_at(in, ((size_t) y * in->width + x) * ch + c);
		for (int ox = 0; ox < out->width; ox++)
		{
			int			x0 = ox * factor,
						x1 = x0 + factor < in->width ? x0 + factor : in->width;
			double		count = (double) (x1 - x0) * (y1 - y0);

			for (int c = 0; c < ch; c++)
				store_sample(out, ((size_t) oy * out->width + ox) * ch + c, sums[(size_t) ox * ch + c] / count);
		}
	}
	free(sums);
	return PGS_OK;
}

pgs_status
pgs_image_f32_to_u8(const pgs_image *in, const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	const float *src = in->data;
	size_t		n = (size_t) in->width * in->height * in->channels;
	float		lo = INFINITY,
				hi = -INFINITY;
	uint8_t    *dst;

	if (in->dtype != PGS_DTYPE_F32)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "image is not float32");
	for (size_t i = 0; i < n; i++)
		if (isfinite(src[i]))
		{
			lo = src[i] < lo ? src[i] : lo;
			hi = src[i] > hi ? src[i] : hi;
		}
	*out = *in;
	out->dtype = PGS_DTYPE_U8;
	out->bits = 8;
	out->data = dst = pgs_alloc(allocator, n);
	if (dst == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", in->width, in->height);
	for (size_t i = 0; i < n; i++)
	{
		double		v = (isfinite(src[i]) && hi > lo) ? ((double) src[i] - lo) * 255.0 / ((double) hi - lo) : 0.0;

		dst[i] = (uint8_t) (v + 0.5);
	}
	return PGS_OK;
}
