/* The CPU reference of network input preparation: recipes, per-image draws, augmentation, normalization. */
#include "augment.h"
#include "../common/prng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

pgs_status
pgs_normalization_parse(const char *name, pgs_normalization *norm, pgs_error *err)
{
	for (int k = PGS_NORM_UNIT; k <= PGS_NORM_IMAGENET; k++)
		if (strcmp(name, pgs_normalization_name((pgs_normalization) k)) == 0)
		{
			*norm = (pgs_normalization) k;
			return PGS_OK;
		}
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
					"unknown normalization \"%s\" (expected unit, standardize, symmetric or imagenet)", name);
}

const char *
pgs_normalization_name(pgs_normalization norm)
{
	switch (norm)
	{
		case PGS_NORM_UNIT:
			return "unit";
		case PGS_NORM_STANDARDIZE:
			return "standardize";
		case PGS_NORM_SYMMETRIC:
			return "symmetric";
		case PGS_NORM_IMAGENET:
			return "imagenet";
		case PGS_NORM_N:
			break;
	}
	return "unknown";
}

void
pgs_augment_recipe_published(pgs_augment_recipe *recipe)
{
	recipe->enabled = true;
	recipe->flip = true;
	recipe->brightness = 0.125;
	recipe->saturation_lo = 0.5;
	recipe->saturation_hi = 1.5;
	recipe->hue = 0.2;
	recipe->contrast_lo = 0.5;
	recipe->contrast_hi = 1.5;
	recipe->random_order = true;
}

void
pgs_augment_recipe_identity(pgs_augment_recipe *recipe)
{
	recipe->enabled = false;
	recipe->flip = false;
	recipe->brightness = 0.0;
	recipe->saturation_lo = recipe->saturation_hi = 1.0;
	recipe->hue = 0.0;
	recipe->contrast_lo = recipe->contrast_hi = 1.0;
	recipe->random_order = false;
}

pgs_status
pgs_augment_recipe_check(const pgs_augment_recipe *r, pgs_error *err)
{
	if (!(r->brightness >= 0 && r->brightness <= 1))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "brightness must be between 0 and 1, not %g", r->brightness);
	if (!(r->hue >= 0 && r->hue <= 0.5))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "hue must be between 0 and 0.5, not %g", r->hue);
	if (!(r->saturation_lo >= 0 && r->saturation_lo <= r->saturation_hi && r->saturation_hi <= 100))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"saturation must be a range [lo, hi] with 0 ≤ lo ≤ hi ≤ 100, not [%g, %g]",
						r->saturation_lo, r->saturation_hi);
	if (!(r->contrast_lo >= 0 && r->contrast_lo <= r->contrast_hi && r->contrast_hi <= 100))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"contrast must be a range [lo, hi] with 0 ≤ lo ≤ hi ≤ 100, not [%g, %g]",
						r->contrast_lo, r->contrast_hi);
	return PGS_OK;
}

void
pgs_augment_draw(const pgs_augment_recipe *recipe, uint64_t seed, uint64_t index, pgs_augment_params *p)
{
	pgs_prng	rng;

	pgs_prng_seed(&rng, seed, index);
	/* Always draw every value, so a recipe's ranges never shift the stream of the others. */
	p->flip = pgs_prng_chance(&rng, 0.5) && recipe->flip;
	p->brightness = (float) pgs_prng_range(&rng, -recipe->brightness, recipe->brightness);
	p->saturation = (float) pgs_prng_range(&rng, recipe->saturation_lo, recipe->saturation_hi);
	p->hue = (float) pgs_prng_range(&rng, -recipe->hue, recipe->hue);
	p->contrast = (float) pgs_prng_range(&rng, recipe->contrast_lo, recipe->contrast_hi);
	for (int k = 0; k < PGS_AUG_COLOUR_OPS; k++)
		p->order[k] = (uint8_t) k;
	/* The replication fixed one order per run by accident; the published version shuffles per image. */
	for (int k = PGS_AUG_COLOUR_OPS - 1; k > 0; k--)
	{
		int			j = pgs_prng_below(&rng, k + 1);
		uint8_t		t = p->order[k];

		if (!recipe->random_order)
			continue;
		p->order[k] = p->order[j];
		p->order[j] = t;
	}
}

