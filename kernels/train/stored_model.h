/* Trained networks as pgscreen stores them: the engine's model file with the scoring recipe, and .npz in and out. */
#ifndef PGS_STORED_MODEL_H
#define PGS_STORED_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../device/ops.h"
#include "recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pgs_net;

/*
 * How a stored network's inputs are made: written into the model file's recipe (keys "normalization",
 * "preprocess", "preprocess_diameter") beside the network itself, so the bytes alone say how to score.
 */
typedef struct pgs_scoring_recipe
{
	pgs_normalization normalization;
	pgs_recipe_preprocess preprocess;
	int			preprocess_diameter;
} pgs_scoring_recipe;

#define PGS_SCORING_MAX_DIAMETER 4096

/*
 * Check the scoring keys of a model file's recipe (each may be absent; other keys are the writer's own
 * and are kept): normalization and preprocess must be known names, preprocess_diameter 0 to 4096.
 * Writers check before writing and readers after reading.
 */
struct pgs_model_recipe;
pgs_status	pgs_scoring_recipe_check(const struct pgs_model_recipe *kv, pgs_error *err);

/* What a training recipe says about scoring (the preprocessing diameter is 0 without preprocessing). */
void		pgs_scoring_recipe_of(const pgs_recipe *recipe, pgs_scoring_recipe *scoring);

/* The model file (kernels/nn/model_file.h) of a network and its scoring recipe, from `allocator`. */
pgs_status	pgs_stored_model_write(struct pgs_net *net, const pgs_scoring_recipe *scoring,
								   const pgs_allocator *allocator, uint8_t **out, size_t *len, pgs_error *err);

/* Build the network a model file holds on `ops`, and read its scoring recipe. */
pgs_status	pgs_stored_model_load(const pgs_ops *ops, const uint8_t *data, size_t len, struct pgs_net **net,
								  pgs_scoring_recipe *scoring, pgs_error *err);

/*
 * Copy a stored network's tensors into `net` (same architecture; any input size, the weights do not depend
 * on it). With `pretrained`, classifier tensors of another shape (ImageNet's 1000 classes) are skipped.
 */
pgs_status	pgs_stored_model_copy_weights(struct pgs_net *net, const uint8_t *data, size_t len, bool pretrained,
										  pgs_error *err);

/* The seed a network's weights are drawn from, given a recipe's seed (the trainer and create_model agree). */
uint64_t	pgs_model_weights_seed(uint64_t recipe_seed);

/* A freshly initialised network of this architecture and input, as a model file (an untrained model). */
pgs_status	pgs_stored_model_initial(pgs_recipe_arch arch, int height, int width, int channels, uint64_t seed,
									 const pgs_scoring_recipe *scoring, const pgs_allocator *allocator,
									 uint8_t **out, size_t *len, pgs_error *err);

/*
 * .npz weights with torchvision's names into a model file of this architecture and input. With
 * `pretrained`, a classifier of another shape is accepted (its tensors keep their initial values from seed).
 */
pgs_status	pgs_stored_model_from_npz(pgs_recipe_arch arch, int input_size, const pgs_scoring_recipe *scoring,
									  const uint8_t *npz, size_t npz_len, uint64_t seed,
									  const pgs_allocator *allocator, uint8_t **out, size_t *len, pgs_error *err);

/*
 * What a model file says about itself, for storing it as a model: the architecture, the input size and
 * the scoring recipe. Fails unless the file holds a network pgscreen can score (one sigmoid output) and
 * says how its inputs are made (normalization, preprocess, preprocess_diameter).
 */
typedef struct pgs_stored_model_description
{
	pgs_recipe_arch architecture;
	int			height;
	int			width;
	int			channels;
	pgs_scoring_recipe scoring;
} pgs_stored_model_description;

pgs_status	pgs_stored_model_describe(const uint8_t *data, size_t len, pgs_stored_model_description *out,
									  pgs_error *err);

/* A model file's tensors as .npz with torchvision's names (what PyTorch's load_state_dict takes). */
pgs_status	pgs_stored_model_to_npz(const uint8_t *data, size_t len, const pgs_allocator *allocator, uint8_t **out,
									size_t *out_len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
