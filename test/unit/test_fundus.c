/* Unit tests of the fundus pipeline on drawn discs: location, crop and padding, formats, scaling, rejection. */
#include "../../kernels/image/fundus.h"
#include "../../kernels/image/jpeg_encode.h"
#include "../../kernels/image/npy.h"
#include "unit.h"
#include "cancel_testing.h"

#include <math.h>

static pgs_error err;

/* An orange disc with an anti-aliased edge on black, optionally 1 channel, 16 bits or with alpha. */
static pgs_image
disc(int w, int h, double cx, double cy, double r, int channels, pgs_dtype dtype)
{
	pgs_image	img = {w, h, channels, dtype, dtype == PGS_DTYPE_U8 ? 8 : 16, NULL};
	size_t		n = (size_t) w * h * channels;
	static const double color[4] = {200, 90, 40, 255};

	img.data = malloc(n * (dtype == PGS_DTYPE_U8 ? 1 : 2));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
		{
			double		edge = fmin(1.0, fmax(0.0, r - hypot(x - cx, y - cy) + 0.5));
			double		shade = 1.0 - 0.3 * (x - cx) / r * (y - cy) / r;	/* not symmetric */

			for (int c = 0; c < channels; c++)
			{
				double		v = channels <= 2 ? (c == 1 ? 255 : 120 * shade * edge) :
					(c == 3 ? 255 : color[c] * shade * edge);
				size_t		i = ((size_t) y * w + x) * channels + c;

				if (dtype == PGS_DTYPE_U8)
					((uint8_t *) img.data)[i] = (uint8_t) lround(v);
				else
					((uint16_t *) img.data)[i] = (uint16_t) lround(v * 257);
			}
		}
	return img;
}

static uint8_t *
as_npy(const pgs_image *img, size_t *len)
{
	pgs_tensor	t;
	uint8_t    *npy;

	pgs_image_as_tensor(img, &t);
	CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, &npy, len, &err), &err);
	return npy;
}

static uint8_t *
as_png(const pgs_image *img, size_t *len)
{
	uint8_t    *png;

	CHECK_OK(pgs_png_encode(img, &pgs_malloc_allocator, &png, len, &err), &err);
	return png;
}

/* Run the pipeline on encoded bytes with default options and the given diameter. */
static pgs_fundus_circle
run(const uint8_t *data, size_t len, int diameter, pgs_fundus_method method, pgs_image *out)
{
	pgs_fundus_options opts;
	pgs_fundus_circle circle;

	pgs_fundus_options_init(&opts);
	opts.diameter = diameter;
	opts.method = method;
	CHECK_OK(pgs_fundus_preprocess(data, len, &opts, &pgs_malloc_allocator, out, &circle, &err), &err);
	return circle;
}

static const uint8_t *
pixel(const pgs_image *img, int x, int y)
{
	return (const uint8_t *) img->data + ((size_t) y * img->width + x) * img->channels;
}

static void
test_contrast_curve_is_clamped(void)
{
	uint8_t		t[256];

	pgs_fundus_contrast_table(t);
	CHECK(t[0] == 0 && t[12] == 0 && t[13] == 1);	/* the black surround's noise drops out */
	CHECK(t[100] == 67 && t[193] == 252 && t[194] == 255);
	/* the replication's uint8 cast wrapped 258.1 to 2 here; clamped, it stays the brightest */
	CHECK(t[195] == 255 && t[255] == 255);
	for (int v = 1; v < 256; v++)
		CHECK(t[v] >= t[v - 1]);
}

/* grey ≥ 1 with OpenCV's fixed-point BT.601 weights: a little green counts, the same red does not */
static void
test_mask_uses_bt601_weights(void)
{
	uint8_t		rgb[4 * 3] = {13, 0, 0, 0, 13, 0, 0, 0, 255, 0, 0, 0};
	uint8_t		mask[4];
	pgs_image	img = {4, 1, 3, PGS_DTYPE_U8, 8, rgb};

	pgs_fundus_mask(&img, mask);
	CHECK(mask[0] == 0 && mask[1] == 1 && mask[2] == 1 && mask[3] == 0);
}