/* Per-channel means of a C×H×W image, in double so the order of summation hardly matters. */
static void
channel_means(const float *chw, int channels, size_t plane, float *means)
{
	for (int c = 0; c < channels; c++)
	{
		double		sum = 0.0;

		for (size_t i = 0; i < plane; i++)
			sum += chw[c * plane + i];
		means[c] = (float) (sum / (double) plane);
	}
}

static void
augment_image(float *chw, int channels, size_t plane, const pgs_augment_params *p)
{
	for (int k = 0; k < PGS_AUG_COLOUR_OPS; k++)
	{
		float		means[3] = {0, 0, 0};
		int			op = p->order[k];

		if (op == PGS_AUG_CONTRAST)
			channel_means(chw, channels, plane, means);
		for (size_t i = 0; i < plane; i++)
		{
			float		px[3];

			for (int c = 0; c < channels; c++)
				px[c] = chw[c * plane + i];
			pgs_augment_pixel(op, p, means, channels, px);
			for (int c = 0; c < channels; c++)
				chw[c * plane + i] = px[c];
		}
	}
}

static void
normalize_image(float *chw, int channels, size_t plane, int norm)
{
	size_t		count = plane * channels;
	float		mean = 0.0f,
				inv_std = 1.0f;

	if (norm == PGS_NORM_IMAGENET)
	{
		for (int c = 0; c < channels; c++)
		{
			pgs_imagenet_statistics(channels, c, &mean, &inv_std);
			for (size_t i = 0; i < plane; i++)
				chw[c * plane + i] = pgs_normalize_value(norm, chw[c * plane + i], mean, inv_std);
		}
		return;
	}

	if (norm == PGS_NORM_STANDARDIZE)
	{
		double		sum = 0.0,
					squares = 0.0,
					m;

		for (size_t i = 0; i < count; i++)
			sum += chw[i];
		m = sum / (double) count;
		for (size_t i = 0; i < count; i++)
			squares += ((double) chw[i] - m) * ((double) chw[i] - m);
		mean = (float) m;
		inv_std = (float) (1.0 / fmax(sqrt(squares / (double) count), 1.0 / sqrt((double) count)));
	}
	for (size_t i = 0; i < count; i++)
		chw[i] = pgs_normalize_value(norm, chw[i], mean, inv_std);
}

pgs_status
pgs_cpu_prepare_input(void *ctx, int n, int height, int width, int channels, const unsigned char *images,
					  const pgs_augment_params *params, int normalization, float *out, pgs_error *err)
{
	size_t		plane = (size_t) height * width;
	size_t		image_size = plane * channels;
	pgs_status	st;

	(void) ctx;
	if ((st = pgs_prepare_input_check(n, height, width, channels, normalization, err)) != PGS_OK)
		return st;
	for (int i = 0; i < n; i++)
	{
		const unsigned char *img = images + i * image_size;
		float	   *chw = out + i * image_size;
		bool		flip = params != NULL && params[i].flip;

		/* HWC → CHW is a transpose: sample (y, x, c) goes to (c, y, x), mirrored in x when flipped. */
		for (int y = 0; y < height; y++)
			for (int x = 0; x < width; x++)
			{
				const unsigned char *px = img + ((size_t) y * width + (flip ? width - 1 - x : x)) * channels;

				for (int c = 0; c < channels; c++)
					chw[c * plane + (size_t) y * width + x] = px[c] / 255.0f;
			}
		if (params != NULL)
			augment_image(chw, channels, plane, &params[i]);
		normalize_image(chw, channels, plane, normalization);
	}
	return PGS_OK;
}
