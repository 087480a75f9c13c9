/* Unit tests of the decode dispatcher: sniffing, NPY image layouts (C×H×W is a transpose), helpers. */
#include "../../kernels/image/image.h"
#include "../../kernels/image/npy.h"
#include "unit.h"

static pgs_error err;

static void
test_sniff(void)
{
	uint8_t		dicm[140] = {0};

	memcpy(dicm + 128, "DICM", 4);
	CHECK(pgs_image_sniff((const uint8_t *) "\xFF\xD8\xFF\xE0", 4) == PGS_FORMAT_JPEG);
	CHECK(pgs_image_sniff((const uint8_t *) "\x89PNG\r\n\x1a\n", 8) == PGS_FORMAT_PNG);
	CHECK(pgs_image_sniff((const uint8_t *) "\x93NUMPY\x01\x00", 8) == PGS_FORMAT_NPY);
	CHECK(pgs_image_sniff(dicm, sizeof(dicm)) == PGS_FORMAT_DICOM);
	CHECK(pgs_image_sniff((const uint8_t *) "\x08\x00\x05\x00" "CS\x0a\x00", 8) == PGS_FORMAT_DICOM);
	CHECK(pgs_image_sniff((const uint8_t *) "GIF89a", 6) == PGS_FORMAT_UNKNOWN);
	CHECK(pgs_image_sniff((const uint8_t *) "", 0) == PGS_FORMAT_UNKNOWN);
	CHECK(pgs_image_sniff((const uint8_t *) "\xFF\xD8", 2) == PGS_FORMAT_UNKNOWN);
}

