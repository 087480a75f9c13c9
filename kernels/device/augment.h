/* Network input preparation shared by CPU and GPU: normalizations, colour augmentation, HWC → CHW. */
#ifndef PGS_AUGMENT_H
#define PGS_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/hostdev.h"
#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The three normalizations of docs/study.md ("Normalisation"), applied to x in [0, 1] (the image divided by
 * 255, after any augmentation). Mixing them up cost the replication dearly, so a model stores which one it
 * was trained with.
 *   unit:        x                              (x/255 of the 8-bit image)
 *   standardize: (x − mean) / max(std, 1/√N)    per image over all N = C·H·W values (TensorFlow's
 *                per_image_standardization; on x/255 rather than on 0–255, which differs only for images
 *                so flat that the 1/√N floor applies)
 *   symmetric:   2x − 1 in [−1, 1]              (x/127.5 − 1 of the 8-bit image)
 *   imagenet:    (x − mean_c) / std_c           torchvision's ImageNet statistics per channel, what networks
 *                pretrained there expect
 */
typedef enum pgs_normalization
{
	PGS_NORM_UNIT = 0,
	PGS_NORM_STANDARDIZE,
	PGS_NORM_SYMMETRIC,
	PGS_NORM_IMAGENET,
	PGS_NORM_N
} pgs_normalization;

pgs_status	pgs_normalization_parse(const char *name, pgs_normalization *norm, pgs_error *err);
const char *pgs_normalization_name(pgs_normalization norm);

/* The colour operations, in the order the published recipe lists them. */
typedef enum pgs_augment_op
{
	PGS_AUG_BRIGHTNESS = 0,
	PGS_AUG_SATURATION,
	PGS_AUG_HUE,
	PGS_AUG_CONTRAST,
	PGS_AUG_COLOUR_OPS
} pgs_augment_op;

/*
 * The augmentation recipe, the one struct screen.augment and training share: what to draw from, the
 * ranges of each operation and whether the order is random per image.
 */
typedef struct pgs_augment_recipe
{
	bool		enabled;		/* false: images pass unchanged */
	bool		flip;			/* left-right flip with probability 1/2 */
	double		brightness;		/* delta uniform in [−brightness, brightness] */
	double		saturation_lo;	/* factor uniform in [lo, hi] */
	double		saturation_hi;
	double		hue;			/* delta uniform in [−hue, hue], in turns of the colour circle */
	double		contrast_lo;	/* factor uniform in [lo, hi] */
	double		contrast_hi;
	bool		random_order;	/* a random order per image; else brightness, saturation, hue, contrast */
} pgs_augment_recipe;

/* What was drawn for one image: everything the device needs, so CPU and GPU apply identical changes. */
typedef struct pgs_augment_params
{
	int32_t		flip;
	float		brightness;
	float		saturation;
	float		hue;
	float		contrast;
	uint8_t		order[PGS_AUG_COLOUR_OPS];
} pgs_augment_params;

/*
 * The published replication's recipe (docs/study.md, "Augmentation"): flip, brightness ±0.125, saturation
 * ×[0.5, 1.5], hue ±0.2, contrast ×[0.5, 1.5], in a random order per image.
 */
void		pgs_augment_recipe_published(pgs_augment_recipe *recipe);

/* A recipe that changes nothing (disabled, every range collapsed to the identity). */
void		pgs_augment_recipe_identity(pgs_augment_recipe *recipe);

pgs_status	pgs_augment_recipe_check(const pgs_augment_recipe *recipe, pgs_error *err);

/*
 * Draw the changes for image `index` of a run seeded with `seed`. Each image has its own random stream,
 * so the result does not depend on batch composition or on which device applies it.
 */
void		pgs_augment_draw(const pgs_augment_recipe *recipe, uint64_t seed, uint64_t index,
							 pgs_augment_params *params);

/* ---------- element-wise maths, compiled for both the CPU and the GPU ---------- */

PGS_HOSTDEV float
pgs_clip01(float v)
{
	return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* RGB in [0, 1] to hue (turns, [0, 1)), saturation and value, as TensorFlow's rgb_to_hsv. */
PGS_HOSTDEV void
pgs_rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v)
{
	float		hi = r > g ? (r > b ? r : b) : (g > b ? g : b);
	float		lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
	float		chroma = hi - lo;
	float		hue = 0.0f;

	if (chroma > 0.0f)
	{
		if (hi == r)
			hue = (g - b) / chroma;
		else if (hi == g)
			hue = 2.0f + (b - r) / chroma;
		else
			hue = 4.0f + (r - g) / chroma;
		hue /= 6.0f;
		if (hue < 0.0f)
			hue += 1.0f;
	}
	*h = hue;
	*s = hi > 0.0f ? chroma / hi : 0.0f;
	*v = hi;
}

