/* Unit tests of network input preparation: transpose, normalizations, each augmentation op, draws. */
#include "../../kernels/device/augment.h"
#include "../../kernels/device/ops.h"
#include "unit.h"

#include <math.h>

static pgs_error err;

static const pgs_augment_params identity = {0, 0.0f, 1.0f, 0.0f, 1.0f, {0, 1, 2, 3}};

/* A 3-row, 5-column RGB image whose every sample differs and which no flip or transpose leaves alone. */
static void
distinct_image(unsigned char *hwc)
{
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 5; x++)
			for (int c = 0; c < 3; c++)
				hwc[(y * 5 + x) * 3 + c] = (unsigned char) (80 * c + 15 * y + 2 * x + 1);
}

/*
 * The replication's first bug: H×W×C → C×H×W by reshape scrambles the image. out[c][y][x] must be
 * in[y][x][c]; a reshape would put in[0][0][1] (the green of the first pixel) at out[0][0][1].
 */
static void
test_layout_is_a_transpose_not_a_reshape(void)
{
	unsigned char hwc[45];
	float		chw[45];

	distinct_image(hwc);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_UNIT, chw, &err), &err);
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 5; x++)
			for (int c = 0; c < 3; c++)
				CHECKF(chw[(c * 3 + y) * 5 + x] == hwc[(y * 5 + x) * 3 + c] / 255.0f, "c=%d y=%d x=%d", c, y, x);
	/* and it is not the reshape: the second float is the red of the second pixel, not the green of the first */
	CHECK(chw[1] == hwc[3] / 255.0f && chw[1] != hwc[1] / 255.0f);
}

static void
test_normalizations(void)
{
	unsigned char hwc[45];
	float		unit[45],
				sym[45],
				std[45];
	double		mean = 0,
				var = 0;

	distinct_image(hwc);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_UNIT, unit, &err), &err);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_SYMMETRIC, sym, &err), &err);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_STANDARDIZE, std, &err), &err);
	for (int i = 0; i < 45; i++)
	{
		CHECK(unit[i] >= 0 && unit[i] <= 1);
		/* x/127.5 − 1 of the 8-bit value */
		CHECK(fabs(sym[i] - (unit[i] * 255.0 / 127.5 - 1.0)) < 1e-6);
		mean += std[i];
	}
	mean /= 45;
	for (int i = 0; i < 45; i++)
		var += (std[i] - mean) * (std[i] - mean);
	CHECK(fabs(mean) < 1e-6);
	CHECK(fabs(var / 45 - 1.0) < 1e-5);
	CHECK(sym[0] == 2.0f * (1 / 255.0f) - 1.0f);

	/* imagenet: (x − mean_c)/std_c with torchvision's statistics, channel by channel (CHW) */
	{
		float		net[45];
		const double means[3] = {0.485, 0.456, 0.406},
					stds[3] = {0.229, 0.224, 0.225};

		CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_IMAGENET, net, &err), &err);
		for (int i = 0; i < 45; i++)
			CHECKF(fabs(net[i] - (unit[i] - means[i / 15]) / stds[i / 15]) < 1e-5, "value %d: %g", i, net[i]);
	}

	/* a flat image: the standard deviation is 0, so 1/√N takes over and every value becomes 0, not NaN */
	memset(hwc, 77, sizeof(hwc));
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_STANDARDIZE, std, &err), &err);
	for (int i = 0; i < 45; i++)
		CHECK(std[i] == 0.0f);
}

