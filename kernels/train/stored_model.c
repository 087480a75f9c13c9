/* Stored networks: the engine's model file plus the scoring recipe, npz conversion, weight copies. */
#include "stored_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/prng.h"
#include "../nn/model_file.h"
#include "engine_names.h"

static pgs_status
scoring_to_kv(const pgs_scoring_recipe *s, pgs_model_recipe *kv, pgs_error *err)
{
	char		diameter[16];
	pgs_status	st;

	memset(kv, 0, sizeof(*kv));
	snprintf(diameter, sizeof(diameter), "%d", s->preprocess_diameter);
	if ((st = pgs_model_recipe_set(kv, "normalization", pgs_normalization_name(s->normalization), err)) != PGS_OK ||
		(st = pgs_model_recipe_set(kv, "preprocess", pgs_recipe_preprocess_name(s->preprocess), err)) != PGS_OK ||
		(st = pgs_model_recipe_set(kv, "preprocess_diameter", diameter, err)) != PGS_OK)
		return st;
	return PGS_OK;
}

pgs_status
pgs_scoring_recipe_check(const pgs_model_recipe *kv, pgs_error *err)
{
	const char *norm = pgs_model_recipe_get(kv, "normalization");
	const char *pre = pgs_model_recipe_get(kv, "preprocess");
	const char *diameter = pgs_model_recipe_get(kv, "preprocess_diameter");
	char	   *end = NULL;
	long		d = diameter ? strtol(diameter, &end, 10) : 0;

	if (norm != NULL && pgs_recipe_normalization_parse(norm) < 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "recipe \"normalization\" has unknown value \"%s\"", norm);
	if (pre != NULL && pgs_recipe_preprocess_parse(pre) < 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "recipe \"preprocess\" has unknown value \"%s\"", pre);
	if (diameter != NULL && (end == diameter || *end != '\0' || d < 0 || d > PGS_SCORING_MAX_DIAMETER))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"recipe \"preprocess_diameter\" must be an integer from 0 to %d, not \"%s\"",
						PGS_SCORING_MAX_DIAMETER, diameter);
	return PGS_OK;
}

static pgs_status
scoring_from_kv(const pgs_model_recipe *kv, pgs_scoring_recipe *s, pgs_error *err)
{
	const char *norm = pgs_model_recipe_get(kv, "normalization");
	const char *pre = pgs_model_recipe_get(kv, "preprocess");
	const char *diameter = pgs_model_recipe_get(kv, "preprocess_diameter");
	pgs_status	st;

	if ((st = pgs_scoring_recipe_check(kv, err)) != PGS_OK)
		return st;
	if (norm == NULL || pre == NULL || diameter == NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "the model file's recipe does not say how its inputs are made (normalization, preprocess and preprocess_diameter)");
	s->normalization = pgs_recipe_normalization_parse(norm);
	s->preprocess = pgs_recipe_preprocess_parse(pre);
	s->preprocess_diameter = atoi(diameter);
	return PGS_OK;
}

pgs_status
pgs_stored_model_describe(const uint8_t *data, size_t len, pgs_stored_model_description *out, pgs_error *err)
{
	pgs_model_info info;
	pgs_status	st;

	if ((st = pgs_model_read_info(data, len, &info, err)) != PGS_OK)
		return st;
	if (info.config.head != PGS_HEAD_SIGMOID || info.config.outputs != 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"the model file's network has a %s head with %d outputs; models score with one sigmoid output",
						pgs_head_name(info.config.head), info.config.outputs);
	out->architecture = pgs_recipe_arch_of_engine(info.config.arch);
	out->height = info.config.in_height;
	out->width = info.config.in_width;
	out->channels = info.config.in_channels;
	return scoring_from_kv(&info.recipe, &out->scoring, err);
}

void
pgs_scoring_recipe_of(const pgs_recipe *r, pgs_scoring_recipe *s)
{
	s->normalization = r->normalization;
	s->preprocess = r->preprocess;
	s->preprocess_diameter = r->preprocess == PGS_RECIPE_PREPROCESS_NONE ? 0 :
		(r->preprocess_diameter ? r->preprocess_diameter : r->input_size);
}

