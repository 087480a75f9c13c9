/* NPY tensors viewed as images: H×W, H×W×C, C×H×W and N×H×W×C (frames) layouts. */
#include "image.h"
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * How a tensor maps onto frames of an interleaved image. C×H×W (the network input layout) is recognised
 * when the last axis is too long to be channels and the first is 1 or 3, so to_png can show tensors at
 * any stage; H×W×C wins when both readings are possible.
 */
typedef struct npy_layout
{
	int			frames;
	int			height;
	int			width;
	int			channels;
	bool		planar;			/* channel-first: C×H×W per frame */
} npy_layout;

static bool
is_channel_count(int64_t n)
{
	return n >= 1 && n <= 4;
}

static pgs_status
layout_of(const pgs_npy_header *hdr, npy_layout *layout, pgs_error *err)
{
	const int64_t *s = hdr->shape;
	int64_t		frames = 1,
				h,
				w,
				c;
	bool		planar = false;

	if (hdr->ndim == 2)
		h = s[0], w = s[1], c = 1;
	else if (hdr->ndim == 3 && is_channel_count(s[2]))
		h = s[0], w = s[1], c = s[2];
	else if (hdr->ndim == 3 && (s[0] == 1 || s[0] == 3))
		c = s[0], h = s[1], w = s[2], planar = true;
	else if (hdr->ndim == 4 && is_channel_count(s[3]))
		frames = s[0], h = s[1], w = s[2], c = s[3];
	else if (hdr->ndim == 4 && (s[1] == 1 || s[1] == 3))
		frames = s[0], c = s[1], h = s[2], w = s[3], planar = true;
	else
	{
		char		shape[128] = "";
		size_t		n = 0;

		for (int d = 0; d < hdr->ndim && n < sizeof(shape) - 24; d++)
			n += snprintf(shape + n, sizeof(shape) - n, "%s%lld", d ? ", " : "", (long long) s[d]);
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"NPY array of shape (%s) is not an image (expected H×W, H×W×C, C×H×W or N×H×W×C)",
						shape);
	}
	if (frames < 1 || frames > INT32_MAX || h > INT32_MAX || w > INT32_MAX)
		return pgs_fail(err, PGS_ERR_LIMIT, "NPY image dimensions are too large");
	layout->frames = (int) frames;
	layout->height = (int) h;
	layout->width = (int) w;
	layout->channels = (int) c;
	layout->planar = planar;
	return PGS_OK;
}

pgs_status
pgs_npy_image_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err)
{
	pgs_npy_header hdr;
	npy_layout	layout;
	pgs_status	st;

	if ((st = pgs_npy_parse_header(data, len, &hdr, err)) != PGS_OK)
		return st;
	if ((st = layout_of(&hdr, &layout, err)) != PGS_OK)
		return st;
	info->format = PGS_FORMAT_NPY;
	info->width = layout.width;
	info->height = layout.height;
	info->channels = layout.channels;
	info->bits = (int) pgs_dtype_size(hdr.dtype) * 8;
	info->frames = layout.frames;
	return PGS_OK;
}

pgs_status
pgs_npy_image_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
					 const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	pgs_npy_header hdr;
	npy_layout	layout;
	pgs_tensor	tensor;
	pgs_status	st;
	size_t		itemsize,
				frame_bytes,
				plane;
	const uint8_t *frame;

	memset(out, 0, sizeof(*out));
	if ((st = pgs_npy_parse_header(data, len, &hdr, err)) != PGS_OK)
		return st;
	if ((st = layout_of(&hdr, &layout, err)) != PGS_OK)
		return st;
	if (opts->frame >= layout.frames)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "frame %d requested, the array has %d frame%s",
						opts->frame, layout.frames, layout.frames == 1 ? "" : "s");
	if ((st = pgs_image_check_dimensions(layout.width, layout.height, opts->max_pixels, err)) != PGS_OK)
		return st;
	/* Reading converts byte order and Fortran order once; images from NPY are small next to photographs. */
	if ((st = pgs_npy_read(data, len, &pgs_malloc_allocator, &tensor, err)) != PGS_OK)
		return st;

	itemsize = pgs_dtype_size(hdr.dtype);
	plane = (size_t) layout.width * layout.height;
	frame_bytes = plane * layout.channels * itemsize;
	frame = (const uint8_t *) tensor.data + frame_bytes * (size_t) opts->frame;
	out->width = layout.width;
	out->height = layout.height;
	out->channels = layout.channels;
	out->dtype = hdr.dtype;
	out->bits = (int) itemsize * 8;
	out->data = pgs_alloc(allocator, frame_bytes);
	if (out->data == NULL)
	{
		free(tensor.data);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", layout.width, layout.height);
	}
	if (!layout.planar)
		memcpy(out->data, frame, frame_bytes);
	else
	{
		/* C×H×W to H×W×C is a transpose, never a reshape. */
		uint8_t    *dst = out->data;

		for (size_t p = 0; p < plane; p++)
			for (int c = 0; c < layout.channels; c++)
				memcpy(dst + (p * layout.channels + c) * itemsize, frame + ((size_t) c * plane + p) * itemsize,
					   itemsize);
	}
	free(tensor.data);
	return PGS_OK;
}
