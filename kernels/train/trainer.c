/* The training loop's steps on the engine: shuffled batches, augmentation, normalization, validation AUC. */
#include "trainer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/prng.h"
#include "../metrics/roc.h"
#include "../nn/optimizer.h"
#include "device_batch.h"
#include "replica.h"
#include "engine_names.h"
#include "../nn/model_file.h"
#include "stored_model.h"

/* Streams of the recipe's seed, so each purpose draws independent numbers. */
#define STREAM_SHUFFLE 2
#define STREAM_AUGMENT 3

#define VALIDATION_BATCH 64

struct pgs_trainer
{
	pgs_recipe	recipe;
	const pgs_ops *ops;
	const pgs_data_cache *training;
	const pgs_data_cache *validation;
	pgs_net    *net;
	pgs_optimizer *optimizer;
	pgs_augment_recipe augment;
	int			normalization;
	int			batch_size;
	int			steps_per_epoch;
	int			epoch;			/* 1-based, set by begin_epoch */
	int			next_step;
	int64_t    *order;			/* training indices in this epoch's order */
	int64_t    *rare;			/* balanced epochs: the rarer class's indices */
	uint8_t    *images;			/* host: a batch of HWC uint8 images */
	pgs_augment_params *params;
	pgs_device_batch batch;		/* the batch on the device, augmented and normalised there */
	float	   *targets;
	float	   *logits;
	pgs_collective *group;		/* NULL when training alone */
	bool		sync_batch_norm;
};

static void
optimizer_config(const pgs_recipe *r, int steps_per_epoch, pgs_optimizer_config *c)
{
	pgs_optimizer_kind kind = r->optimizer == PGS_RECIPE_SGD ? PGS_OPTIMIZER_SGD :
		r->optimizer == PGS_RECIPE_RMSPROP ? PGS_OPTIMIZER_RMSPROP : PGS_OPTIMIZER_ADAM;

	pgs_optimizer_config_defaults(c, kind);
	c->lr = (float) r->learning_rate;
	c->weight_decay = (float) r->weight_decay;
	c->decoupled_weight_decay = r->optimizer == PGS_RECIPE_ADAMW;
	c->momentum = (float) r->momentum;
	c->nesterov = r->nesterov;
	c->rho = (float) r->rho;
	c->eps = (float) r->epsilon;
	c->beta1 = (float) r->beta1;
	c->beta2 = (float) r->beta2;
	c->rmsprop_style = r->rmsprop_style == PGS_RECIPE_RMSPROP_PYTORCH ? PGS_RMSPROP_TORCH : PGS_RMSPROP_TF;
	c->clip_norm = (float) r->clip_norm;
	/* The recipe's schedules are per epoch; the engine's count optimiser steps. */
	switch (r->schedule)
	{
		case PGS_RECIPE_LR_STEP:
			c->schedule.kind = PGS_LR_STEP;
			c->schedule.step_size = (int64_t) r->step_epochs * steps_per_epoch;
			c->schedule.gamma = (float) r->gamma;
			break;
		case PGS_RECIPE_LR_COSINE:
			c->schedule.kind = PGS_LR_COSINE;
			c->schedule.total_steps = (int64_t) r->max_epochs * steps_per_epoch;
			c->schedule.min_lr = 0;
			break;
		default:
			c->schedule.kind = PGS_LR_CONSTANT;
			break;
	}
	c->schedule.warmup_steps = (int64_t) r->warmup_epochs * steps_per_epoch;
}

