/* Unit tests of mammogram preprocessing: regions, orientation, label blanking, fitting, and the DICOM path. */
#include "../../kernels/dicom/dicom.h"
#include "../../kernels/dicom/mammo_dicom.h"
#include "../../kernels/image/geometry.h"
#include "../../kernels/image/imgproc.h"
#include "../../kernels/image/mammo.h"
#include "unit.h"
#include "cancel_testing.h"

#include <math.h>

static pgs_error err;

/* A presentation image: a half-disc breast against one side, brighter towards the chest wall, on black. */
static pgs_image
breast(int w, int h, bool chest_wall_right, double radius)
{
	pgs_image	img = {w, h, 1, PGS_DTYPE_F32, 32, malloc(sizeof(float) * (size_t) w * h)};
	float	   *px = img.data;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
		{
			double		depth = chest_wall_right ? w - 1 - x : x;
			double		d = hypot(depth, y - h / 2.0) / radius;

			px[(size_t) y * w + x] = d < 1 ? (float) (0.75 - 0.3 * depth / radius) : 0.02f;
		}
	return img;
}

static void
put_rect(pgs_image *img, int x0, int y0, int x1, int y1, float v)
{
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++)
			((float *) img->data)[(size_t) y * img->width + x] = v;
}

static float
at(const pgs_image *img, int x, int y)
{
	if (img->dtype == PGS_DTYPE_U8)
		return ((const uint8_t *) img->data)[(size_t) y * img->width + x] / 255.0f;
	if (img->dtype == PGS_DTYPE_U16)
		return ((const uint16_t *) img->data)[(size_t) y * img->width + x] / 65535.0f;
	return ((const float *) img->data)[(size_t) y * img->width + x];
}

static pgs_mammo_options
options(int h, int w, pgs_dtype dtype)
{
	pgs_mammo_options o;

	pgs_mammo_options_init(&o);
	o.height = h;
	o.width = w;
	o.dtype = dtype;
	return o;
}

static void
test_classify_regions(void)
{
	uint8_t		mask[5 * 8] = {
		1, 1, 0, 0, 0, 0, 0, 1,
		1, 1, 0, 1, 1, 1, 0, 0,
		0, 0, 0, 1, 1, 1, 0, 0,
		0, 0, 0, 0, 1, 1, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0};
	pgs_component c;

	CHECK_OK(pgs_classify_regions(mask, 8, 5, 3, &c, &err), &err);
	CHECK(c.pixels == 8 && c.x0 == 3 && c.y0 == 1 && c.x1 == 5 && c.y1 == 3);
	/* columns 0–3 are the left half of 8: the region has two pixels there */
	CHECK(c.left_pixels == 2 && c.right_pixels == 6);
	CHECK(mask[8 + 3] == PGS_REGION_LARGEST && mask[0] == PGS_REGION_OTHER && mask[7] == PGS_REGION_SMALL);
	CHECK(mask[2] == PGS_REGION_BACKGROUND);
	memset(mask, 0, sizeof(mask));
	CHECK_OK(pgs_classify_regions(mask, 8, 5, 3, &c, &err), &err);
	CHECK(c.pixels == 0);
}

static void
test_area_resize(void)
{
	float		src[6 * 4],
				dst[3 * 2],
				up[12 * 8];

	for (int i = 0; i < 24; i++)
		src[i] = (float) (i % 6) + 10 * (i / 6);
	/* halving: each output is the mean of a 2×2 block */
	CHECK_OK(pgs_resize_area_f32(src, 6, 4, dst, 3, 2, &err), &err);
	CHECK(fabsf(dst[0] - (0 + 1 + 10 + 11) / 4.0f) < 1e-5f && fabsf(dst[5] - (24 + 25 + 34 + 35) / 4.0f) < 1e-5f);
	/* a non-integer shrink keeps the mean; a constant stays constant when growing */
	{
		float		out[4 * 3],
					sum_in = 0,
					sum_out = 0;

		CHECK_OK(pgs_resize_area_f32(src, 6, 4, out, 4, 3, &err), &err);
		for (int i = 0; i < 24; i++)
			sum_in += src[i];
		for (int i = 0; i < 12; i++)
			sum_out += out[i];
		CHECK(fabsf(sum_in / 24 - sum_out / 12) < 1e-4f);
	}
	for (int i = 0; i < 24; i++)
		src[i] = 0.5f;
	CHECK_OK(pgs_resize_area_f32(src, 6, 4, up, 12, 8, &err), &err);
	for (int i = 0; i < 96; i++)
		CHECK(fabsf(up[i] - 0.5f) < 1e-6f);
}

