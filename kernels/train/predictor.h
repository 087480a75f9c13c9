/* Inference with a stored model: its input preparation and normalization, then the network in batches. */
#ifndef PGS_PREDICTOR_H
#define PGS_PREDICTOR_H

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"
#include "../device/ops.h"
#include "recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgs_predictor pgs_predictor;

/* What a stored network is: everything besides its weights that scoring must reproduce. */
typedef struct pgs_predictor_spec
{
	pgs_recipe_arch architecture;
	int			height;
	int			width;
	int			channels;
	pgs_normalization normalization;
} pgs_predictor_spec;

pgs_status	pgs_predictor_create(const pgs_ops *ops, const pgs_predictor_spec *spec, const uint8_t *weights,
								 size_t weights_len, pgs_predictor **out, pgs_error *err);
void		pgs_predictor_free(pgs_predictor *predictor);

/*
 * Probabilities (sigmoid of the network's output) of n images, uint8 H×W×C each, one after another.
 * Normalization is the model's own: the caller cannot apply another one by mistake.
 */
pgs_status	pgs_predictor_run(pgs_predictor *predictor, int n, const uint8_t *images, double *probabilities,
							  pgs_error *err);

/* Host and device bytes held, for the model cache's limit. */
size_t		pgs_predictor_bytes(const pgs_predictor *predictor);

#ifdef __cplusplus
}
#endif

#endif