pgs_status
pgs_trainer_create(const pgs_recipe *recipe, const pgs_ops *ops, const pgs_data_cache *training,
				   const pgs_data_cache *validation, pgs_trainer **out, pgs_error *err)
{
	pgs_trainer *t;
	pgs_net_config net;
	pgs_optimizer_config opt;
	size_t		pixels;
	int			buffer_batch;
	pgs_status	st;

	*out = NULL;
	if (training->count < 2)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the training query returned %lld rows; at least 2 are needed",
						(long long) training->count);
	if (validation->count < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the validation query returned no rows");
	if (training->height != recipe->input_size || training->width != recipe->input_size ||
		validation->record_bytes != training->record_bytes)
		return pgs_fail(err, PGS_ERR_INTERNAL, "data caches do not match the input size");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
	t->recipe = *recipe;
	t->ops = ops;
	t->training = training;
	t->validation = validation;
	t->normalization = recipe->normalization;
	t->augment = recipe->augmentation;
	if (!t->augment.enabled)
		pgs_augment_recipe_identity(&t->augment);
	/* A short last batch is left out (a different one each epoch): batch norm needs real batches. */
	t->batch_size = recipe->batch_size < training->count ? recipe->batch_size : (int) training->count;
	t->steps_per_epoch = (int) (training->count / t->batch_size);

	pgs_engine_net_config(recipe->architecture, training->height, training->width, training->channels, &net);
	net.dropout = (float) recipe->dropout;
	if ((st = pgs_net_create(ops, &net, &t->net, err)) != PGS_OK ||
		(st = pgs_net_init_weights(t->net, pgs_model_weights_seed(recipe->seed), err)) != PGS_OK)
		goto fail;
	optimizer_config(recipe, t->steps_per_epoch, &opt);
	if ((st = pgs_optimizer_create(t->net, &opt, &t->optimizer, err)) != PGS_OK)
		goto fail;

	pixels = training->record_bytes;
	buffer_batch = t->batch_size > VALIDATION_BATCH ? t->batch_size : VALIDATION_BATCH;
	t->order = malloc(sizeof(int64_t) * (size_t) training->count);
	t->rare = malloc(sizeof(int64_t) * (size_t) training->count);
	t->images = malloc(pixels * (size_t) buffer_batch);
	t->params = malloc(sizeof(pgs_augment_params) * (size_t) buffer_batch);
	pgs_device_batch_init(&t->batch, ops, training->height, training->width, training->channels);
	t->targets = malloc(sizeof(float) * (size_t) buffer_batch);
	t->logits = malloc(sizeof(float) * (size_t) buffer_batch);
	if (!t->order || !t->rare || !t->images || !t->params || !t->targets || !t->logits)
	{
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the training buffers");
		goto fail;
	}
	*out = t;
	return PGS_OK;

fail:
	pgs_trainer_free(t);
	return st;
}

void
pgs_trainer_free(pgs_trainer *t)
{
	if (t == NULL)
		return;
	pgs_optimizer_free(t->optimizer);
	pgs_net_free(t->net);
	free(t->order);
	free(t->rare);
	free(t->images);
	free(t->params);
	pgs_device_batch_free(&t->batch);
	free(t->targets);
	free(t->logits);
	free(t);
}

int
pgs_trainer_steps_per_epoch(const pgs_trainer *t)
{
	return t->steps_per_epoch;
}

const int64_t *
pgs_trainer_epoch_order(const pgs_trainer *t)
{
	return t->order;
}

size_t
pgs_trainer_parameter_count(const pgs_trainer *t)
{
	return pgs_net_param_count(t->net);
}

pgs_status
pgs_trainer_join(pgs_trainer *t, pgs_collective *group, bool sync_batch_norm, pgs_error *err)
{
	if (t->batch_size % group->size != 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the batch of %d images does not split evenly over %d replicas",
						t->batch_size, group->size);
	t->group = group;
	t->sync_batch_norm = sync_batch_norm;
	return pgs_replica_join(t->net, group, sync_batch_norm, err);
}

pgs_status
pgs_trainer_sync_replicas(pgs_trainer *t, pgs_error *err)
{
	return t->group ? pgs_replica_broadcast_state(t->net, t->optimizer, t->group, err) : PGS_OK;
}

static void
shuffle(pgs_prng *rng, int64_t *a, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--)
	{
		int64_t		j = pgs_prng_below(rng, (int) (i + 1));
		int64_t		tmp = a[i];

		a[i] = a[j];
		a[j] = tmp;
	}
}

