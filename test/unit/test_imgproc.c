/* Unit tests of the pixel operations: bilinear resize, Gaussian blur, Otsu's threshold (see the oracle for OpenCV). */
#include "../../kernels/image/imgproc.h"
#include "unit.h"

#include <math.h>

static pgs_error err;

static void
test_resize_keeps_constants_and_identity(void)
{
	uint8_t		src[7 * 5 * 3],
				dst[40 * 40 * 3];
	unsigned long long seed = 1;
	double		factors[] = {0.3, 0.5, 0.77, 1.0, 1.9, 3.0};

	memset(src, 173, sizeof(src));
	for (size_t k = 0; k < sizeof(factors) / sizeof(factors[0]); k++)
	{
		int			w = pgs_resize_length(7, factors[k]),
					h = pgs_resize_length(5, factors[k]);

		CHECK_OK(pgs_resize_bilinear_u8(src, 7, 5, 21, 3, dst, w, h, (size_t) w * 3, factors[k], factors[k], &err), &err);
		for (int i = 0; i < w * h * 3; i++)
			CHECKF(dst[i] == 173, "factor %g: %d", factors[k], dst[i]);
	}
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t) (unit_random(&seed) >> 56);
	CHECK_OK(pgs_resize_bilinear_u8(src, 7, 5, 21, 3, dst, 7, 5, 21, 1.0, 1.0, &err), &err);
	CHECK(memcmp(src, dst, sizeof(src)) == 0);
}

/* Exact halving averages 2×2 blocks with rounding, as OpenCV's INTER_AREA fast path does. */
static void
test_resize_halving(void)
{
	uint8_t		src[4 * 2] = {0, 1, 10, 20, 2, 2, 30, 41},
				dst[2];

	CHECK_OK(pgs_resize_bilinear_u8(src, 4, 2, 4, 1, dst, 2, 1, 2, 0.5, 0.5, &err), &err);
	CHECK(dst[0] == 1 && dst[1] == 25);
}

/* A horizontal ramp stays a ramp: bilinear interpolation of a linear function is that function. */
static void
test_resize_ramp(void)
{
	uint8_t		src[64],
				dst[200];

	for (int x = 0; x < 64; x++)
		src[x] = (uint8_t) (4 * x);
	CHECK_OK(pgs_resize_bilinear_u8(src, 64, 1, 64, 1, dst, 200, 1, 200, 200.0 / 64, 1.0, &err), &err);
	for (int x = 1; x < 200; x++)
		CHECK(dst[x] >= dst[x - 1]);
	for (int x = 5; x < 195; x++)
		CHECKF(fabs(dst[x] - 4 * ((x + 0.5) * 64.0 / 200 - 0.5)) <= 1.0, "x=%d: %d", x, dst[x]);
	CHECK_FAILS(pgs_resize_bilinear_u8(src, 64, 1, 64, 1, dst, 0, 1, 1, 1.0, 1.0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_resize_bilinear_u8(src, 64, 1, 64, 1, dst, 2, 1, 2, -1.0, 1.0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_gaussian_blur(void)
{
	uint8_t		flat[20 * 10 * 3],
				out[20 * 10 * 3],
				spot[31 * 31];
	uint8_t		spread[31 * 31];
	long		total = 0;

	memset(flat, 90, sizeof(flat));
	CHECK_OK(pgs_gaussian_blur_u8(flat, out, 20, 10, 3, 2.0, &err), &err);
	CHECK(memcmp(flat, out, sizeof(flat)) == 0);
	/* an impulse spreads symmetrically and keeps (about) its mass */
	memset(spot, 0, sizeof(spot));
	spot[15 * 31 + 15] = 255;
	memset(spread, 0, sizeof(spread));
	CHECK_OK(pgs_gaussian_blur_u8(spot, spread, 31, 31, 1, 1.0, &err), &err);
	for (int i = 0; i < 31 * 31; i++)
		total += spread[i];
	CHECK(labs(total - 255) <= 12);
	CHECK(spread[15 * 31 + 14] == spread[15 * 31 + 16] && spread[14 * 31 + 15] == spread[16 * 31 + 15]);
	CHECK(spread[15 * 31 + 15] > spread[15 * 31 + 16] && spread[15 * 31 + 15] < 255);
	CHECK_FAILS(pgs_gaussian_blur_u8(spot, spread, 31, 31, 1, 0.0, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_otsu(void)
{
	uint64_t	h[256] = {0};

	CHECK(pgs_otsu_threshold(h) == 0);
	h[50] = 1000;
	h[200] = 3000;
	CHECK(pgs_otsu_threshold(h) >= 50 && pgs_otsu_threshold(h) < 200);
	/* two broad modes of unequal spread: between them (OpenCV says 97 for this histogram, see the oracle) */
	memset(h, 0, sizeof(h));
	for (int v = 0; v < 256; v++)
		h[v] = (uint64_t) (1000 * exp(-(v - 60) * (v - 60) / 200.0) + 1000 * exp(-(v - 180) * (v - 180) / 300.0));
	CHECK(pgs_otsu_threshold(h) == 97);
}

int
main(void)
{
	RUN(test_resize_keeps_constants_and_identity);
	RUN(test_resize_halving);
	RUN(test_resize_ramp);
	RUN(test_gaussian_blur);
	RUN(test_otsu);
	return unit_done();
}
