/* Unit tests of the synthetic fundus generator: determinism, one eye across grades, lesions by grade, sets. */
#include "../../kernels/image/fundus.h"
#include "../../kernels/image/synthetic.h"
#include "unit.h"

#include <math.h>

static pgs_error err;

static void
test_same_seed_same_bytes(void)
{
	uint8_t    *a,
			   *b;
	size_t		la,
				lb;
	pgs_synthetic_fundus_truth ta,
				tb;

	CHECK_OK(pgs_synthetic_fundus(42, 2, 384, &pgs_malloc_allocator, &a, &la, &ta, &err), &err);
	CHECK_OK(pgs_synthetic_fundus(42, 2, 384, &pgs_malloc_allocator, &b, &lb, &tb, &err), &err);
	CHECK(la == lb && memcmp(a, b, la) == 0 && memcmp(&ta, &tb, sizeof(ta)) == 0);
	CHECK(a[0] == 0xFF && a[1] == 0xD8 && ta.width == 384);
	free(b);
	CHECK_OK(pgs_synthetic_fundus(43, 2, 384, &pgs_malloc_allocator, &b, &lb, &tb, &err), &err);
	CHECK(la != lb || memcmp(a, b, la) != 0);
	free(a);
	free(b);
}

/* One seed is one eye and one camera: grades add lesions to the same picture. */
static void
test_one_eye_at_every_grade(void)
{
	pgs_image	img[PGS_DR_GRADES];
	pgs_synthetic_fundus_truth t[PGS_DR_GRADES];
	size_t		n;

	for (int g = 0; g < PGS_DR_GRADES; g++)
		CHECK_OK(pgs_synthetic_fundus_render(7, g, 512, &pgs_malloc_allocator, &img[g], &t[g], &err), &err);
	n = (size_t) img[0].width * img[0].height * 3;
	for (int g = 1; g < PGS_DR_GRADES; g++)
	{
		long		changed = 0;

		CHECK(t[g].width == t[0].width && t[g].height == t[0].height && t[g].cx == t[0].cx &&
			  t[g].radius == t[0].radius && t[g].right_eye == t[0].right_eye && t[g].grade == g);
		for (size_t i = 0; i < n; i++)
			changed += ((uint8_t *) img[g].data)[i] != ((uint8_t *) img[0].data)[i];
		/* sensor noise is the same too, so only lesions (and beading) change pixels: a small part */
		CHECKF(changed > 0 && changed < (long) n / 4, "grade %d changes %ld of %zu samples", g, changed, n);
	}
	for (int g = 0; g < PGS_DR_GRADES; g++)
		free(img[g].data);
}

/* The International Clinical DR scale, as drawn: what each grade must and must not contain. */
static void
test_lesions_follow_the_grade(void)
{
	int			referable_signs = 0;

	for (int64_t seed = 1; seed <= 40; seed++)
		for (int g = 0; g < PGS_DR_GRADES; g++)
		{
			pgs_image	img;
			pgs_synthetic_fundus_truth t;
			int			beyond_ma;

			CHECK_OK(pgs_synthetic_fundus_render(seed, g, 96, &pgs_malloc_allocator, &img, &t, &err), &err);
			free(img.data);
			beyond_ma = t.haemorrhages + t.exudates + t.cotton_wool_spots + t.neovascularisation;
			if (g == 0)
				CHECK(t.microaneurysms == 0 && beyond_ma == 0 && t.laser_scars == 0);
			if (g == 1)
				CHECKF(t.microaneurysms >= 1 && beyond_ma == 0, "seed %lld: %d MA, %d other", (long long) seed,
					   t.microaneurysms, beyond_ma);
			if (g == 2)
				referable_signs += beyond_ma > 0;
			if (g == 3)
				CHECK(t.haemorrhages >= 12);
			if (g == 4)
				CHECK(t.neovascularisation >= 1);
			CHECK(t.jpeg_quality >= 72 && t.jpeg_quality <= 96);
		}
	/* moderate NPDR has more than microaneurysms (a lesion may rarely fall outside the frame) */
	CHECKF(referable_signs >= 38, "%d of 40 grade-2 images show more than microaneurysms", referable_signs);
}

