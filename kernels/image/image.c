/* Decoded images, below every codec: their size, the pixel limit, the tensor view and box downscaling. */
#include "image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
