/* The engine's name for a recipe's architecture and its network, in one place for trainer and predictor. */
#ifndef PGS_ENGINE_NAMES_H
#define PGS_ENGINE_NAMES_H

#include "../device/augment.h"
#include "../nn/net.h"
#include "recipe.h"

static inline pgs_arch
pgs_engine_arch(pgs_recipe_arch arch)
{
	return arch == PGS_RECIPE_SMALL_CNN ? PGS_ARCH_SMALL_CNN : PGS_ARCH_INCEPTION_V3;
}

static inline pgs_recipe_arch
pgs_recipe_arch_of_engine(pgs_arch arch)
{
	return arch == PGS_ARCH_SMALL_CNN ? PGS_RECIPE_SMALL_CNN : PGS_RECIPE_INCEPTION_V3;
}

/* The network of the architecture for h×w×c inputs with one sigmoid output (the referable/non-referable head). */
static inline void
pgs_engine_net_config(pgs_recipe_arch arch, int height, int width, int channels, pgs_net_config *config)
{
	pgs_net_config_defaults(config, pgs_engine_arch(arch));
	config->in_channels = channels;
	config->in_height = height;
	config->in_width = width;
}

static inline pgs_status
pgs_engine_net_create(const pgs_ops *ops, pgs_recipe_arch arch, int height, int width, int channels,
					  pgs_net **out, pgs_error *err)
{
	pgs_net_config config;

	pgs_engine_net_config(arch, height, width, channels, &config);
	return pgs_net_create(ops, &config, out, err);
}

#endif