/*
 * An epoch of n images, half of each class: the rarer class's images in a shuffled cycle (each repeated about
 * equally often), the commoner's a fresh random subset, then all of it shuffled. Without a rare class (the
 * rarer one fills at least half already) the epoch is a plain shuffle.
 */
static void
balanced_order(pgs_trainer *t, pgs_prng *rng)
{
	const pgs_data_cache *c = t->training;
	int64_t		n = c->count;
	bool		rare_positive = c->positives * 2 < n;
	int64_t		half = n / 2;
	int64_t		rare = 0,
				common = 0;

	for (int64_t i = 0; i < n; i++)
		if ((pgs_data_cache_label(c, i) != 0) == rare_positive)
			t->rare[rare++] = i;
		else
			t->order[common++] = i;
	shuffle(rng, t->order, common);
	shuffle(rng, t->rare, rare);
	/* The first n − half shuffled common images stay; the rare ones, cycled, fill the other half. */
	for (int64_t i = 0; i < half; i++)
		t->order[n - half + i] = t->rare[i % rare];
	shuffle(rng, t->order, n);
}

/* Fisher–Yates from the seed and the epoch alone, so a resumed run shuffles as the uninterrupted one. */
static void
seed_epoch(pgs_prng *rng, uint64_t seed, int epoch)
{
	pgs_prng_seed(rng, pgs_prng_mix(seed, STREAM_SHUFFLE), (uint64_t) epoch);
}

void
pgs_trainer_shuffle_order(uint64_t seed, int epoch, int64_t n, int64_t *order)
{
	pgs_prng	rng;

	seed_epoch(&rng, seed, epoch);
	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	shuffle(&rng, order, n);
}

pgs_status
pgs_trainer_begin_epoch(pgs_trainer *t, int epoch, pgs_error *err)
{
	const pgs_data_cache *c = t->training;
	int64_t		n = c->count;

	if (epoch < 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "epochs count from 1");
	if (t->recipe.balance == PGS_RECIPE_BALANCE_OVERSAMPLE && c->positives > 0 && c->positives < n &&
		c->positives * 2 != n)
	{
		pgs_prng	rng;

		seed_epoch(&rng, t->recipe.seed, epoch);
		balanced_order(t, &rng);
	}
	else
		pgs_trainer_shuffle_order(t->recipe.seed, epoch, n, t->order);
	t->epoch = epoch;
	t->next_step = 0;
	pgs_optimizer_set_steps(t->optimizer, (int64_t) (epoch - 1) * t->steps_per_epoch);
	return PGS_OK;
}

/* Read images[0..n) from a cache by index and turn them into the network's input on the host. */
static pgs_status
assemble(pgs_trainer *t, const pgs_data_cache *cache, const int64_t *indices, int64_t first, int n, bool augment,
		 pgs_error *err)
{
	size_t		bytes = cache->record_bytes;
	pgs_status	st;

	for (int i = 0; i < n; i++)
	{
		int64_t		index = indices ? indices[first + i] : first + i;

		if ((st = pgs_data_cache_read(cache, index, t->images + (size_t) i * bytes, err)) != PGS_OK)
			return st;
		t->targets[i] = (float) pgs_data_cache_label(cache, index);
		if (augment)
			pgs_augment_draw(&t->augment, pgs_prng_mix(t->recipe.seed, STREAM_AUGMENT + (uint64_t) t->epoch * 16),
							 (uint64_t) index, &t->params[i]);
	}
	return pgs_device_batch_prepare(&t->batch, n, t->images, augment ? t->params : NULL, t->normalization, err);
}

/* The global L2 norm of the batch's gradient, logged per epoch (and infinite when training diverged). */
static pgs_status
gradient_norm(pgs_trainer *t, double *norm, pgs_error *err)
{
	const pgs_ops *ops = pgs_net_get_ops(t->net);
	double		sum;
	pgs_status	st;

	if ((st = ops->sum_squares(ops->ctx, pgs_net_param_count(t->net), pgs_net_grads(t->net), &sum, err)) != PGS_OK)
		return st;
	*norm = sqrt(sum);
	return PGS_OK;
}