pgs_status
pgs_stored_model_write(struct pgs_net *net, const pgs_scoring_recipe *scoring, const pgs_allocator *allocator,
					   uint8_t **out, size_t *len, pgs_error *err)
{
	pgs_model_recipe kv;
	pgs_status	st;

	if ((st = scoring_to_kv(scoring, &kv, err)) != PGS_OK)
		return st;
	return pgs_model_write(net, &kv, NULL, allocator, out, len, err);
}

pgs_status
pgs_stored_model_load(const pgs_ops *ops, const uint8_t *data, size_t len, struct pgs_net **net,
					  pgs_scoring_recipe *scoring, pgs_error *err)
{
	pgs_model_info info;
	pgs_status	st;

	if ((st = pgs_model_load(ops, data, len, net, &info, err)) != PGS_OK)
		return st;
	if ((st = scoring_from_kv(&info.recipe, scoring, err)) != PGS_OK)
	{
		pgs_net_free(*net);
		*net = NULL;
	}
	return st;
}

/* The classifier of a one-output head: fc.* and AuxLogits.fc.* (what ImageNet weights have 1000 of). */
static bool
is_classifier(const char *name)
{
	return strncmp(name, "fc.", 3) == 0 || strncmp(name, "AuxLogits.fc.", 13) == 0;
}

pgs_status
pgs_stored_model_copy_weights(struct pgs_net *net, const uint8_t *data, size_t len, bool pretrained,
							  pgs_error *err)
{
	pgs_net    *source;
	pgs_model_info info;
	float	   *buffer = NULL;
	pgs_status	st;

	if ((st = pgs_model_load(pgs_cpu_ops(), data, len, &source, &info, err)) != PGS_OK)
		return st;
	if (info.config.arch != pgs_net_get_config(net)->arch)
	{
		st = pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the stored model is a %s, not a %s",
					  pgs_arch_name(info.config.arch), pgs_arch_name(pgs_net_get_config(net)->arch));
		goto done;
	}
	for (int i = 0; i < pgs_net_tensor_count(net); i++)
	{
		const pgs_net_tensor *t = pgs_net_get_tensor(net, i);
		const pgs_net_tensor *s = pgs_net_find_tensor(source, t->name);
		int			index;

		if (s == NULL || s->numel != t->numel || memcmp(s->shape, t->shape, sizeof(t->shape)) != 0)
		{
			if ((pretrained && is_classifier(t->name)) || (s == NULL && strncmp(t->name, "AuxLogits.", 10) == 0))
				continue;		/* keeps its initial value */
			st = pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the stored model's tensor \"%s\" %s", t->name,
						  s == NULL ? "is missing" : "has another shape");
			goto done;
		}
		index = (int) (s - pgs_net_get_tensor(source, 0));
		free(buffer);
		if ((buffer = malloc(sizeof(float) * (s->numel ? s->numel : 1))) == NULL)
		{
			st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
			goto done;
		}
		if ((st = pgs_net_read_tensor(source, index, buffer, err)) != PGS_OK ||
			(st = pgs_net_write_tensor(net, i, buffer, err)) != PGS_OK)
			goto done;
	}
	pgs_net_set_batches_tracked(net, pgs_net_batches_tracked(source));
done:
	free(buffer);
	pgs_net_free(source);
	return st;
}

uint64_t
pgs_model_weights_seed(uint64_t recipe_seed)
{
	/* A stream of its own, so the weights never correlate with the data order or the augmentation. */
	return pgs_prng_mix(recipe_seed, 1);
}

pgs_status
pgs_stored_model_initial(pgs_recipe_arch arch, int height, int width, int channels, uint64_t seed,
						 const pgs_scoring_recipe *scoring, const pgs_allocator *allocator, uint8_t **out,
						 size_t *len, pgs_error *err)
{
	pgs_net    *net;
	pgs_status	st;

	if ((st = pgs_engine_net_create(pgs_cpu_ops(), arch, height, width, channels, &net, err)) != PGS_OK)
		return st;
	if ((st = pgs_net_init_weights(net, pgs_model_weights_seed(seed), err)) == PGS_OK)
		st = pgs_stored_model_write(net, scoring, allocator, out, len, err);
	pgs_net_free(net);
	return st;
}