PGS_HOSTDEV void
pgs_hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b)
{
	float		c = s * v;
	float		m = v - c;
	float		dh = h * 6.0f;
	int			sector = (int) dh;
	float		f = dh - (float) (sector & ~1);	/* dh mod 2 */
	float		x = c * (1.0f - (f > 1.0f ? f - 1.0f : 1.0f - f));
	float		rr = 0.0f,
				gg = 0.0f,
				bb = 0.0f;

	switch (sector)
	{
		case 0:
			rr = c, gg = x;
			break;
		case 1:
			rr = x, gg = c;
			break;
		case 2:
			gg = c, bb = x;
			break;
		case 3:
			gg = x, bb = c;
			break;
		case 4:
			rr = x, bb = c;
			break;
		default:
			rr = c, bb = x;
			break;
	}
	*r = rr + m;
	*g = gg + m;
	*b = bb + m;
}

/*
 * One colour operation on one pixel of `channels` values (1: grey, where saturation and hue change
 * nothing; 3: RGB). `means` holds the image's per-channel means, used by contrast. Results are clipped
 * to [0, 1] after every operation, so each one sees the domain it is defined on. An operation at its
 * identity setting is skipped, so the identity leaves pixels bit for bit unchanged (the HSV round trip
 * alone would move them by an ulp).
 */
PGS_HOSTDEV void
pgs_augment_pixel(int op, const pgs_augment_params *p, const float *means, int channels, float *px)
{
	float		h,
				s,
				v;

	switch (op)
	{
		case PGS_AUG_BRIGHTNESS:
			for (int c = 0; c < channels; c++)
				px[c] = pgs_clip01(px[c] + p->brightness);
			break;
		case PGS_AUG_CONTRAST:
			if (p->contrast == 1.0f)
				break;
			for (int c = 0; c < channels; c++)
				px[c] = pgs_clip01((px[c] - means[c]) * p->contrast + means[c]);
			break;
		case PGS_AUG_SATURATION:
			if (channels != 3 || p->saturation == 1.0f)
				break;
			pgs_rgb_to_hsv(px[0], px[1], px[2], &h, &s, &v);
			pgs_hsv_to_rgb(h, pgs_clip01(s * p->saturation), v, &px[0], &px[1], &px[2]);
			for (int c = 0; c < 3; c++)
				px[c] = pgs_clip01(px[c]);
			break;
		case PGS_AUG_HUE:
			if (channels != 3 || p->hue == 0.0f)
				break;
			pgs_rgb_to_hsv(px[0], px[1], px[2], &h, &s, &v);
			h += p->hue;
			h -= (float) (int) (h + 2.0f) - 2.0f;	/* wrap into [0, 1) for |h| < 2 */
			if (h >= 1.0f)
				h -= 1.0f;
			pgs_hsv_to_rgb(h, s, v, &px[0], &px[1], &px[2]);
			for (int c = 0; c < 3; c++)
				px[c] = pgs_clip01(px[c]);
			break;
		default:
			break;
	}
}

/*
 * torchvision's ImageNet statistics for channel c of RGB in [0, 1]: mean (0.485, 0.456, 0.406), standard
 * deviation (0.229, 0.224, 0.225); a grey image takes their averages.
 */
PGS_HOSTDEV void
pgs_imagenet_statistics(int channels, int c, float *mean, float *inv_std)
{
	const float means[3] = {0.485f, 0.456f, 0.406f};
	const float stds[3] = {0.229f, 0.224f, 0.225f};

	*mean = channels == 3 ? means[c] : (means[0] + means[1] + means[2]) / 3.0f;
	*inv_std = 1.0f / (channels == 3 ? stds[c] : (stds[0] + stds[1] + stds[2]) / 3.0f);
}

/*
 * The normalization of one value x in [0, 1]; standardize needs the image's mean and 1/max(std, 1/√N),
 * imagenet the channel's from pgs_imagenet_statistics.
 */
PGS_HOSTDEV float
pgs_normalize_value(int norm, float x, float mean, float inv_std)
{
	switch (norm)
	{
		case PGS_NORM_STANDARDIZE:
		case PGS_NORM_IMAGENET:
			return (x - mean) * inv_std;
		case PGS_NORM_SYMMETRIC:
			return 2.0f * x - 1.0f;
		default:
			return x;
	}
}

/* ---------- the CPU reference ---------- */

/*
 * The ops-table op prepare_input on the CPU (see ops.h): n uint8 H×W×C images → float32 n×C×H×W, scaled to
 * [0, 1], flipped and colour-augmented with params[i] when params is not NULL, then normalised. The layout
 * change is a transpose: out[c][y][x] = in[y][x][c].
 */
pgs_status	pgs_cpu_prepare_input(void *ctx, int n, int height, int width, int channels,
								  const unsigned char *images, const pgs_augment_params *params,
								  int normalization, float *out, pgs_error *err);

/* Check the arguments every implementation of prepare_input shares (host code, inline for the CUDA module). */
static inline pgs_status
pgs_prepare_input_check(int n, int height, int width, int channels, int normalization, pgs_error *err)
{
	if (n < 0 || height <= 0 || width <= 0 || (channels != 1 && channels != 3))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"network input must be n×H×W×C uint8 images with 1 or 3 channels, not %d×%d×%d×%d",
						n, height, width, channels);
	if (normalization < PGS_NORM_UNIT || normalization > PGS_NORM_IMAGENET)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown normalization %d", normalization);
	return PGS_OK;
}

#ifdef __cplusplus
}
#endif

#endif