pgs_status
pgs_trainer_train_step(pgs_trainer *t, pgs_train_step *step, pgs_error *err)
{
	pgs_net_loss loss;
	pgs_status	st;
	int			first = 0,
				n = t->batch_size;

	memset(step, 0, sizeof(*step));
	if (t->epoch == 0 || t->next_step >= t->steps_per_epoch)
		return pgs_fail(err, PGS_ERR_INTERNAL, "no batch left in this epoch");
	if (t->group)
		pgs_replica_shard(t->batch_size, t->group->rank, t->group->size, &first, &n);
	if ((st = assemble(t, t->training, t->order, (int64_t) t->next_step * t->batch_size + first, n,
					   t->augment.flip || t->recipe.augmentation.enabled, err)) != PGS_OK)
		return st;
	step->learning_rate = pgs_lr_at(pgs_optimizer_get_config(t->optimizer), pgs_optimizer_steps(t->optimizer));
	if ((st = pgs_net_zero_grads(t->net, err)) != PGS_OK ||
		(st = pgs_net_forward_device(t->net, n, t->batch.input, PGS_NET_TRAIN, err)) != PGS_OK ||
		(st = pgs_net_backward(t->net, t->targets, NULL, 0.4f, &loss, err)) != PGS_OK)
		return st;
	step->loss = loss.loss;
	/* After backward, before the optimiser step: the replicas' gradients and losses become their means. */
	if (t->group && ((st = pgs_replica_average_gradients(t->net, t->group, err)) != PGS_OK ||
					 (st = pgs_replica_average_loss(t->group, &step->loss, err)) != PGS_OK))
		return st;
	step->images = t->batch_size;
	t->next_step++;
	step->epoch_done = t->next_step == t->steps_per_epoch;
	/* A diverged batch is reported before it can poison the weights; the caller fails the job. */
	if (!isfinite(step->loss))
		return PGS_OK;
	if ((st = gradient_norm(t, &step->gradient_norm, err)) != PGS_OK)
		return st;
	if (!isfinite(step->gradient_norm))
	{
		step->loss = NAN;
		return PGS_OK;
	}
	return pgs_optimizer_step(t->optimizer, NULL, err);
}