static void
test_names(void)
{
	pgs_normalization n;

	CHECK_OK(pgs_normalization_parse("standardize", &n, &err), &err);
	CHECK(n == PGS_NORM_STANDARDIZE && strcmp(pgs_normalization_name(n), "standardize") == 0);
	CHECK_OK(pgs_normalization_parse("imagenet", &n, &err), &err);
	CHECK(n == PGS_NORM_IMAGENET && strcmp(pgs_normalization_name(n), "imagenet") == 0);
	CHECK_FAILS(pgs_normalization_parse("normalize", &n, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "unit, standardize, symmetric or imagenet") != NULL);
	CHECK_FAILS(pgs_cpu_prepare_input(NULL, 1, 3, 5, 2, (const unsigned char *) "", NULL, 0, NULL, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, (const unsigned char *) "", NULL, 7, NULL, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
}

/* Apply one op to one pixel. */
static void
one(int op, pgs_augment_params p, float r, float g, float b, float *out)
{
	float		means[3] = {0.25f, 0.5f, 0.75f};

	out[0] = r;
	out[1] = g;
	out[2] = b;
	pgs_augment_pixel(op, &p, means, 3, out);
}

static void
test_identity_settings_change_nothing(void)
{
	unsigned long long seed = 3;

	for (int k = 0; k < 2000; k++)
	{
		float		rgb[3],
					out[3];

		for (int c = 0; c < 3; c++)
			rgb[c] = (float) (unit_random(&seed) >> 40) / (float) (1 << 24);
		for (int op = 0; op < PGS_AUG_COLOUR_OPS; op++)
		{
			one(op, identity, rgb[0], rgb[1], rgb[2], out);
			for (int c = 0; c < 3; c++)
				CHECKF(out[c] == rgb[c], "op %d on (%g, %g, %g): %g", op, rgb[0], rgb[1], rgb[2], out[c]);
		}
	}
}

/* Near the identity, the operations are continuous: a tiny setting moves pixels a tiny amount. */
static void
test_near_identity_is_close(void)
{
	pgs_augment_params p = identity;
	unsigned long long seed = 5;

	p.saturation = 1.0001f;
	p.hue = 1e-5f;
	p.contrast = 0.9999f;
	for (int k = 0; k < 2000; k++)
	{
		float		rgb[3],
					out[3];

		for (int c = 0; c < 3; c++)
			rgb[c] = (float) (unit_random(&seed) >> 40) / (float) (1 << 24);
		for (int op = 0; op < PGS_AUG_COLOUR_OPS; op++)
		{
			one(op, p, rgb[0], rgb[1], rgb[2], out);
			for (int c = 0; c < 3; c++)
				CHECKF(fabsf(out[c] - rgb[c]) < 2e-4f, "op %d on (%g, %g, %g): %g", op, rgb[0], rgb[1], rgb[2], out[c]);
		}
	}
}

static void
test_each_operation(void)
{
	pgs_augment_params p = identity;
	float		out[3];

	/* brightness adds and clips */
	p.brightness = 0.125f;
	one(PGS_AUG_BRIGHTNESS, p, 0.5f, 0.95f, 0.0f, out);
	CHECK(fabsf(out[0] - 0.625f) < 1e-6f && out[1] == 1.0f && fabsf(out[2] - 0.125f) < 1e-6f);
	p.brightness = -0.125f;
	one(PGS_AUG_BRIGHTNESS, p, 0.1f, 0.5f, 1.0f, out);
	CHECK(out[0] == 0.0f && fabsf(out[1] - 0.375f) < 1e-6f);

	/* contrast scales the distance from each channel's mean (0.25, 0.5, 0.75 here) */
	p = identity;
	p.contrast = 1.5f;
	one(PGS_AUG_CONTRAST, p, 0.35f, 0.5f, 0.55f, out);
	CHECK(fabsf(out[0] - 0.4f) < 1e-6f && fabsf(out[1] - 0.5f) < 1e-6f && fabsf(out[2] - 0.45f) < 1e-6f);
	p.contrast = 0.0f;
	one(PGS_AUG_CONTRAST, p, 0.9f, 0.1f, 0.3f, out);
	CHECK(out[0] == 0.25f && out[1] == 0.5f && out[2] == 0.75f);

	/* saturation 0 leaves the value (the largest channel) on all three; ×2 pushes away from it */
	p = identity;
	p.saturation = 0.0f;
	one(PGS_AUG_SATURATION, p, 0.8f, 0.4f, 0.2f, out);
	CHECK(fabsf(out[0] - 0.8f) < 1e-6f && fabsf(out[1] - 0.8f) < 1e-6f && fabsf(out[2] - 0.8f) < 1e-6f);
	p.saturation = 1.5f;
	one(PGS_AUG_SATURATION, p, 0.8f, 0.4f, 0.2f, out);	/* s = 0.75 → 1.0 (clipped): min channel 0 */
	CHECK(fabsf(out[0] - 0.8f) < 1e-6f && fabsf(out[2]) < 1e-6f && fabsf(out[1] - 0.8f * 1.0f / 3.0f) < 1e-5f);

	/* hue turns the colour circle: a third of a turn makes red green, half a turn makes it cyan */
	p = identity;
	p.hue = 1.0f / 3.0f;
	one(PGS_AUG_HUE, p, 1.0f, 0.0f, 0.0f, out);
	CHECK(fabsf(out[0]) < 1e-5f && fabsf(out[1] - 1.0f) < 1e-5f && fabsf(out[2]) < 1e-5f);
	p.hue = -0.5f;
	one(PGS_AUG_HUE, p, 0.9f, 0.3f, 0.3f, out);
	CHECK(fabsf(out[0] - 0.3f) < 1e-5f && fabsf(out[1] - 0.9f) < 1e-5f && fabsf(out[2] - 0.9f) < 1e-5f);

	/* a grey image has no saturation or hue to change */
	p.saturation = 0.2f;
	p.hue = 0.2f;
	{
		float		grey[1] = {0.4f},
					means[1] = {0.4f};

		pgs_augment_pixel(PGS_AUG_SATURATION, &p, means, 1, grey);
		pgs_augment_pixel(PGS_AUG_HUE, &p, means, 1, grey);
		CHECK(grey[0] == 0.4f);
	}
}

static void
test_flip_mirrors_columns(void)
{
	unsigned char hwc[45];
	float		plain[45],
				flipped[45];
	pgs_augment_params p = identity;

	distinct_image(hwc);
	p.flip = 1;
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_UNIT, plain, &err), &err);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, &p, PGS_NORM_UNIT, flipped, &err), &err);
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 3; y++)
			for (int x = 0; x < 5; x++)
				CHECK(flipped[(c * 3 + y) * 5 + x] == plain[(c * 3 + y) * 5 + (4 - x)]);
	/* with every other setting at identity, augmentation changes nothing but the flip */
	p.flip = 0;
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, &p, PGS_NORM_UNIT, flipped, &err), &err);
	CHECK(memcmp(flipped, plain, sizeof(plain)) == 0);
}