static void
test_locates_and_centres_a_disc(void)
{
	pgs_image	img = disc(640, 480, 321.3, 247.8, 200.0, 3, PGS_DTYPE_U8),
				out;
	size_t		len;
	uint8_t    *npy = as_npy(&img, &len);
	pgs_fundus_circle c = run(npy, len, 299, PGS_FUNDUS_VOETS2018, &out);

	CHECK(c.found && c.gradable && c.verdict == PGS_FUNDUS_GRADABLE && c.scale_denom == 1);
	CHECKF(fabs(c.cx - 321.3) < 0.5 && fabs(c.cy - 247.8) < 0.5 && fabs(c.radius - 200.5) < 1.0,
		   "circle (%g, %g) r=%g", c.cx, c.cy, c.radius);
	CHECK(c.width == 640 && c.height == 480 && c.rim_fraction > 0.9);
	CHECK(out.width == 299 && out.height == 299 && out.channels == 3 && out.dtype == PGS_DTYPE_U8);
	/* black corners, fundus colour in the middle, the disc edge near the square's edge */
	CHECK(pixel(&out, 0, 0)[0] == 0 && pixel(&out, 298, 298)[0] == 0);
	CHECK(abs(pixel(&out, 149, 149)[0] - 200) <= 3 && abs(pixel(&out, 149, 149)[1] - 90) <= 3);
	CHECK(pixel(&out, 2, 149)[0] > 100 && pixel(&out, 296, 149)[0] > 100);
	free(out.data);
	free(npy);
	free(img.data);
}

/*
 * A fundus cut off by the top of the frame: the crop starts at row 0 and is shorter than it is wide, so
 * the padding is larger, and the top part of the square stays black.
 */
static void
test_clipped_circle_crop_and_padding(void)
{
	pgs_image	img = disc(700, 400, 350, 150, 220, 3, PGS_DTYPE_U8),
				out;
	size_t		len;
	uint8_t    *npy = as_npy(&img, &len);
	pgs_fundus_circle c = run(npy, len, 299, PGS_FUNDUS_VOETS2018, &out);
	int			first_bright = -1,
				last_bright = -1;

	CHECK(c.gradable && fabs(c.radius - 220.5) < 1.0);
	/* the centroid of a cut disc lies below the true centre */
	CHECK(c.cy > 150 + 5);
	for (int y = 0; y < 299; y++)
		if (pixel(&out, 149, y)[0] > 50)
		{
			if (first_bright < 0)
				first_bright = y;
			last_bright = y;
		}
	/*
	 * The crop is rows [0, 400) of a 441-row square: 271 output rows, centred under 14 black ones; the
	 * disc ends at row 370, which lands at 14 + 370·149.5/220.5 ≈ 265.
	 */
	CHECKF(first_bright >= 12 && first_bright <= 16 && last_bright >= 262 && last_bright <= 268,
		   "fundus rows %d..%d", first_bright, last_bright);
	free(out.data);
	free(npy);
	free(img.data);
}

static void
test_formats_agree(void)
{
	pgs_image	rgb = disc(500, 400, 250, 200, 180, 3, PGS_DTYPE_U8),
				grey = disc(500, 400, 250, 200, 180, 1, PGS_DTYPE_U8),
				grey16 = disc(500, 400, 250, 200, 180, 1, PGS_DTYPE_U16),
				rgba16 = disc(500, 400, 250, 200, 180, 4, PGS_DTYPE_U16),
				a,
				b;
	size_t		len;
	uint8_t    *file;
	long		diff = 0;

	file = as_png(&rgb, &len);
	run(file, len, 128, PGS_FUNDUS_VOETS2018, &a);
	free(file);
	file = as_png(&rgba16, &len);
	run(file, len, 128, PGS_FUNDUS_VOETS2018, &b);
	free(file);
	for (size_t i = 0; i < 128 * 128 * 3; i++)
		diff = labs(((uint8_t *) a.data)[i] - ((uint8_t *) b.data)[i]) > diff ? labs(((uint8_t *) a.data)[i] - ((uint8_t *) b.data)[i]) : diff;
	CHECKF(diff <= 1, "16-bit RGBA PNG vs 8-bit RGB: max diff %ld", diff);
	free(a.data);
	free(b.data);

	/* grey in, the same grey in R, G and B out; 16-bit grey within a level of 8-bit grey */
	file = as_png(&grey, &len);
	run(file, len, 128, PGS_FUNDUS_VOETS2018, &a);
	free(file);
	file = as_png(&grey16, &len);
	run(file, len, 128, PGS_FUNDUS_VOETS2018, &b);
	free(file);
	CHECK(a.channels == 3);
	for (size_t i = 0; i < 128 * 128; i++)
	{
		const uint8_t *p = (const uint8_t *) a.data + 3 * i,
				   *q = (const uint8_t *) b.data + 3 * i;

		CHECK(p[0] == p[1] && p[1] == p[2] && abs(p[0] - q[0]) <= 1);
	}
	free(a.data);
	free(b.data);
	free(rgb.data);
	free(grey.data);
	free(grey16.data);
	free(rgba16.data);
}