/* The anatomy is in units of the fundus radius: the same seed at another size is the same picture, scaled. */
static void
test_size_independent_geometry(void)
{
	pgs_synthetic_fundus_truth small,
				large;
	uint8_t    *a,
			   *b;
	size_t		la,
				lb;

	CHECK_OK(pgs_synthetic_fundus(5, 3, 400, &pgs_malloc_allocator, &a, &la, &small, &err), &err);
	CHECK_OK(pgs_synthetic_fundus(5, 3, 1200, &pgs_malloc_allocator, &b, &lb, &large, &err), &err);
	CHECK(fabs(large.radius / large.width - small.radius / small.width) < 1e-3);
	CHECK(fabs(large.cx / large.width - small.cx / small.width) < 2e-3);
	CHECK(large.haemorrhages == small.haemorrhages && large.microaneurysms == small.microaneurysms);
	free(a);
	free(b);
}

/* What the generator draws, the preprocessing finds. */
static void
test_preprocessing_finds_the_drawn_circle(void)
{
	for (int64_t seed = 100; seed < 112; seed++)
	{
		uint8_t    *jpeg;
		size_t		len;
		pgs_synthetic_fundus_truth t;
		pgs_fundus_options opts;
		pgs_fundus_circle c;

		CHECK_OK(pgs_synthetic_fundus(seed, (int) (seed % 5), 640, &pgs_malloc_allocator, &jpeg, &len, &t, &err), &err);
		pgs_fundus_options_init(&opts);
		CHECK_OK(pgs_fundus_preprocess(jpeg, len, &opts, &pgs_malloc_allocator, NULL, &c, &err), &err);
		CHECKF(c.gradable && fabs(c.radius - t.radius) < 1.5 + 0.008 * t.radius,
			   "seed %lld: found r=%g, drawn r=%g", (long long) seed, c.radius, t.radius);
		free(jpeg);
	}
}

static void
test_tiny_and_bad_arguments(void)
{
	pgs_image	img;
	pgs_synthetic_fundus_truth t;
	double		bad[PGS_DR_GRADES] = {1, 1, -1, 0, 0},
				zero[PGS_DR_GRADES] = {0};

	CHECK_OK(pgs_synthetic_fundus_render(1, 0, PGS_SYNTHETIC_MIN_SIZE, &pgs_malloc_allocator, &img, &t, &err), &err);
	CHECK(img.width == 32 && img.height >= 16);
	free(img.data);
	CHECK_FAILS(pgs_synthetic_fundus_render(1, 5, 512, &pgs_malloc_allocator, &img, &t, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strcmp(err.message, "DR grade must be between 0 and 4, not 5") == 0);
	CHECK_FAILS(pgs_synthetic_fundus_render(1, -1, 512, &pgs_malloc_allocator, &img, &t, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_synthetic_fundus_render(1, 0, 31, &pgs_malloc_allocator, &img, &t, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_synthetic_fundus_render(1, 0, 4097, &pgs_malloc_allocator, &img, &t, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_grade_mix_check(bad, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_grade_mix_check(zero, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_OK(pgs_grade_mix_check(pgs_eyepacs_grade_mix, &err), &err);
}

static void
test_set_grade_mix(void)
{
	int			counts[PGS_DR_GRADES] = {0};
	double		total = 0,
				only_four[PGS_DR_GRADES] = {0, 0, 0, 0, 3};
	int			n = 20000;

	for (int g = 0; g < PGS_DR_GRADES; g++)
		total += pgs_eyepacs_grade_mix[g];
	for (int i = 0; i < n; i++)
		counts[pgs_synthetic_set_grade(9, i, pgs_eyepacs_grade_mix)]++;
	for (int g = 0; g < PGS_DR_GRADES; g++)
	{
		double		p = pgs_eyepacs_grade_mix[g] / total;

		CHECKF(fabs(counts[g] / (double) n - p) < 4 * sqrt(p * (1 - p) / n) + 1e-3, "grade %d: %d of %d, expected %.3f",
			   g, counts[g], n, p);
	}
	CHECK(pgs_synthetic_set_grade(9, 5, only_four) == 4);
	CHECK(pgs_synthetic_set_grade(9, 5, pgs_eyepacs_grade_mix) == pgs_synthetic_set_grade(9, 5, pgs_eyepacs_grade_mix));
	CHECK(pgs_synthetic_set_member_seed(9, 1) != pgs_synthetic_set_member_seed(9, 2));
	CHECK(pgs_synthetic_set_member_seed(9, 1) != pgs_synthetic_set_member_seed(10, 1));
}

int
main(void)
{
	RUN(test_same_seed_same_bytes);
	RUN(test_one_eye_at_every_grade);
	RUN(test_lesions_follow_the_grade);
	RUN(test_size_independent_geometry);
	RUN(test_preprocessing_finds_the_drawn_circle);
	RUN(test_tiny_and_bad_arguments);
	RUN(test_set_grade_mix);
	return unit_done();
}