/* The breast against the right edge is mirrored to the left, cropped, fitted and padded on the right. */
static void
test_orientation_crop_fit(void)
{
	pgs_image	in = breast(300, 400, true, 150),
				out;
	pgs_mammo_options o = options(128, 128, PGS_DTYPE_F32);
	pgs_mammo_report r;

	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err), &err);
	CHECK(r.flipped && r.oriented_by == PGS_ORIENTED_BY_IMAGE);
	/* the half-disc of radius 150 about row 200 spans rows 51–349 */
	CHECKF(r.x == 150 && r.width == 150 && r.y == 51 && r.height == 299, "box %d,%d %d×%d", r.x, r.y, r.width, r.height);
	/* a 150×299 crop fits as 64×128: the chest wall (brightest) at column 0, black from column 64 on */
	CHECK(out.width == 128 && out.height == 128 && out.dtype == PGS_DTYPE_F32);
	CHECK(at(&out, 0, 64) > 0.7f && at(&out, 60, 64) < 0.5f && at(&out, 70, 64) == 0.0f && at(&out, 127, 64) == 0.0f);
	free(out.data);
	/* the same breast stored the other way round gives the same picture, unmirrored */
	free(in.data);
	in = breast(300, 400, false, 150);
	{
		pgs_image	again;

		CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &again, &r, &err), &err);
		CHECK(!r.flipped && r.x == 0);
		CHECK(fabsf(at(&again, 10, 64) - 0.72f) < 0.05f);
		free(again.data);
	}
	free(in.data);
}

/* A breast that touches neither side and weighs the same on both gives the image no say: the header does. */
static void
test_header_decides_when_the_image_cannot(void)
{
	pgs_image	in = {100, 100, 1, PGS_DTYPE_F32, 32, malloc(sizeof(float) * 100 * 100)},
				out;
	pgs_mammo_options o = options(32, 32, PGS_DTYPE_U8);
	pgs_mammo_report r;

	for (int y = 0; y < 100; y++)
		for (int x = 0; x < 100; x++)
			((float *) in.data)[y * 100 + x] = hypot(x - 49.5, y - 49.5) < 30 ? 0.7f : 0.02f;
	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_RIGHT, &o, &pgs_malloc_allocator, &out, &r, &err), &err);
	CHECK(r.flipped && r.oriented_by == PGS_ORIENTED_BY_HEADER);
	free(out.data);
	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err), &err);
	CHECK(!r.flipped && r.oriented_by == PGS_ORIENTED_BY_DEFAULT);
	free(out.data);
	free(in.data);
}

/* A burned-in label beside the breast is outside the crop; one inside the box is blanked; specks stay. */
static void
test_labels_blanked_specks_kept(void)
{
	pgs_image	in = breast(300, 400, false, 150),
				out;
	pgs_mammo_options o = options(301, 150, PGS_DTYPE_F32);
	pgs_mammo_report r;

	put_rect(&in, 200, 10, 290, 30, 1.0f);	/* a label far from the breast */
	put_rect(&in, 120, 60, 145, 75, 0.95f);	/* a label within the breast's box, not touching it */
	put_rect(&in, 100, 60, 100, 60, 0.9f);	/* a one-pixel speck beyond the breast's edge, inside its box */
	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err), &err);
	CHECK(r.x == 0 && r.width == 150);
	/* the output is the 150×299 crop at scale 1 under one black row: the label inside the box is black,
	 * the speck is kept */
	CHECK(r.y == 51 && r.height == 299);
	CHECK(at(&out, 130, 68 - r.y + 1) == 0.0f && at(&out, 20, 68 - r.y + 1) > 0.5f);
	CHECK(fabsf(at(&out, 100, 60 - r.y + 1) - 0.9f) < 1e-6f);
	free(out.data);
	free(in.data);
}

static void
test_output_types_and_errors(void)
{
	pgs_image	in = breast(200, 200, false, 90),
				out,
				black = {20, 20, 1, PGS_DTYPE_F32, 32, calloc(400, sizeof(float))};
	pgs_mammo_options o = options(64, 48, PGS_DTYPE_U16);
	pgs_mammo_report r;

	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err), &err);
	CHECK(out.dtype == PGS_DTYPE_U16 && out.width == 48 && out.height == 64 && out.channels == 1);
	free(out.data);
	o = options(8, 64, PGS_DTYPE_U8);
	CHECK_FAILS(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
	o = options(64, 64, PGS_DTYPE_U8);
	CHECK_FAILS(pgs_mammo_preprocess(&black, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &out, &r, &err),
				PGS_ERR_BAD_DATA, &err);
	CHECK(strstr(err.message, "no bright region") != NULL);
	free(black.data);
	free(in.data);
}