static void
test_unknown_and_empty_fail(void)
{
	pgs_image_info info;
	pgs_decode_options opts;
	pgs_image	out;
	uint8_t		dicm[140] = {0};

	pgs_decode_options_init(&opts);
	CHECK_FAILS(pgs_image_probe((const uint8_t *) "", 0, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECK(strcmp(err.message, "image data is empty") == 0);
	CHECK_FAILS(pgs_image_probe((const uint8_t *) "GIF89a", 6, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECK(strstr(err.message, "47 49 46 38") != NULL);
	memcpy(dicm + 128, "DICM", 4);
	CHECK_FAILS(pgs_image_decode(dicm, sizeof(dicm), &opts, &pgs_malloc_allocator, &out, &err),
				PGS_ERR_UNSUPPORTED, &err);
}

/* Wrap a tensor as NPY bytes. */
static uint8_t *
npy_of(pgs_dtype dtype, int ndim, const int64_t *shape, const void *data, size_t *len)
{
	pgs_tensor	t = {dtype, ndim, {0}, (void *) data};
	uint8_t    *file;

	memcpy(t.shape, shape, sizeof(int64_t) * ndim);
	CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, &file, len, &err), &err);
	return file;
}

/*
 * The replicated study's first bug: converting H×W×C to C×H×W with a reshape scrambles the image. A
 * 2×5 RGB image whose every sample is distinct, viewed from its C×H×W tensor, must come back exactly.
 */
static void
test_chw_tensor_is_transposed_not_reshaped(void)
{
	uint8_t		hwc[2 * 5 * 3],
				chw[3 * 2 * 5];
	int64_t		shape[3] = {3, 2, 5};
	size_t		len;
	uint8_t    *file;
	pgs_decode_options opts;
	pgs_image	out;
	pgs_image_info info;

	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 5; x++)
			for (int c = 0; c < 3; c++)
			{
				hwc[(y * 5 + x) * 3 + c] = (uint8_t) (100 * c + 10 * y + x);
				chw[(c * 2 + y) * 5 + x] = (uint8_t) (100 * c + 10 * y + x);
			}
	file = npy_of(PGS_DTYPE_U8, 3, shape, chw, &len);
	CHECK_OK(pgs_image_probe(file, len, &info, &err), &err);
	CHECK(info.width == 5 && info.height == 2 && info.channels == 3 && info.frames == 1);
	pgs_decode_options_init(&opts);
	CHECK_OK(pgs_image_decode(file, len, &opts, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.width == 5 && out.height == 2 && out.channels == 3);
	CHECK(out.data && memcmp(out.data, hwc, sizeof(hwc)) == 0);
	/* and a reshape would not have matched */
	CHECK(memcmp(chw, hwc, sizeof(hwc)) != 0);
	free(out.data);
	free(file);
}

static void
test_npy_frames_and_layouts(void)
{
	uint16_t	frames[2 * 2 * 2 * 1];
	int64_t		nhwc[4] = {2, 2, 2, 1};
	int64_t		bad[3] = {5, 6, 7};
	size_t		len;
	uint8_t    *file;
	pgs_decode_options opts;
	pgs_image	out;
	pgs_image_info info;

	for (int i = 0; i < 8; i++)
		frames[i] = (uint16_t) (1000 * i);
	file = npy_of(PGS_DTYPE_U16, 4, nhwc, frames, &len);
	CHECK_OK(pgs_image_probe(file, len, &info, &err), &err);
	CHECK(info.frames == 2 && info.bits == 16 && info.channels == 1);
	pgs_decode_options_init(&opts);
	opts.frame = 1;
	CHECK_OK(pgs_image_decode(file, len, &opts, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.dtype == PGS_DTYPE_U16 && out.data && ((uint16_t *) out.data)[0] == 4000);
	free(out.data);
	opts.frame = 2;
	CHECK_FAILS(pgs_image_decode(file, len, &opts, &pgs_malloc_allocator, &out, &err), PGS_ERR_INVALID_ARGUMENT,
				&err);
	free(file);

	file = npy_of(PGS_DTYPE_U8, 3, bad, frames, &len);
	free(file);
	{
		uint8_t		zeros[210] = {0};

		file = npy_of(PGS_DTYPE_U8, 3, bad, zeros, &len);
		CHECK_FAILS(pgs_image_probe(file, len, &info, &err), PGS_ERR_INVALID_ARGUMENT, &err);
		CHECK(strstr(err.message, "(5, 6, 7)") != NULL);
		free(file);
	}
}

static void
test_downscale_box(void)
{
	uint8_t		px[3 * 5] = {
		0, 10, 20, 30, 40,
		50, 60, 70, 80, 90,
		100, 110, 120, 130, 140};
	pgs_image	in = {5, 3, 1, PGS_DTYPE_U8, 8, px};
	pgs_image	out;

	CHECK_OK(pgs_image_downscale_box(&in, 2, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.width == 3 && out.height == 2);
	if (out.data)
	{
		const uint8_t *o = out.data;

		CHECK(o[0] == 30 && o[1] == 50 && o[2] == 65);	/* (0+10+50+60)/4, (20+30+70+80)/4, (40+90)/2 */
		CHECK(o[3] == 105 && o[4] == 125 && o[5] == 140);
	}
	free(out.data);
}

static void
test_f32_to_u8_stretches_range(void)
{
	float		px[4] = {-1.0f, 0.0f, 1.0f, 0.5f};
	float		flat[2] = {3.0f, 3.0f};
	pgs_image	in = {4, 1, 1, PGS_DTYPE_F32, 32, px};
	pgs_image	constant = {2, 1, 1, PGS_DTYPE_F32, 32, flat};
	pgs_image	out;

	CHECK_OK(pgs_image_f32_to_u8(&in, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.data && ((uint8_t *) out.data)[0] == 0 && ((uint8_t *) out.data)[2] == 255);
	CHECK(out.data && ((uint8_t *) out.data)[1] == 128 && ((uint8_t *) out.data)[3] == 191);
	free(out.data);
	CHECK_OK(pgs_image_f32_to_u8(&constant, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.data && ((uint8_t *) out.data)[0] == 0);
	free(out.data);
}

static void
test_check_dimensions(void)
{
	CHECK(pgs_image_check_dimensions(100, 100, 10000, &err) == PGS_OK);
	CHECK(pgs_image_check_dimensions(100, 101, 10000, &err) == PGS_ERR_LIMIT);
	CHECK(pgs_image_check_dimensions(0, 10, 10000, &err) == PGS_ERR_BAD_DATA);
	CHECK(pgs_image_check_dimensions(-5, 10, 10000, &err) == PGS_ERR_BAD_DATA);
	CHECK(pgs_image_check_dimensions(INT64_C(1) << 40, 1, INT64_MAX, &err) == PGS_ERR_LIMIT);
}

int
main(void)
{
	RUN(test_sniff);
	RUN(test_unknown_and_empty_fail);
	RUN(test_chw_tensor_is_transposed_not_reshaped);
	RUN(test_npy_frames_and_layouts);
	RUN(test_downscale_box);
	RUN(test_f32_to_u8_stretches_range);
	RUN(test_check_dimensions);
	return unit_done();
}
