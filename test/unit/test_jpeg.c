/* Unit tests of JPEG decoding: colour, grayscale, progressive, CMYK, DCT scaling, truncated and hostile files. */
#include "../../kernels/image/image.h"
#include "unit.h"

#include <math.h>
#include <turbojpeg.h>

static pgs_error err;

/* A smooth, non-symmetric test picture (gradients plus a disc) that JPEG compresses faithfully. */
static uint8_t *
make_picture(int w, int h, int channels)
{
	uint8_t    *px = malloc((size_t) w * h * channels);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < channels; c++)
			{
				double		d = hypot(x - w * 0.4, y - h * 0.6);
				double		v = 40 + 150.0 * x / w + 50.0 * y / h * (c + 1) / channels + (d < h / 4.0 ? 30 : 0);

				px[((size_t) y * w + x) * channels + c] = (uint8_t) (v > 255 ? 255 : v);
			}
	return px;
}

static uint8_t *
compress(const uint8_t *px, int w, int h, int pixel_format, int subsamp, int flags, size_t *len)
{
	tjhandle	tj = tjInitCompress();
	unsigned char *jpeg = NULL;
	unsigned long size = 0;

	CHECK(tjCompress2(tj, px, w, 0, h, pixel_format, &jpeg, &size, subsamp, 92, flags) == 0);
	tjDestroy(tj);
	*len = size;
	return jpeg;
}

static double
psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
	double		se = 0;

	for (size_t i = 0; i < n; i++)
		se += (double) (a[i] - b[i]) * (a[i] - b[i]);
	return se == 0 ? 99 : 10 * log10(255.0 * 255.0 * n / se);
}

static void
check_decodes_faithfully(int pixel_format, int channels, int subsamp, int flags, const char *what)
{
	int			w = 301,
				h = 203;
	uint8_t    *px = make_picture(w, h, channels);
	size_t		len;
	uint8_t    *jpeg = compress(px, w, h, pixel_format, subsamp, flags, &len);
	pgs_decode_options opts;
	pgs_image	out;
	pgs_image_info info;

	pgs_decode_options_init(&opts);
	CHECK_OK(pgs_image_probe(jpeg, len, &info, &err), &err);
	CHECK(info.format == PGS_FORMAT_JPEG && info.width == w && info.height == h && info.channels == channels);
	CHECK_OK(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.width == w && out.height == h && out.channels == channels && out.dtype == PGS_DTYPE_U8);
	if (out.data)
	{
		double		p = psnr(px, out.data, (size_t) w * h * channels);

		CHECKF(p > 35, "%s: PSNR %.1f dB", what, p);
	}
	free(out.data);
	tjFree(jpeg);
	free(px);
}

static void
test_rgb_baseline(void)
{
	check_decodes_faithfully(TJPF_RGB, 3, TJSAMP_420, 0, "baseline 4:2:0");
	check_decodes_faithfully(TJPF_RGB, 3, TJSAMP_444, 0, "baseline 4:4:4");
}

static void
test_grayscale(void)
{
	check_decodes_faithfully(TJPF_GRAY, 1, TJSAMP_GRAY, 0, "grayscale");
}

static void
test_progressive(void)
{
	check_decodes_faithfully(TJPF_RGB, 3, TJSAMP_420, TJFLAG_PROGRESSIVE, "progressive");
}

/* CMYK (as printers' tools write it) comes back as RGB; check it against the inverted-CMYK formula. */
static void
test_cmyk_becomes_rgb(void)
{
	int			w = 64,
				h = 48;
	uint8_t    *cmyk = malloc((size_t) w * h * 4);
	size_t		len;
	uint8_t    *jpeg;
	pgs_decode_options opts;
	pgs_image	out;

	for (int i = 0; i < w * h; i++)
	{
		cmyk[4 * i + 0] = 200;
		cmyk[4 * i + 1] = 100;
		cmyk[4 * i + 2] = 50;
		cmyk[4 * i + 3] = 220;
	}
	jpeg = compress(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 0, &len);
	pgs_decode_options_init(&opts);
	CHECK_OK(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &out, &err), &err);
	CHECK(out.channels == 3);
	if (out.data)
	{
		const uint8_t *rgb = out.data;

		/* stored C'=200, K'=220: R = K' − (255−C')·K'/255 = 220 − 47 = 173 (±2 for lossy coding) */
		CHECKF(abs(rgb[0] - 173) <= 2 && abs(rgb[1] - 86) <= 2 && abs(rgb[2] - 43) <= 2,
			   "rgb %d %d %d", rgb[0], rgb[1], rgb[2]);
	}
	free(out.data);
	tjFree(jpeg);
	free(cmyk);
}