/* Numerically stable binary cross-entropy of a logit z against a 0/1 target y. */
static double
bce_with_logit(double z, double y)
{
	return (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
}

pgs_status
pgs_trainer_validate(pgs_trainer *t, pgs_validation *result, pgs_error *err)
{
	const pgs_data_cache *v = t->validation;
	pgs_roc_builder *builder = NULL;
	uint8_t    *roc = NULL;
	size_t		roc_len;
	pgs_roc_view view;
	pgs_roc_auc auc;
	double		loss_sum = 0;
	pgs_status	st;

	result->auc = result->auc_lower = result->auc_upper = NAN;
	result->images = v->count;
	if ((st = pgs_roc_builder_create(&pgs_malloc_allocator, &builder, err)) != PGS_OK)
		return st;
	for (int64_t first = 0; first < v->count; first += VALIDATION_BATCH)
	{
		int			n = (int) (v->count - first < VALIDATION_BATCH ? v->count - first : VALIDATION_BATCH);

		if ((st = assemble(t, v, NULL, first, n, false, err)) != PGS_OK ||
			(st = pgs_net_forward_device(t->net, n, t->batch.input, PGS_NET_INFER, err)) != PGS_OK ||
			(st = pgs_net_logits(t->net, t->logits, NULL, err)) != PGS_OK)
			goto done;
		for (int i = 0; i < n; i++)
		{
			double		z = t->logits[i];

			loss_sum += bce_with_logit(z, t->targets[i]);
			/* The sigmoid is monotone, so the AUC of the logits is that of the probabilities. */
			if (isfinite(z) && (st = pgs_roc_builder_add(builder, z, t->targets[i] > 0.5f, err)) != PGS_OK)
				goto done;
		}
	}
	result->loss = loss_sum / (double) v->count;
	if ((st = pgs_roc_builder_encode(builder, &pgs_malloc_allocator, &roc, &roc_len, err)) != PGS_OK ||
		(st = pgs_roc_open(roc, roc_len, &view, err)) != PGS_OK ||
		(st = pgs_roc_delong(&view, true, &auc, err)) != PGS_OK)
		goto done;
	result->auc = auc.auc;
	if (isfinite(auc.variance))
		pgs_wald_interval(auc.auc, sqrt(auc.variance), 0.95, 0.0, 1.0, &result->auc_lower, &result->auc_upper);

done:
	free(roc);
	pgs_roc_builder_free(builder);
	return st;
}

pgs_status
pgs_trainer_export_model(pgs_trainer *t, const pgs_allocator *allocator, uint8_t **out, size_t *len,
						 pgs_error *err)
{
	pgs_scoring_recipe scoring;

	pgs_scoring_recipe_of(&t->recipe, &scoring);
	return pgs_stored_model_write(t->net, &scoring, allocator, out, len, err);
}

pgs_status
pgs_trainer_load_model(pgs_trainer *t, const uint8_t *data, size_t len, bool pretrained, pgs_error *err)
{
	return pgs_stored_model_copy_weights(t->net, data, len, pretrained, err);
}

/* The epoch record's fields as checkpoint entries ("improved" follows from the best epoch). */
static const struct
{
	const char *key;
	size_t		offset;
} log_fields[] = {
	{"trainer.log.loss", offsetof(pgs_epoch_record, loss)},
	{"trainer.log.validation_loss", offsetof(pgs_epoch_record, validation_loss)},
	{"trainer.log.auc", offsetof(pgs_epoch_record, auc)},
	{"trainer.log.auc_lower", offsetof(pgs_epoch_record, auc_lower)},
	{"trainer.log.auc_upper", offsetof(pgs_epoch_record, auc_upper)},
	{"trainer.log.learning_rate", offsetof(pgs_epoch_record, learning_rate)},
	{"trainer.log.gradient_norm", offsetof(pgs_epoch_record, gradient_norm)},
	{"trainer.log.seconds", offsetof(pgs_epoch_record, seconds)},
	{"trainer.log.images_per_second", offsetof(pgs_epoch_record, images_per_second)},
};
#define N_LOG_FIELDS ((int) (sizeof(log_fields) / sizeof(log_fields[0])))

static double *
log_field(const pgs_epoch_record *r, int i)
{
	return (double *) ((char *) r + log_fields[i].offset);
}

/*
 * Checkpoints are the engine's model files with the optimiser's state, which resume a run exactly (weights,
 * batch-norm statistics, optimiser moments and steps, the dropout stream), plus the trainer's own progress
 * as recipe entries: the epochs done and the early-stopping record, and what the run must match to resume.
 */
static pgs_status
put(pgs_model_recipe *kv, const char *key, const char *fmt, double v, pgs_error *err)
{
	char		value[64];

	snprintf(value, sizeof(value), fmt, v);
	return pgs_model_recipe_set(kv, key, value, err);
}

pgs_status
pgs_trainer_write_checkpoint(pgs_trainer *t, const pgs_trainer_progress *progress, const char *path,
							 pgs_error *err)
{
	const pgs_early_stopping *es = &progress->early_stopping;
	pgs_model_recipe kv;
	uint8_t    *file;
	size_t		len;
	char		seed[32];
	pgs_status	st;

	memset(&kv, 0, sizeof(kv));
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long) t->recipe.seed);
	if ((st = pgs_model_recipe_set(&kv, "trainer.seed", seed, err)) != PGS_OK ||
		(st = put(&kv, "trainer.training_images", "%.0f", (double) t->training->count, err)) != PGS_OK ||
		(st = put(&kv, "trainer.epochs_done", "%.0f", progress->epochs_done, err)) != PGS_OK ||
		(st = put(&kv, "trainer.min_gain", "%.17g", es->min_gain, err)) != PGS_OK ||
		(st = put(&kv, "trainer.patience", "%.0f", es->patience, err)) != PGS_OK ||
		(st = put(&kv, "trainer.has_best", "%.0f", es->has_best, err)) != PGS_OK ||
		(st = put(&kv, "trainer.best_auc", "%.17g", es->best_auc, err)) != PGS_OK ||
		(st = put(&kv, "trainer.best_loss", "%.17g", es->best_loss, err)) != PGS_OK ||
		(st = put(&kv, "trainer.best_epoch", "%.0f", es->best_epoch, err)) != PGS_OK ||
		(st = put(&kv, "trainer.epochs_without_gain", "%.0f", es->epochs_without_gain, err)) != PGS_OK)
		return st;
	for (int i = 0; i < N_LOG_FIELDS; i++)
		if ((st = put(&kv, log_fields[i].key, "%.17g", *log_field(&progress->last_epoch, i), err)) != PGS_OK)
			return st;
	if ((st = pgs_model_write(t->net, &kv, t->optimizer, &pgs_malloc_allocator, &file, &len, err)) != PGS_OK)
		return st;
	st = pgs_write_file_atomically(path, file, len, err);
	free(file);
	return st;
}

