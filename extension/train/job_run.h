/* A running training job inside its worker: identity, recipe, data caches and progress. */
#ifndef PGSCREEN_JOB_RUN_H
#define PGSCREEN_JOB_RUN_H

#include "jobs.h"
#include "../options.h"

#include "../../kernels/train/data_cache.h"
#include "../../kernels/train/input.h"

typedef struct JobReplicas JobReplicas;

typedef struct JobRun
{
	JobIdentity identity;
	JobRow		row;
	ResolvedRecipe recipe;
	pgs_input_spec input;
	bool		resume;			/* taking over from a worker that died: start from the checkpoint */
	char	   *dir;			/* the job's directory, relative to the data directory */

	pgs_data_cache training;
	pgs_data_cache validation;
	struct pgs_trainer *trainer;
	const char *device;			/* the device the job runs on: "cpu", "cuda:0" */
	JobReplicas *replicas;		/* NULL on one device */

	/* progress, written to screen.jobs by pgscreen_job_write_progress */
	const char *phase;
	int			epoch;			/* 1-based epoch being trained */
	int			step;			/* batches done in this epoch */
	int			steps_per_epoch;
	double		images_per_second;
	double		loss;			/* running mean over this epoch */
	double		best_auc;		/* NaN until an epoch has been evaluated */
	int			best_epoch;
	int			last_checkpoint_epoch;	/* 0: none */
	double		first_loss;		/* epoch 1's mean training loss and the lowest epoch mean, for diagnoses */
	double		lowest_loss;
	TimestampTz last_progress_write;
} JobRun;

/* A transaction of the worker's own, with the snapshot SPI needs outside a query. */
extern void pgscreen_worker_xact_begin(void);
extern void pgscreen_worker_xact_commit(void);

/* pg_stat_activity's query column for the worker: "pgscreen job 7: <activity>". */
extern void pgscreen_job_report(JobRun *run, const char *activity);

/* Errors with 57014 query_canceled once screen.cancel() asked this job to stop (a fresh read each call). */
extern void pgscreen_job_check_cancel(JobRun *run);

/* Write the progress fields (own transaction unless in_transaction). */
extern void pgscreen_job_write_progress(JobRun *run, bool in_transaction);

/* Read a query into a cache (extension/train/job_data.c). */
extern void pgscreen_job_load(JobRun *run, const char *query, const char *what, pgs_data_cache *cache);

/*
 * Load the data and train, checkpointing every epoch, until early stopping or max_epochs; then store the
 * best model and mark the job succeeded in one transaction. Returns the model's id.
 */
extern int64 pgscreen_job_train(JobRun *run);

/* After each batch: fail with 57014 if the job was cancelled, and write progress if it is due. */
extern void pgscreen_job_batch_done(JobRun *run);

/*
 * Several devices for one job (extension/train/job_replicas.c): start the other replicas once the trainer
 * holds its starting weights (resume: they read the checkpoint too), tell them each epoch (0: done), and
 * stop them (on success after epoch 0 was sent; otherwise they are terminated within one batch).
 */
extern void pgscreen_job_replicas_start(JobRun *run, bool resume, const char *checkpoint);
extern void pgscreen_job_replicas_epoch(JobRun *run, int epoch);
extern void pgscreen_job_replicas_stop(JobRun *run);

/* Free the job's memory and device resources (safe after an error; extension/train/job_training.c). */
extern void pgscreen_job_release(JobRun *run);

#endif
