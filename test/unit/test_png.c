/* Unit tests of PNG encoding and decoding: every channel count and depth, corrupt and oversized files. */
#include "../../kernels/image/image.h"
#include "unit.h"

#include <zlib.h>

static pgs_error err;

static pgs_image
make_image(int w, int h, int channels, pgs_dtype dtype, unsigned long long seed)
{
	pgs_image	im = {w, h, channels, dtype, dtype == PGS_DTYPE_U16 ? 16 : 8, NULL};
	size_t		n = (size_t) w * h * channels;

	im.data = malloc(n * pgs_dtype_size(dtype));
	for (size_t i = 0; i < n; i++)
	{
		unsigned long long r = unit_random(&seed);

		if (dtype == PGS_DTYPE_U16)
			((uint16_t *) im.data)[i] = (uint16_t) r;
		else
			((uint8_t *) im.data)[i] = (uint8_t) r;
	}
	return im;
}

static void
test_round_trip_all_layouts(void)
{
	pgs_decode_options opts;

	pgs_decode_options_init(&opts);
	for (int channels = 1; channels <= 4; channels++)
		for (int depth = 0; depth < 2; depth++)
		{
			pgs_dtype	dtype = depth ? PGS_DTYPE_U16 : PGS_DTYPE_U8;
			pgs_image	im = make_image(37, 23, channels, dtype, 1234 + channels);
			pgs_image	back;
			pgs_image_info info;
			uint8_t    *png;
			size_t		len;

			CHECK_OK(pgs_png_encode(&im, &pgs_malloc_allocator, &png, &len, &err), &err);
			CHECK_OK(pgs_image_probe(png, len, &info, &err), &err);
			CHECK(info.format == PGS_FORMAT_PNG && info.width == 37 && info.height == 23);
			CHECK(info.channels == channels && info.bits == (depth ? 16 : 8) && info.frames == 1);
			CHECK_OK(pgs_image_decode(png, len, &opts, &pgs_malloc_allocator, &back, &err), &err);
			CHECK(back.width == 37 && back.height == 23 && back.channels == channels && back.dtype == dtype);
			CHECKF(memcmp(back.data, im.data, pgs_image_bytes(&im)) == 0, "%d channels, %s", channels,
				   pgs_dtype_name(dtype));
			free(back.data);
			free(png);
			free(im.data);
		}
}

static uint8_t *
encode_gray(int w, int h, size_t *len)
{
	pgs_image	im = make_image(w, h, 1, PGS_DTYPE_U8, 99);
	uint8_t    *png;

	CHECK_OK(pgs_png_encode(&im, &pgs_malloc_allocator, &png, len, &err), &err);
	free(im.data);
	return png;
}

static void
test_every_truncation_fails_cleanly(void)
{
	size_t		len;
	uint8_t    *png = encode_gray(16, 16, &len);
	pgs_decode_options opts;

	pgs_decode_options_init(&opts);
	for (size_t cut = 0; cut < len; cut++)
	{
		pgs_image	out;
		pgs_status	st = pgs_image_decode(png, cut, &opts, &pgs_malloc_allocator, &out, &err);

		CHECKF(st == PGS_ERR_BAD_DATA, "prefix of %zu bytes gave %s", cut, pgs_strerror(st));
		CHECK(out.data == NULL);
	}
	free(png);
}

static void
test_corrupt_idat_is_rejected(void)
{
	size_t		len;
	uint8_t    *png = encode_gray(64, 64, &len);
	pgs_decode_options opts;
	int			rejected = 0;

	pgs_decode_options_init(&opts);
	/* Flip one byte at a time in the compressed data: the CRC (or zlib) must catch each. */
	for (size_t i = 60; i < len - 12; i += 7)
	{
		pgs_image	out;

		png[i] ^= 0x5A;
		if (pgs_image_decode(png, len, &opts, &pgs_malloc_allocator, &out, &err) == PGS_ERR_BAD_DATA)
			rejected++;
		else
			free(out.data);
		png[i] ^= 0x5A;
	}
	CHECKF(rejected == (int) ((len - 12 - 60 + 6) / 7), "%d corruptions rejected", rejected);
	free(png);
}

/* A valid header claiming 60000×60000 pixels must be refused before any pixel memory is allocated. */
static void
test_huge_dimensions_are_refused(void)
{
	uint8_t		png[64] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0};
	uint32_t	crc = (uint32_t) crc32(0, png + 12, 17);
	pgs_decode_options opts;
	pgs_image	out;
	pgs_image_info info;

	png[29] = (uint8_t) (crc >> 24);
	png[30] = (uint8_t) (crc >> 16);
	png[31] = (uint8_t) (crc >> 8);
	png[32] = (uint8_t) crc;
	/* then the start of an IDAT chunk: the header is all the decoder has when it must decide */
	memcpy(png + 33, "\0\0\0\x10IDAT", 8);
	CHECK_OK(pgs_image_probe(png, 41, &info, &err), &err);
	CHECK(info.width == 60000 && info.height == 60000);
	pgs_decode_options_init(&opts);
	CHECK_FAILS(pgs_image_decode(png, 41, &opts, &pgs_malloc_allocator, &out, &err), PGS_ERR_LIMIT, &err);
	CHECK(strstr(err.message, "exceeds the limit") != NULL);
}

static void
test_encoder_rejects_bad_images(void)
{
	uint8_t		px[4] = {0};
	pgs_image	five = {1, 1, 5, PGS_DTYPE_U8, 8, px};
	pgs_image	flt = {1, 1, 1, PGS_DTYPE_F32, 32, px};
	pgs_image	empty = {0, 1, 1, PGS_DTYPE_U8, 8, px};
	uint8_t    *png;
	size_t		len;

	CHECK_FAILS(pgs_png_encode(&five, &pgs_malloc_allocator, &png, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_png_encode(&flt, &pgs_malloc_allocator, &png, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_png_encode(&empty, &pgs_malloc_allocator, &png, &len, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

int
main(void)
{
	RUN(test_round_trip_all_layouts);
	RUN(test_every_truncation_fails_cleanly);
	RUN(test_corrupt_idat_is_rejected);
	RUN(test_huge_dimensions_are_refused);
	RUN(test_encoder_rejects_bad_images);
	return unit_done();
}
