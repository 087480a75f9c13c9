/* The training loop's steps: one batch, one validation pass, checkpoints, driven by the caller. */
#ifndef PGS_TRAINER_H
#define PGS_TRAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../device/ops.h"
#include "data_cache.h"
#include "early_stopping.h"
#include "recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The caller drives the loop (begin_epoch, train_step until the epoch ends, validate), so that between any
 * two steps it can report progress, honour a cancellation or stop a server shutdown without a kernel
 * frame on the stack. Everything random derives from the recipe's seed and the epoch: the order of the
 * training images (a fresh shuffle per epoch), each image's augmentation, the dropout masks. A run resumed
 * from the checkpoint of epoch e therefore continues as the uninterrupted run would.
 */
typedef struct pgs_trainer pgs_trainer;

/* The model starts from the recipe's seed; the caches must hold images of the recipe's input size. */
pgs_status	pgs_trainer_create(const pgs_recipe *recipe, const pgs_ops *ops, const pgs_data_cache *training,
							   const pgs_data_cache *validation, pgs_trainer **out, pgs_error *err);
void		pgs_trainer_free(pgs_trainer *trainer);

int			pgs_trainer_steps_per_epoch(const pgs_trainer *trainer);
/* The training indices in the current epoch's order (steps_per_epoch · batch of them are trained). */
const int64_t *pgs_trainer_epoch_order(const pgs_trainer *trainer);
size_t		pgs_trainer_parameter_count(const pgs_trainer *trainer);

/*
 * Train as one replica of a data-parallel group (kernels/train/replica.h): each train_step then computes
 * this replica's shard of the batch and averages gradients and loss with the other replicas, which must
 * call the same steps. The recipe's batch size is the global batch and must be a multiple of the group's
 * size. Call pgs_trainer_sync_replicas once the starting weights are in place (after a pretrained model or
 * a checkpoint was loaded): every replica then starts from replica 0's state.
 */
struct pgs_collective;
pgs_status	pgs_trainer_join(pgs_trainer *trainer, struct pgs_collective *group, bool sync_batch_norm,
							 pgs_error *err);
pgs_status	pgs_trainer_sync_replicas(pgs_trainer *trainer, pgs_error *err);

/*
 * The order in which epoch (1-based) visits n training images under a recipe's seed when it does not balance
 * the classes: order[k] is the index of the k-th image. Batches are consecutive runs of it; a last run
 * shorter than the batch is left out.
 */
void		pgs_trainer_shuffle_order(uint64_t seed, int epoch, int64_t n, int64_t *order);

/*
 * Shuffle for epoch (1-based) and set its learning rate; the next train_step takes its first batch. With
 * balance "oversample" the epoch draws half its images from each class (the rarer class repeated, the
 * commoner subsampled afresh each epoch), keeping the epoch's length.
 */
pgs_status	pgs_trainer_begin_epoch(pgs_trainer *trainer, int epoch, pgs_error *err);

typedef struct pgs_train_step
{
	double		loss;			/* mean loss of the batch; NaN or infinite when training diverged (the loss or
								 * the gradient) */
	int			images;			/* of the global batch, over all replicas */
	double		learning_rate;
	double		gradient_norm;	/* global L2 norm of the batch's gradient, before any clipping */
	bool		epoch_done;		/* this was the epoch's last batch */
} pgs_train_step;

/* Train on the next batch: read, augment, normalise, forward, backward, optimiser step. */
pgs_status	pgs_trainer_train_step(pgs_trainer *trainer, pgs_train_step *step, pgs_error *err);

typedef struct pgs_validation
{
	double		auc;			/* NaN when the validation set lacks a class */
	double		auc_lower;		/* 95 % DeLong interval, NaN when undefined */
	double		auc_upper;
	double		loss;			/* mean binary cross-entropy */
	int64_t		images;
} pgs_validation;

/* Score every validation image (no augmentation, inference mode) and compute AUC with its DeLong interval. */
pgs_status	pgs_trainer_validate(pgs_trainer *trainer, pgs_validation *result, pgs_error *err);

/*
 * Resume state: the epochs done and the early-stopping record, kept with the weights, batch-norm statistics,
 * optimiser state and dropout stream in one checkpoint (the engine's model file), written atomically.
 */
/* One epoch's row of the training log, kept in the checkpoint too so a crash cannot lose it. */
typedef struct pgs_epoch_record
{
	double		loss;
	double		validation_loss;
	double		auc;
	double		auc_lower;
	double		auc_upper;
	double		learning_rate;
	double		gradient_norm;	/* mean over the epoch's batches */
	double		seconds;
	double		images_per_second;
	bool		improved;
} pgs_epoch_record;

typedef struct pgs_trainer_progress
{
	int			epochs_done;
	pgs_early_stopping early_stopping;
	pgs_epoch_record last_epoch;	/* of epoch epochs_done */
} pgs_trainer_progress;

pgs_status	pgs_trainer_write_checkpoint(pgs_trainer *trainer, const pgs_trainer_progress *progress,
										 const char *path, pgs_error *err);
/* Restore a checkpoint written for the same recipe and data; PGS_ERR_BAD_DATA when it does not match. */
pgs_status	pgs_trainer_read_checkpoint(pgs_trainer *trainer, const char *path, pgs_trainer_progress *progress,
										pgs_error *err);

/* The current weights as a stored model (kernels/train/stored_model.h), from `allocator`. */
pgs_status	pgs_trainer_export_model(pgs_trainer *trainer, const pgs_allocator *allocator, uint8_t **out,
									 size_t *len, pgs_error *err);

/* Start from stored weights: a pretrained model's (head may differ) or this job's best checkpoint. */
pgs_status	pgs_trainer_load_model(pgs_trainer *trainer, const uint8_t *data, size_t len, bool pretrained,
								   pgs_error *err);

/* Write bytes to path atomically and durably: path.tmp, fsync, rename, fsync of the directory. */
pgs_status	pgs_write_file_atomically(const char *path, const void *data, size_t len, pgs_error *err);
pgs_status	pgs_read_whole_file(const char *path, uint8_t **data, size_t *len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