/* Contrast uses the means of the image as it is when contrast's turn comes, so the order matters. */
static void
test_order_matters_and_is_followed(void)
{
	unsigned char hwc[45];
	float		a[45],
				b[45];
	pgs_augment_params p = identity;

	distinct_image(hwc);
	p.brightness = 0.3f;
	p.contrast = 1.8f;
	memcpy(p.order, (uint8_t[]) {PGS_AUG_BRIGHTNESS, PGS_AUG_CONTRAST, PGS_AUG_SATURATION, PGS_AUG_HUE}, 4);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, &p, PGS_NORM_UNIT, a, &err), &err);
	memcpy(p.order, (uint8_t[]) {PGS_AUG_CONTRAST, PGS_AUG_BRIGHTNESS, PGS_AUG_SATURATION, PGS_AUG_HUE}, 4);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, &p, PGS_NORM_UNIT, b, &err), &err);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	for (int i = 0; i < 45; i++)
		CHECK(a[i] >= 0 && a[i] <= 1 && b[i] >= 0 && b[i] <= 1);
}

static void
test_draws_are_deterministic_and_in_range(void)
{
	pgs_augment_recipe recipe;
	pgs_augment_params p,
				q;
	int			flips = 0,
				seen[24] = {0},
				orders = 0;

	pgs_augment_recipe_published(&recipe);
	CHECK_OK(pgs_augment_recipe_check(&recipe, &err), &err);
	pgs_augment_draw(&recipe, 7, 3, &p);
	pgs_augment_draw(&recipe, 7, 3, &q);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	pgs_augment_draw(&recipe, 7, 4, &q);
	CHECK(memcmp(&p, &q, sizeof(p)) != 0);
	for (int i = 0; i < 4000; i++)
	{
		int			code = 0,
					used = 0;

		pgs_augment_draw(&recipe, 11, (uint64_t) i, &p);
		flips += p.flip;
		CHECK(fabsf(p.brightness) <= 0.125f && fabsf(p.hue) <= 0.2f);
		CHECK(p.saturation >= 0.5f && p.saturation <= 1.5f && p.contrast >= 0.5f && p.contrast <= 1.5f);
		/* the order is a permutation; count which of the 24 appear */
		for (int k = 0; k < 4; k++)
		{
			used |= 1 << p.order[k];
			code = code * 4 + p.order[k];
		}
		CHECK(used == 15);
		for (int k = 0; k < 24; k++)
			if (seen[k] == code + 1)
				break;
			else if (seen[k] == 0)
			{
				seen[k] = code + 1;
				orders++;
				break;
			}
	}
	CHECK(flips > 1800 && flips < 2200);
	CHECKF(orders == 24, "%d of the 24 orders drawn", orders);

	/* without random order, the replication's fixed order; the identity recipe draws the identity */
	recipe.random_order = false;
	pgs_augment_draw(&recipe, 11, 5, &p);
	CHECK(p.order[0] == 0 && p.order[1] == 1 && p.order[2] == 2 && p.order[3] == 3);
	pgs_augment_recipe_identity(&recipe);
	pgs_augment_draw(&recipe, 11, 5, &p);
	CHECK(p.flip == 0 && p.brightness == 0 && p.saturation == 1 && p.hue == 0 && p.contrast == 1);

	recipe.hue = 0.7;
	CHECK_FAILS(pgs_augment_recipe_check(&recipe, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	pgs_augment_recipe_published(&recipe);
	recipe.contrast_lo = 2;
	CHECK_FAILS(pgs_augment_recipe_check(&recipe, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_cpu_ops_table_has_prepare_input(void)
{
	const pgs_ops *ops = pgs_cpu_ops();
	unsigned char hwc[45];
	float		a[45],
				b[45];

	distinct_image(hwc);
	CHECK(ops->prepare_input != NULL);
	CHECK_OK(ops->prepare_input(ops->ctx, 1, 3, 5, 3, hwc, NULL, PGS_NORM_SYMMETRIC, a, &err), &err);
	CHECK_OK(pgs_cpu_prepare_input(NULL, 1, 3, 5, 3, hwc, NULL, PGS_NORM_SYMMETRIC, b, &err), &err);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
}

int
main(void)
{
	RUN(test_layout_is_a_transpose_not_a_reshape);
	RUN(test_normalizations);
	RUN(test_names);
	RUN(test_identity_settings_change_nothing);
	RUN(test_near_identity_is_close);
	RUN(test_each_operation);
	RUN(test_flip_mirrors_columns);
	RUN(test_order_matters_and_is_followed);
	RUN(test_draws_are_deterministic_and_in_range);
	RUN(test_cpu_ops_table_has_prepare_input);
	return unit_done();
}
