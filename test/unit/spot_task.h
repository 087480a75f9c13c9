/* The trainer tests' synthetic task: a coloured spot on a noisy disc, in caches of SPOT_SIDE² images. */
#ifndef PGS_SPOT_TASK_H
#define PGS_SPOT_TASK_H

#include <math.h>
#include <stdint.h>

#include "../../kernels/common/prng.h"
#include "../../kernels/train/data_cache.h"
#include "../../kernels/train/recipe.h"
#include "unit.h"

#define SPOT_SIDE 32

/*
 * Every image holds a small spot somewhere on a noisy reddish disc: yellowish (an "exudate") in positive
 * images, dark red (a harmless vessel crossing) in negative ones, of about the same brightness, so the
 * network must learn the colour of a local feature rather than a global statistic.
 */
static inline void
spot_image(uint64_t seed, int index, int positive, uint8_t *image)
{
	pgs_prng	rng;
	int			sx,
				sy;

	pgs_prng_seed(&rng, seed, (uint64_t) index);
	sx = 8 + pgs_prng_below(&rng, SPOT_SIDE - 16);
	sy = 8 + pgs_prng_below(&rng, SPOT_SIDE - 16);
	for (int y = 0; y < SPOT_SIDE; y++)
		for (int x = 0; x < SPOT_SIDE; x++)
		{
			uint8_t    *p = image + ((size_t) y * SPOT_SIDE + x) * 3;
			double		r = hypot(x - SPOT_SIDE / 2.0, y - SPOT_SIDE / 2.0);
			double		noise = 20 * (pgs_prng_uniform(&rng) - 0.5);
			int			inside = r < SPOT_SIDE / 2.0 - 1;

			p[0] = (uint8_t) (inside ? 150 + noise : 0);
			p[1] = (uint8_t) (inside ? 60 + noise : 0);
			p[2] = (uint8_t) (inside ? 30 + noise : 0);
			if (hypot(x - sx, y - sy) < 2.5)
			{
				p[0] = positive ? 190 : 230;
				p[1] = positive ? 170 : 90;
				p[2] = positive ? 60 : 100;
			}
		}
}

static inline void
spot_cache(pgs_data_cache *cache, uint64_t seed, int n)
{
	uint8_t		image[SPOT_SIDE * SPOT_SIDE * 3];
	pgs_error	err;

	CHECK_OK(pgs_data_cache_init(cache, SPOT_SIDE, SPOT_SIDE, 3, 1 << 26, 1 << 26, "/tmp/unused", &err), &err);
	for (int i = 0; i < n; i++)
	{
		spot_image(seed, i, i % 3 == 0, image);
		CHECK_OK(pgs_data_cache_append(cache, image, i % 3 == 0, &err), &err);
	}
}

/*
 * The recipe the spot task trains with: the small CNN at SPOT_SIDE, Adam at a constant learning rate, batch
 * 16, no weight decay, every image once per epoch.
 */
static inline void
spot_recipe(pgs_recipe *r, int augment, uint64_t seed)
{
	pgs_recipe_init(r);
	r->architecture = PGS_RECIPE_SMALL_CNN;
	r->input_size = SPOT_SIDE;
	pgs_recipe_optimizer_defaults(r, PGS_RECIPE_ADAM);
	r->weight_decay = 0;
	r->schedule = PGS_RECIPE_LR_CONSTANT;
	r->warmup_epochs = 0;
	r->balance = PGS_RECIPE_BALANCE_NONE;
	r->batch_size = 16;
	r->augmentation.enabled = augment;
	r->seed = seed;
}

#endif
