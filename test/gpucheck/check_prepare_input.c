/* The CUDA prepare_input op against the reference (kernels/device/prepare_input.c): flips, every colour operation, every normalization. */
#include "../../kernels/cpu/reference.h"
#include "gpucheck.h"
#include "../../kernels/device/augment.h"

static const pgs_ops *gpu;
static const pgs_ops *ref;	/* the naive reference, kernels/cpu/reference.c */
static pgs_error err;

/* Run both devices on the same batch and compare the float outputs. */
static double
compare_devices(const char *what, int n, int h, int w, int c, const pgs_augment_params *params, int norm,
				unsigned long long seed)
{
	size_t		count = (size_t) n * h * w * c;
	unsigned char *images = malloc(count);
	float	   *want = malloc(count * sizeof(float));
	float	   *got = malloc(count * sizeof(float));
	void	   *d_images,
			   *d_params = NULL,
			   *d_out;
	double		worst;

	for (size_t i = 0; i < count; i++)
		images[i] = (unsigned char) (unit_random(&seed) >> 56);
	CHECK_OK(ref->prepare_input(ref->ctx, n, h, w, c, images, params, norm, want, &err), &err);
	CHECK_OK(gpu->alloc(gpu->ctx, count, &d_images, &err), &err);
	CHECK_OK(gpu->alloc(gpu->ctx, count * sizeof(float), &d_out, &err), &err);
	CHECK_OK(gpu->upload(gpu->ctx, d_images, images, count, &err), &err);
	if (params != NULL)
	{
		CHECK_OK(gpu->alloc(gpu->ctx, n * sizeof(pgs_augment_params), &d_params, &err), &err);
		CHECK_OK(gpu->upload(gpu->ctx, d_params, params, n * sizeof(pgs_augment_params), &err), &err);
	}
	CHECK_OK(gpu->prepare_input(gpu->ctx, n, h, w, c, d_images, d_params, norm, d_out, &err), &err);
	CHECK_OK(gpu->download(gpu->ctx, got, d_out, count * sizeof(float), &err), &err);
	worst = gpucheck_compare(what, got, want, count, 1e-3);
	gpu->free(gpu->ctx, d_images);
	gpu->free(gpu->ctx, d_out);
	gpu->free(gpu->ctx, d_params);
	free(images);
	free(want);
	free(got);
	return worst;
}

static void
test_normalizations_without_augmentation(void)
{
	for (int norm = PGS_NORM_UNIT; norm <= PGS_NORM_IMAGENET; norm++)
	{
		char		what[64];

		snprintf(what, sizeof(what), "%s, 3×299×299×3", pgs_normalization_name(norm));
		/* x/255 and 2x − 1 are exact; standardize differs only in the order of its double sums */
		CHECK(compare_devices(what, 3, 299, 299, 3, NULL, norm, 1 + norm) <= 1e-5);
	}
	CHECK(compare_devices("grey, standardize", 2, 37, 53, 1, NULL, PGS_NORM_STANDARDIZE, 7) <= 1e-5);
}

static void
test_each_operation_alone(void)
{
	const char *names[PGS_AUG_COLOUR_OPS] = {"brightness", "saturation", "hue", "contrast"};

	for (int op = 0; op < PGS_AUG_COLOUR_OPS; op++)
	{
		pgs_augment_params p[2] = {{1, 0.1f, 1.0f, 0.0f, 1.0f, {0, 1, 2, 3}}, {0, -0.1f, 1.0f, 0.0f, 1.0f, {0, 1, 2, 3}}};
		char		what[64];

		for (int i = 0; i < 2; i++)
		{
			p[i].brightness = op == PGS_AUG_BRIGHTNESS ? p[i].brightness : 0.0f;
			p[i].saturation = op == PGS_AUG_SATURATION ? 0.6f + 0.8f * i : 1.0f;
			p[i].hue = op == PGS_AUG_HUE ? 0.15f - 0.3f * i : 0.0f;
			p[i].contrast = op == PGS_AUG_CONTRAST ? 0.55f + 0.9f * i : 1.0f;
		}
		snprintf(what, sizeof(what), "%s only, flipped and not", names[op]);
		CHECK(compare_devices(what, 2, 64, 97, 3, p, PGS_NORM_UNIT, 20 + op) <= 1e-5);
	}
}

static void
test_published_recipe_batches(void)
{
	pgs_augment_recipe recipe;
	pgs_augment_params params[32];

	pgs_augment_recipe_published(&recipe);
	for (int i = 0; i < 32; i++)
		pgs_augment_draw(&recipe, 42, (uint64_t) i, &params[i]);
	for (int norm = PGS_NORM_UNIT; norm <= PGS_NORM_IMAGENET; norm++)
	{
		char		what[64];

		snprintf(what, sizeof(what), "published recipe, %s, 32×299×299×3", pgs_normalization_name(norm));
		/* means feed contrast, so a last-bit difference in a sum may move a value by an ulp or two */
		CHECK(compare_devices(what, 32, 299, 299, 3, params, norm, 100 + norm) <= 1e-4);
	}
}

int
main(void)
{
	gpu = gpucheck_open_gpu();
	ref = pgs_reference_ops();
	RUN(test_normalizations_without_augmentation);
	RUN(test_each_operation_alone);
	RUN(test_published_recipe_batches);
	return unit_done();
}