static pgs_status
get(const pgs_model_recipe *kv, const char *key, double *v, const char *path, pgs_error *err)
{
	const char *value = pgs_model_recipe_get(kv, key);
	char	   *end;

	if (value == NULL || (*v = strtod(value, &end), *end != '\0'))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "checkpoint \"%s\" lacks a valid %s", path, key);
	return PGS_OK;
}

/* An entry that checkpoints of earlier versions lack: absent means `otherwise`. */
static pgs_status
get_or(const pgs_model_recipe *kv, const char *key, double otherwise, double *v, const char *path, pgs_error *err)
{
	if (pgs_model_recipe_get(kv, key) == NULL)
	{
		*v = otherwise;
		return PGS_OK;
	}
	return get(kv, key, v, path, err);
}

pgs_status
pgs_trainer_read_checkpoint(pgs_trainer *t, const char *path, pgs_trainer_progress *progress, pgs_error *err)
{
	pgs_early_stopping *es = &progress->early_stopping;
	uint8_t    *file;
	size_t		len;
	pgs_model_info info;
	pgs_net    *net = NULL;
	const char *seed;
	pgs_epoch_record last;
	double		images,
				epochs,
				patience,
				has_best,
				best_epoch,
				without_gain;
	pgs_status	st;

	if ((st = pgs_read_whole_file(path, &file, &len, err)) != PGS_OK)
		return st;
	if ((st = pgs_model_read_info(file, len, &info, err)) != PGS_OK)
		goto done;
	seed = pgs_model_recipe_get(&info.recipe, "trainer.seed");
	if ((st = get(&info.recipe, "trainer.training_images", &images, path, err)) != PGS_OK)
		goto done;
	if (seed == NULL || strtoull(seed, NULL, 10) != t->recipe.seed || !info.has_optimizer ||
		info.config.arch != pgs_net_get_config(t->net)->arch ||
		info.config.in_height != t->training->height || info.config.in_width != t->training->width)
	{
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "checkpoint \"%s\" belongs to another network or recipe", path);
		goto done;
	}
	if ((int64_t) images != t->training->count)
	{
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "the training query returned %lld rows before the interruption and %lld now",
					  (long long) images, (long long) t->training->count);
		goto done;
	}
	if ((st = get(&info.recipe, "trainer.epochs_done", &epochs, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.min_gain", &es->min_gain, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.patience", &patience, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.has_best", &has_best, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.best_auc", &es->best_auc, path, err)) != PGS_OK ||
		(st = get_or(&info.recipe, "trainer.best_loss", INFINITY, &es->best_loss, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.best_epoch", &best_epoch, path, err)) != PGS_OK ||
		(st = get(&info.recipe, "trainer.epochs_without_gain", &without_gain, path, err)) != PGS_OK)
		goto done;
	/* Checkpoints written before the gradient norm was logged resume with it unknown. */
	for (int i = 0; i < N_LOG_FIELDS; i++)
		if ((st = log_field(&last, i) == &last.gradient_norm ?
			 get_or(&info.recipe, log_fields[i].key, NAN, log_field(&last, i), path, err) :
			 get(&info.recipe, log_fields[i].key, log_field(&last, i), path, err)) != PGS_OK)
			goto done;
	/* The whole run state moves into a network built from the file, and an optimiser restored from it. */
	if ((st = pgs_model_load(t->ops, file, len, &net, &info, err)) != PGS_OK)
		goto done;
	{
		pgs_optimizer *opt;
		pgs_optimizer_config config = *pgs_optimizer_get_config(t->optimizer);

		if ((st = pgs_optimizer_create(net, &config, &opt, err)) != PGS_OK)
			goto done;
		if ((st = pgs_model_load_optimizer(opt, file, len, err)) != PGS_OK)
		{
			pgs_optimizer_free(opt);
			goto done;
		}
		pgs_optimizer_free(t->optimizer);
		pgs_net_free(t->net);
		t->optimizer = opt;
		t->net = net;
		net = NULL;
	}
	if (t->group && (st = pgs_replica_join(t->net, t->group, t->sync_batch_norm, err)) != PGS_OK)
		goto done;
	progress->last_epoch = last;
	progress->last_epoch.improved = es->has_best && (int) best_epoch == (int) epochs;
	progress->epochs_done = (int) epochs;
	es->patience = (int) patience;
	es->has_best = has_best != 0;
	es->best_epoch = (int) best_epoch;
	es->epochs_without_gain = (int) without_gain;
done:
	pgs_net_free(net);
	free(file);
	return st;
}

pgs_status
pgs_write_file_atomically(const char *path, const void *data, size_t len, pgs_error *err)
{
	char		tmp[4096];
	char		dir[4096];
	int			fd;
	size_t		done = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return pgs_fail(err, PGS_ERR_IO, "could not create \"%s\": %s", tmp, strerror(errno));
	while (done < len)
	{
		ssize_t		n = write(fd, (const char *) data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			saved = errno;

			close(fd);
			unlink(tmp);
			return pgs_fail(err, PGS_ERR_IO, "could not write \"%s\": %s", tmp, strerror(saved));
		}
		done += (size_t) n;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
	{
		unlink(tmp);
		return pgs_fail(err, PGS_ERR_IO, "could not fsync \"%s\": %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) != 0)
	{
		unlink(tmp);
		return pgs_fail(err, PGS_ERR_IO, "could not rename \"%s\": %s", tmp, strerror(errno));
	}
	/* The rename itself must reach the disk before the checkpoint is announced. */
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY);
	if (fd >= 0)
	{
		(void) fsync(fd);
		close(fd);
	}
	return PGS_OK;
}

pgs_status
pgs_read_whole_file(const char *path, uint8_t **data, size_t *len, pgs_error *err)
{
	FILE	   *f = fopen(path, "rb");
	long		size;

	*data = NULL;
	*len = 0;
	if (f == NULL)
		return pgs_fail(err, PGS_ERR_IO, "could not open \"%s\": %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return pgs_fail(err, PGS_ERR_IO, "could not size \"%s\"", path);
	}
	*data = malloc(size > 0 ? (size_t) size : 1);
	if (*data == NULL)
	{
		fclose(f);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not read \"%s\" into memory", path);
	}
	if (fread(*data, 1, (size_t) size, f) != (size_t) size)
	{
		fclose(f);
		free(*data);
		*data = NULL;
		return pgs_fail(err, PGS_ERR_IO, "could not read \"%s\"", path);
	}
	fclose(f);
	*len = (size_t) size;
	return PGS_OK;
}
