/* JPEG encoding with libjpeg-turbo into a caller-allocated buffer. */
#include "jpeg_encode.h"

#include <string.h>
#include <turbojpeg.h>

pgs_status
pgs_jpeg_encode(const pgs_image *image, int quality, const pgs_allocator *allocator, uint8_t **out,
				size_t *out_len, pgs_error *err)
{
	tjhandle	tj;
	unsigned char *jpeg = NULL;
	unsigned long jpeg_len = 0;
	int			pixel_format,
				subsampling;
	pgs_status	st = PGS_OK;

	*out = NULL;
	*out_len = 0;
	if (image->dtype != PGS_DTYPE_U8 || (image->channels != 1 && image->channels != 3))
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "JPEG encoding needs an 8-bit gray or RGB image");
	if (quality < 1 || quality > 100)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "JPEG quality must be between 1 and 100, not %d", quality);
	pixel_format = image->channels == 1 ? TJPF_GRAY : TJPF_RGB;
	subsampling = image->channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
	if ((tj = tjInitCompress()) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the JPEG encoder");
	/* libjpeg-turbo allocates the output itself; it is copied once into the caller's memory. */
	if (tjCompress2(tj, image->data, image->width, 0, image->height, pixel_format, &jpeg, &jpeg_len, subsampling,
					quality, 0) != 0)
		st = pgs_fail(err, PGS_ERR_INTERNAL, "JPEG encoding failed: %s", tjGetErrorStr2(tj));
	else if ((*out = pgs_alloc(allocator, jpeg_len)) == NULL)
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %lu bytes for a JPEG file", jpeg_len);
	else
	{
		memcpy(*out, jpeg, jpeg_len);
		*out_len = jpeg_len;
	}
	tjFree(jpeg);
	tjDestroy(tj);
	return st;
}