static uint8_t *
synthetic_mg(int64_t seed, char laterality, const char *view, bool monochrome1, bool label, size_t *len)
{
	pgs_synthetic_mg_options o;
	uint8_t    *dcm;

	pgs_synthetic_mg_options_init(&o);
	o.seed = seed;
	o.laterality = laterality;
	strcpy(o.view, view);
	o.monochrome1 = monochrome1;
	o.burned_in_label = label;
	CHECK_OK(pgs_dicom_synthetic_mammogram(&o, &pgs_malloc_allocator, &dcm, len, &err), &err);
	return dcm;
}

/*
 * Through DICOM: left and right breasts both end up with the chest wall at the left, and a MONOCHROME1
 * object (stored inverted) preprocesses to the same picture as its MONOCHROME2 twin.
 */
static void
test_dicom_mammograms(void)
{
	pgs_mammo_options o = options(256, 208, PGS_DTYPE_U8);
	size_t		len;
	uint8_t    *dcm;
	pgs_image	m2,
				m1;
	pgs_mammo_report r;
	long		diff = 0;

	for (int k = 0; k < 4; k++)
	{
		char		side = k % 2 ? 'R' : 'L';
		pgs_image	out;

		dcm = synthetic_mg(10 + k, side, k < 2 ? "CC" : "MLO", false, k == 3, &len);
		CHECK_OK(pgs_mammo_from_dicom(dcm, len, &o, INT64_C(1) << 30, &pgs_malloc_allocator, &out, &r, &err), &err);
		/* the synthetic objects store right breasts at column 0 and left ones at the last column */
		CHECKF(r.flipped == (side == 'L') && r.oriented_by == PGS_ORIENTED_BY_IMAGE, "%c: flipped %d", side, r.flipped);
		CHECK(out.width == 208 && out.height == 256);
		CHECK(at(&out, 0, 128) > 0.2f && at(&out, 207, 128) == 0.0f);
		free(out.data);
		free(dcm);
	}
	dcm = synthetic_mg(20, 'R', "CC", false, false, &len);
	CHECK_OK(pgs_mammo_from_dicom(dcm, len, &o, INT64_C(1) << 30, &pgs_malloc_allocator, &m2, &r, &err), &err);
	free(dcm);
	dcm = synthetic_mg(20, 'R', "CC", true, false, &len);
	CHECK_OK(pgs_mammo_from_dicom(dcm, len, &o, INT64_C(1) << 30, &pgs_malloc_allocator, &m1, &r, &err), &err);
	free(dcm);
	for (int i = 0; i < 256 * 208; i++)
		diff += labs((long) ((uint8_t *) m1.data)[i] - ((uint8_t *) m2.data)[i]);
	CHECKF(diff / (256.0 * 208) < 1.0, "MONOCHROME1 vs 2: mean |diff| %g", diff / (256.0 * 208));
	free(m1.data);
	free(m2.data);
	CHECK_FAILS(pgs_mammo_from_dicom((const uint8_t *) "\xff\xd8\xff\xe0", 4, &o, 1000, &pgs_malloc_allocator, &m1, &r, &err),
				PGS_ERR_BAD_DATA, &err);
}

/* Stopped at each cancel point (between passes, every 64 rows of the regions and the resize): nothing left over. */
static void
test_cancel_points(void)
{
	pgs_image	in = breast(900, 1200, true, 450),
				reference,
				out;
	pgs_mammo_options o = options(256, 256, PGS_DTYPE_F32);
	pgs_mammo_report r;
	pgs_status	st = PGS_ERR_CANCELLED;
	int			point;

	CHECK_OK(pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &pgs_malloc_allocator, &reference, &r, &err), &err);
	for (point = 1; st == PGS_ERR_CANCELLED && point < 10000; point++)
	{
		cancel_arm(point);
		st = pgs_mammo_preprocess(&in, PGS_CHEST_WALL_UNKNOWN, &o, &counted_allocator, &out, &r, &err);
		cancel_arm(0);
		CHECKF(st == PGS_OK || (st == PGS_ERR_CANCELLED && out.data == NULL && counted_blocks == 0),
			   "point %d: %s, %ld blocks held", point, err.message, counted_blocks);
	}
	CHECKF(point - 2 >= 2 * 1200 / 64, "%d cancel points", point - 2);
	CHECK(st == PGS_OK && memcmp(out.data, reference.data, sizeof(float) * 256 * 256) == 0);
	pgs_free(&counted_allocator, out.data);
	free(reference.data);
	free(in.data);
}

int
main(void)
{
	pgs_dicom_register_codec();
	RUN(test_classify_regions);
	RUN(test_area_resize);
	RUN(test_orientation_crop_fit);
	RUN(test_header_decides_when_the_image_cannot);
	RUN(test_labels_blanked_specks_kept);
	RUN(test_output_types_and_errors);
	RUN(test_dicom_mammograms);
	RUN(test_cancel_points);
	return unit_done();
}