/* A JPEG is decoded at the smallest DCT scale that keeps the circle at least the target across. */
static void
test_jpeg_dct_scaling(void)
{
	pgs_image	img = disc(1600, 1200, 800, 600, 560, 3, PGS_DTYPE_U8),
				out,
				exact;
	uint8_t    *jpeg;
	size_t		len;
	pgs_fundus_options opts;
	pgs_fundus_circle c,
				full;
	long		total = 0;

	CHECK_OK(pgs_jpeg_encode(&img, 92, &pgs_malloc_allocator, &jpeg, &len, &err), &err);
	c = run(jpeg, len, 299, PGS_FUNDUS_VOETS2018, &out);
	CHECKF(c.scale_denom == 2 && c.gradable, "scale 1/%d", c.scale_denom);
	CHECKF(fabs(c.cx - 800) < 2 && fabs(c.cy - 600) < 2 && fabs(c.radius - 560.5) < 3, "(%g, %g) r=%g", c.cx, c.cy, c.radius);
	/* a smaller target allows a smaller scale; a larger one needs full size */
	CHECK(run(jpeg, len, 128, PGS_FUNDUS_VOETS2018, NULL).scale_denom == 8);
	CHECK(run(jpeg, len, 1024, PGS_FUNDUS_VOETS2018, NULL).scale_denom == 1);
	/* forced full size: the same picture within JPEG's and the filter's difference */
	pgs_fundus_options_init(&opts);
	opts.scale_denom = 1;
	CHECK_OK(pgs_fundus_preprocess(jpeg, len, &opts, &pgs_malloc_allocator, &exact, &full, &err), &err);
	CHECK(full.scale_denom == 1 && fabs(full.radius - c.radius) < 2);
	for (size_t i = 0; i < 299 * 299 * 3; i++)
		total += labs(((uint8_t *) out.data)[i] - ((uint8_t *) exact.data)[i]);
	CHECKF(total / (299.0 * 299 * 3) < 3.0, "mean |diff| %g", total / (299.0 * 299 * 3));
	free(out.data);
	free(exact.data);
	free(jpeg);
	free(img.data);
}

static void
test_ungradable_photographs(void)
{
	pgs_image	small = disc(400, 300, 200, 150, 90, 3, PGS_DTYPE_U8),
				black = disc(400, 300, 200, 150, 0, 3, PGS_DTYPE_U8),
				full = disc(400, 300, 200, 150, 2000, 3, PGS_DTYPE_U8),
				strip = disc(3000, 40, 1500, 20, 5000, 3, PGS_DTYPE_U8),
				out;
	size_t		len;
	uint8_t    *file;
	pgs_fundus_circle c;
	char		why[256];

	file = as_npy(&small, &len);
	c = run(file, len, 299, PGS_FUNDUS_VOETS2018, &out);
	CHECK(c.found && !c.gradable && c.verdict == PGS_FUNDUS_TOO_SMALL && out.data == NULL);
	pgs_fundus_describe_verdict(&c, why, sizeof(why));
	CHECK(strstr(why, "radius of 90.") != NULL && strstr(why, "more than 100") != NULL);
	free(file);

	file = as_npy(&black, &len);
	c = run(file, len, 299, PGS_FUNDUS_VOETS2018, &out);
	CHECK(!c.found && !c.gradable && c.verdict == PGS_FUNDUS_BLACK && out.data == NULL);
	free(file);

	/* a photograph filling the frame, and a long strip: big enough, but no round edge */
	file = as_npy(&full, &len);
	c = run(file, len, 299, PGS_FUNDUS_VOETS2018, &out);
	CHECK(c.found && c.radius > 100 && c.verdict == PGS_FUNDUS_NOT_ROUND && c.rim_fraction == 0.0);
	pgs_fundus_describe_verdict(&c, why, sizeof(why));
	CHECK(strstr(why, "no round edge") != NULL);
	free(file);
	file = as_npy(&strip, &len);
	c = run(file, len, 299, PGS_FUNDUS_VOETS2018, &out);
	CHECK(c.verdict == PGS_FUNDUS_NOT_ROUND);
	free(file);
	free(small.data);
	free(black.data);
	free(full.data);
	free(strip.data);
}

