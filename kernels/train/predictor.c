/* Inference with a stored network: the model's own normalization, batched forward passes, sigmoid outputs. */
#include "predictor.h"

#include <math.h>
#include <stdlib.h>

#include "device_batch.h"
#include "engine_names.h"
#include "stored_model.h"

struct pgs_predictor
{
	pgs_predictor_spec spec;
	const pgs_ops *ops;
	pgs_net    *net;
	pgs_device_batch batch;
	float	   *logits;			/* host: `capacity` logits */
	int			capacity;
	size_t		weight_bytes;
};

pgs_status
pgs_predictor_create(const pgs_ops *ops, const pgs_predictor_spec *spec, const uint8_t *weights,
					 size_t weights_len, pgs_predictor **out, pgs_error *err)
{
	pgs_predictor *p;
	pgs_scoring_recipe stored;
	const pgs_net_config *config;
	pgs_status	st;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
	p->spec = *spec;
	p->ops = ops;
	if ((st = pgs_stored_model_load(ops, weights, weights_len, &p->net, &stored, err)) != PGS_OK)
		goto fail;
	/* The catalog row and the file must agree: a model is scored exactly as it was trained. */
	config = pgs_net_get_config(p->net);
	if (config->arch != pgs_engine_arch(spec->architecture) || config->in_height != spec->height ||
		config->in_width != spec->width || config->in_channels != spec->channels ||
		stored.normalization != spec->normalization)
	{
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "the stored network does not match its catalog row (%s %d×%d×%d, %s)",
					  pgs_arch_name(config->arch), config->in_height, config->in_width, config->in_channels,
					  pgs_normalization_name(stored.normalization));
		goto fail;
	}
	p->weight_bytes = sizeof(float) * (pgs_net_param_count(p->net) + pgs_net_buffer_count(p->net));
	pgs_device_batch_init(&p->batch, ops, spec->height, spec->width, spec->channels);
	*out = p;
	return PGS_OK;
fail:
	pgs_predictor_free(p);
	return st;
}

void
pgs_predictor_free(pgs_predictor *p)
{
	if (p == NULL)
		return;
	pgs_device_batch_free(&p->batch);
	pgs_net_free(p->net);
	free(p->logits);
	free(p);
}

pgs_status
pgs_predictor_run(pgs_predictor *p, int n, const uint8_t *images, double *probabilities, pgs_error *err)
{
	pgs_status	st;

	if (n < 1)
		return pgs_fail(err, PGS_ERR_INTERNAL, "empty batch");
	if (n > p->capacity)
	{
		float	   *logits = realloc(p->logits, sizeof(float) * (size_t) n);

		if (logits == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a batch of %d images", n);
		p->logits = logits;
		p->capacity = n;
	}
	if ((st = pgs_device_batch_prepare(&p->batch, n, images, NULL, p->spec.normalization,
									   err)) != PGS_OK ||
		(st = pgs_net_forward_device(p->net, n, p->batch.input, PGS_NET_INFER, err)) != PGS_OK ||
		(st = pgs_net_logits(p->net, p->logits, NULL, err)) != PGS_OK)
		return st;
	/* The sigmoid in double of the float logit, so every path (row or batch) rounds the same way. */
	for (int i = 0; i < n; i++)
		probabilities[i] = 1.0 / (1.0 + exp(-(double) p->logits[i]));
	return PGS_OK;
}

size_t
pgs_predictor_bytes(const pgs_predictor *p)
{
	/* weights, the batch buffers (uint8 and float images), the network's planned activations */
	return p->weight_bytes + (size_t) p->batch.capacity * (size_t) p->spec.height * p->spec.width *
		p->spec.channels * (1 + sizeof(float)) + pgs_net_planned_bytes(p->net);
}