static void
test_dct_scaling(void)
{
	int			w = 301,
				h = 203;
	uint8_t    *px = make_picture(w, h, 3);
	size_t		len;
	uint8_t    *jpeg = compress(px, w, h, TJPF_RGB, TJSAMP_420, 0, &len);
	pgs_decode_options opts;
	pgs_image	full;

	pgs_decode_options_init(&opts);
	CHECK_OK(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &full, &err), &err);
	for (int denom = 2; denom <= 8; denom *= 2)
	{
		pgs_image	scaled,
					boxed;

		opts.scale_denom = denom;
		CHECK_OK(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &scaled, &err), &err);
		CHECKF(scaled.width == (w + denom - 1) / denom && scaled.height == (h + denom - 1) / denom,
			   "1/%d: %d×%d", denom, scaled.width, scaled.height);
		/* A DCT-scaled decode is close to a box-filtered full decode. */
		CHECK_OK(pgs_image_downscale_box(&full, denom, &pgs_malloc_allocator, &boxed, &err), &err);
		if (scaled.data && boxed.data)
		{
			double		p = psnr(scaled.data, boxed.data, pgs_image_bytes(&boxed));

			CHECKF(p > 30, "1/%d: PSNR against box filter %.1f dB", denom, p);
		}
		free(scaled.data);
		free(boxed.data);
	}
	opts.scale_denom = 3;
	CHECK_FAILS(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &full, &err), PGS_ERR_INVALID_ARGUMENT,
				&err);
	free(full.data);
	tjFree(jpeg);
	free(px);
}

static void
test_pick_scale_denom(void)
{
	CHECK(pgs_jpeg_pick_scale_denom(4000, 3000, 299, 299) == 8);
	CHECK(pgs_jpeg_pick_scale_denom(2000, 1500, 299, 299) == 4);
	CHECK(pgs_jpeg_pick_scale_denom(1000, 1000, 299, 299) == 2);
	CHECK(pgs_jpeg_pick_scale_denom(598, 598, 299, 299) == 2);
	CHECK(pgs_jpeg_pick_scale_denom(597, 597, 299, 299) == 2);	/* ceil(597/2) = 299 */
	CHECK(pgs_jpeg_pick_scale_denom(596, 596, 299, 299) == 1);
	CHECK(pgs_jpeg_pick_scale_denom(100, 100, 299, 299) == 1);
}

static void
test_every_truncation_fails_cleanly(void)
{
	int			w = 40,
				h = 32;
	uint8_t    *px = make_picture(w, h, 3);
	size_t		len;
	uint8_t    *jpeg = compress(px, w, h, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE, &len);
	pgs_decode_options opts;

	pgs_decode_options_init(&opts);
	for (size_t cut = 0; cut < len - 2; cut++)
	{
		pgs_image	out;
		pgs_status	st = pgs_image_decode(jpeg, cut, &opts, &pgs_malloc_allocator, &out, &err);

		CHECKF(st == PGS_ERR_BAD_DATA, "prefix of %zu/%zu bytes gave %s", cut, len, pgs_strerror(st));
		CHECK(out.data == NULL);
	}
	tjFree(jpeg);
	free(px);
}

/* Rewrite the SOF dimensions to 65000×65000: refused by the pixel limit, not by a failed 12 GB malloc. */
static void
test_huge_dimensions_are_refused(void)
{
	int			w = 16,
				h = 16;
	uint8_t    *px = make_picture(w, h, 3);
	size_t		len;
	uint8_t    *jpeg = compress(px, w, h, TJPF_RGB, TJSAMP_444, 0, &len);
	pgs_decode_options opts;
	pgs_image	out;
	bool		patched = false;

	for (size_t i = 2; i + 9 < len; i++)
		if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0)
		{
			jpeg[i + 5] = 0xFD;
			jpeg[i + 6] = 0xE8;
			jpeg[i + 7] = 0xFD;
			jpeg[i + 8] = 0xE8;
			patched = true;
			break;
		}
	CHECK(patched);
	pgs_decode_options_init(&opts);
	CHECK_FAILS(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &out, &err), PGS_ERR_LIMIT, &err);
	CHECK(strstr(err.message, "65000×65000") != NULL);
	opts.frame = 1;
	CHECK_FAILS(pgs_image_decode(jpeg, len, &opts, &pgs_malloc_allocator, &out, &err), PGS_ERR_INVALID_ARGUMENT,
				&err);
	tjFree(jpeg);
	free(px);
}

int
main(void)
{
	RUN(test_rgb_baseline);
	RUN(test_grayscale);
	RUN(test_progressive);
	RUN(test_cmyk_becomes_rgb);
	RUN(test_dct_scaling);
	RUN(test_pick_scale_denom);
	RUN(test_every_truncation_fails_cleanly);
	RUN(test_huge_dimensions_are_refused);
	return unit_done();
}
