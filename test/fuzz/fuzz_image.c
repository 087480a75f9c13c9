/* libFuzzer target: the image decode entry point (JPEG, PNG, NPY) and everything it feeds, on any bytes. */
#include "../../kernels/image/image.h"
#include "../../kernels/image/npy.h"

#include <stdlib.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	pgs_image_info info;
	pgs_npy_header hdr;
	pgs_decode_options opts;
	pgs_image	image;
	pgs_error	err;

	pgs_image_probe(data, len, &info, &err);
	pgs_npy_parse_header(data, len, &hdr, &err);

	pgs_decode_options_init(&opts);
	/* Small enough that a hostile header cannot make one run allocate gigabytes. */
	opts.max_pixels = 4 << 20;
	for (int scale = 1; scale <= 8; scale *= 8)
	{
		opts.scale_denom = scale;
		if (pgs_image_decode(data, len, &opts, &pgs_malloc_allocator, &image, &err) == PGS_OK)
		{
			uint8_t    *png;
			size_t		png_len;
			pgs_image	shown = image;
			pgs_image	u8;

			if (image.dtype == PGS_DTYPE_F32 &&
				pgs_image_f32_to_u8(&image, &pgs_malloc_allocator, &u8, &err) == PGS_OK)
				shown = u8;
			if (pgs_png_encode(&shown, &pgs_malloc_allocator, &png, &png_len, &err) == PGS_OK)
				free(png);
			if (shown.data != image.data)
				free(shown.data);
			free(image.data);
		}
	}
	return 0;
}