static void
test_graham(void)
{
	pgs_image	img = disc(640, 480, 320, 240, 200, 3, PGS_DTYPE_U8),
				out;
	size_t		len;
	uint8_t    *npy = as_npy(&img, &len);

	run(npy, len, 299, PGS_FUNDUS_GRAHAM, &out);
	/* outside 90 % of the circle: the neutral 128; inside, a smooth disc minus its blur is about 128 */
	CHECK(pixel(&out, 0, 0)[0] == 128 && pixel(&out, 149, 5)[1] == 128 && pixel(&out, 10, 149)[2] == 128);
	for (int c = 0; c < 3; c++)
		CHECK(abs(pixel(&out, 149, 149)[c] - 128) <= 4 && abs(pixel(&out, 100, 180)[c] - 128) <= 6);
	free(out.data);
	free(npy);
	free(img.data);
}

static void
test_bad_arguments(void)
{
	pgs_image	img = disc(64, 48, 32, 24, 20, 3, PGS_DTYPE_U8);
	size_t		len;
	uint8_t    *npy = as_npy(&img, &len);
	pgs_fundus_options opts;
	pgs_fundus_circle c;
	pgs_fundus_method m;
	float		f32[4] = {0};
	pgs_tensor	t = {PGS_DTYPE_F32, 2, {2, 2}, f32};
	uint8_t    *float_npy;
	size_t		float_len;

	pgs_fundus_options_init(&opts);
	opts.diameter = 7;
	CHECK_FAILS(pgs_fundus_preprocess(npy, len, &opts, &pgs_malloc_allocator, NULL, &c, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	opts.diameter = 299;
	opts.scale_denom = 3;
	CHECK_FAILS(pgs_fundus_preprocess(npy, len, &opts, &pgs_malloc_allocator, NULL, &c, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	opts.scale_denom = 0;
	CHECK_FAILS(pgs_fundus_preprocess(npy, 20, &opts, &pgs_malloc_allocator, NULL, &c, &err), PGS_ERR_BAD_DATA, &err);
	CHECK_FAILS(pgs_fundus_method_parse("gulshan", &m, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "voets2018 or graham") != NULL);
	CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, &float_npy, &float_len, &err), &err);
	CHECK_FAILS(pgs_fundus_preprocess(float_npy, float_len, &opts, &pgs_malloc_allocator, NULL, &c, &err), PGS_ERR_UNSUPPORTED, &err);
	free(float_npy);
	free(npy);
	free(img.data);
}

/*
 * Stopped at each of its cancel points in turn, the pipeline returns PGS_ERR_CANCELLED with nothing
 * allocated left over, and there are enough points: every 64 rows of the PNG decode, the grey or 16-bit
 * conversion, the mask's contour, the resize and both blur passes. Then it runs through unchanged.
 */
static void
test_cancel_points(void)
{
	pgs_image	images[2] = {disc(640, 512, 320, 256, 240, 3, PGS_DTYPE_U8),
		disc(640, 512, 320, 256, 240, 1, PGS_DTYPE_U16)};

	for (int k = 0; k < 2; k++)
	{
		size_t		len;
		uint8_t    *png = as_png(&images[k], &len);
		pgs_fundus_options opts;
		pgs_fundus_circle circle;
		pgs_image	reference,
					out;
		pgs_status	st = PGS_ERR_CANCELLED;
		int			point;

		pgs_fundus_options_init(&opts);
		opts.method = PGS_FUNDUS_GRAHAM;
		CHECK_OK(pgs_fundus_preprocess(png, len, &opts, &pgs_malloc_allocator, &reference, &circle, &err), &err);
		for (point = 1; st == PGS_ERR_CANCELLED && point < 10000; point++)
		{
			cancel_arm(point);
			st = pgs_fundus_preprocess(png, len, &opts, &counted_allocator, &out, &circle, &err);
			cancel_arm(0);
			CHECKF(st == PGS_OK || (st == PGS_ERR_CANCELLED && out.data == NULL && counted_blocks == 0),
				   "point %d: %s, %ld blocks held", point, err.message, counted_blocks);
		}
		CHECKF(point - 2 >= 2 * 512 / 64, "image %d: %d cancel points", k, point - 2);
		CHECK(st == PGS_OK && memcmp(out.data, reference.data, (size_t) 299 * 299 * 3) == 0);
		pgs_free(&counted_allocator, out.data);
		free(reference.data);
		free(png);
		free(images[k].data);
	}
}

int
main(void)
{
	RUN(test_contrast_curve_is_clamped);
	RUN(test_mask_uses_bt601_weights);
	RUN(test_locates_and_centres_a_disc);
	RUN(test_clipped_circle_crop_and_padding);
	RUN(test_formats_agree);
	RUN(test_jpeg_dct_scaling);
	RUN(test_ungradable_photographs);
	RUN(test_graham);
	RUN(test_bad_arguments);
	RUN(test_cancel_points);
	return unit_done();
}
