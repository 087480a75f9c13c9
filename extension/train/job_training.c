/* The training job itself: load the data, train epoch by epoch with checkpoints, store the best model. */
#include "../pgscreen.h"
#include "job_run.h"
#include "../nn/models.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "../../kernels/train/diagnosis.h"
#include "../../kernels/train/trainer.h"

#define CHECKPOINT_FILE "checkpoint"

static char *
best_model_path(JobRun *run, int epoch)
{
	return psprintf("%s/best-%d.model", run->dir, epoch);
}

/* The recorded recipe, the device it names, and the input the model will take. */
static void
prepare(JobRun *run)
{
	Jsonb	   *recipe = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(run->row.recipe_json)));
	pgs_recipe *r = &run->recipe.recipe;
	pgs_error	err;
	size_t		memory = (size_t) pgscreen_job_cache_memory_mb << 20;
	size_t		limit = (size_t) pgscreen_job_cache_limit_mb << 20;

	pgscreen_worker_xact_begin();
	pgscreen_recipe_from_record(recipe, &run->recipe);
	pgscreen_worker_xact_commit();

	(void) set_config_option("pgscreen.device", r->device, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET, true, 0,
							 false);
	run->input.height = run->input.width = r->input_size;
	run->input.channels = 3;
	run->input.preprocess = r->preprocess;
	run->input.preprocess_diameter = r->preprocess_diameter ? r->preprocess_diameter : r->input_size;
	run->input.max_pixels = pgscreen_max_image_pixels;
	pgs_error_clear(&err);
	/* The validation set takes what memory the training set leaves; both share the total limit. */
	pgscreen_check(pgs_data_cache_init(&run->training, r->input_size, r->input_size, 3, memory, limit,
							  psprintf("%s/training.cache", run->dir), &err), &err, "could not set up the data cache");
	pgscreen_check(pgs_data_cache_init(&run->validation, r->input_size, r->input_size, 3, memory, limit,
							  psprintf("%s/validation.cache", run->dir), &err), &err, "could not set up the data cache");
}

static void
load_data(JobRun *run)
{
	pgs_data_cache *v = &run->validation;

	run->phase = "loading";
	pgscreen_job_write_progress(run, false);
	pgscreen_job_load(run, run->row.training_query, "training_query", &run->training);
	/* Both caches count against one limit: the validation cache gets what the training set left. */
	v->total_limit = run->training.total_limit - Min(run->training.total_limit,
													  (size_t) run->training.count * run->training.record_bytes);
	v->memory_limit = run->training.memory_limit - pgs_data_cache_memory_bytes(&run->training);
	v->memory_records = (int64) (v->memory_limit / v->record_bytes);
	pgscreen_job_load(run, run->row.validation_query, "validation_query", v);
	pgscreen_job_write_progress(run, false);
	if (v->positives == 0 || v->positives == v->count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the validation data must hold both classes, but all " INT64_FORMAT " rows are %s",
						v->count, v->positives == 0 ? "negative" : "positive"),
				 errdetail("Early stopping and the model's validation AUC need positive and negative cases.")));
	ereport(LOG,
			(errmsg("pgscreen job " INT64_FORMAT ": cached " INT64_FORMAT " training and " INT64_FORMAT
					" validation images (%zu MB in memory, %zu MB in files)", run->identity.job_id,
					run->training.count, v->count,
					(pgs_data_cache_memory_bytes(&run->training) + pgs_data_cache_memory_bytes(v)) >> 20,
					(pgs_data_cache_file_bytes(&run->training) + pgs_data_cache_file_bytes(v)) >> 20)));
}

static void
start_from_pretrained(JobRun *run)
{
	bytea	   *weights;
	pgs_error	err;

	if (run->recipe.pretrained_model_id == 0)
		return;
	pgscreen_worker_xact_begin();
	/* As the owner: a model the owner can no longer see cannot seed the job. */
	if (pgscreen_model_by_id(run->recipe.pretrained_model_id) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pretrained model \"%s\" does not exist", run->recipe.recipe.pretrained)));
	weights = pgscreen_model_weights(run->recipe.pretrained_model_id);
	pgs_error_clear(&err);
	pgscreen_check(pgs_trainer_load_model(run->trainer, (const uint8 *) VARDATA(weights), VARSIZE(weights) - VARHDRSZ,
								 true, &err), &err, "could not load the pretrained weights");
	pfree(weights);
	pgscreen_worker_xact_commit();
}

/*
 * One epoch's row of screen.training_log and the job's progress, committed durably together. `replay` puts
 * back the row of a checkpointed epoch that a crash kept from the log (the checkpoint holds it too, but not
 * its diagnosis).
 */
static void
log_epoch(JobRun *run, int epoch, const pgs_epoch_record *r, const char *diagnosis, bool replay)
{
	CatalogAccess access;
	Oid			types[13] = {INT8OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID, BOOLOID, FLOAT8OID, TEXTOID};
	Datum		values[13];
	char		nulls[14] = "             ";

	values[0] = Int64GetDatum(run->identity.job_id);
	values[1] = Int32GetDatum(epoch);
	values[2] = Float8GetDatum(r->loss);
	values[3] = Float8GetDatum(r->validation_loss);
	values[4] = Float8GetDatum(r->auc);
	values[5] = Float8GetDatum(r->auc_lower);
	values[6] = Float8GetDatum(r->auc_upper);
	nulls[4] = isfinite(r->auc) ? ' ' : 'n';
	nulls[5] = nulls[6] = isfinite(r->auc_lower) ? ' ' : 'n';
	values[7] = Float8GetDatum(r->learning_rate);
	values[8] = Float8GetDatum(r->seconds);
	values[9] = Float8GetDatum(r->images_per_second);
	values[10] = BoolGetDatum(r->improved);
	values[11] = Float8GetDatum(r->gradient_norm);
	nulls[11] = isfinite(r->gradient_norm) ? ' ' : 'n';
	values[12] = diagnosis ? CStringGetTextDatum(diagnosis) : (Datum) 0;
	nulls[12] = diagnosis ? ' ' : 'n';

	pgscreen_worker_xact_begin();
	pgscreen_job_write_progress(run, true);
	pgscreen_catalog_enter(&access);
	SPI_connect();
	/* A resumed job repeats the epoch it lost: the repeat replaces whatever that epoch logged. */
	if (SPI_execute_with_args(psprintf("INSERT INTO screen.training_log (job_id, epoch, loss, validation_loss, auc, "
									   "auc_lower, auc_upper, learning_rate, duration, images_per_second, improved, "
									   "gradient_norm, diagnosis) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, make_interval(secs => $9), $10, $11, "
									   "$12, $13) ON CONFLICT (job_id, epoch) DO %s",
									   replay ? "NOTHING" :
									   "UPDATE SET loss = excluded.loss, validation_loss = excluded.validation_loss, "
									   "auc = excluded.auc, auc_lower = excluded.auc_lower, auc_upper = excluded.auc_upper, "
									   "learning_rate = excluded.learning_rate, duration = excluded.duration, "
									   "images_per_second = excluded.images_per_second, improved = excluded.improved, "
									   "gradient_norm = excluded.gradient_norm, diagnosis = excluded.diagnosis, "
									   "logged_at = now()"),
							  13, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not log epoch %d of job " INT64_FORMAT, epoch, run->identity.job_id);
	if (!replay &&
		SPI_execute_with_args("UPDATE screen.jobs SET last_checkpoint_at = now() WHERE id = $1", 1,
							  (Oid[]) {INT8OID}, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the checkpoint of job " INT64_FORMAT, run->identity.job_id);
	SPI_finish();
	pgscreen_catalog_leave(&access);
	pgscreen_worker_xact_commit();
}

/* A resumed job's loss history (epoch 1's loss and the lowest so far), from its log. */
static void
read_loss_history(JobRun *run)
{
	CatalogAccess access;
	bool		isnull;

	pgscreen_worker_xact_begin();
	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args("SELECT (SELECT loss FROM screen.training_log WHERE job_id = $1 AND epoch = 1), "
							  "min(loss) FROM screen.training_log WHERE job_id = $1", 1, (Oid[]) {INT8OID},
							  (Datum[]) {Int64GetDatum(run->identity.job_id)}, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the log of job " INT64_FORMAT, run->identity.job_id);
	run->first_loss = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		run->first_loss = NAN;
	run->lowest_loss = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		run->lowest_loss = NAN;
	SPI_finish();
	pgscreen_catalog_leave(&access);
	pgscreen_worker_xact_commit();
}

/* The epoch's diagnosis (NULL when the run looks healthy), also written to the server log. */
static char *
diagnose_epoch(JobRun *run, int epoch, const pgs_epoch_record *record)
{
	pgs_training_history h;
	char		note[1024];

	if (epoch == 1 || !isfinite(run->first_loss))
		run->first_loss = record->loss;
	if (!isfinite(run->lowest_loss) || record->loss < run->lowest_loss)
		run->lowest_loss = record->loss;
	h.epoch = epoch;
	h.first_loss = run->first_loss;
	h.lowest_loss = run->lowest_loss;
	h.loss = record->loss;
	h.auc = record->auc;
	h.auc_lower = record->auc_lower;
	h.auc_upper = record->auc_upper;
	h.learning_rate = record->learning_rate;
	h.training_prevalence = (double) run->training.positives / (double) run->training.count;
	if (!pgs_diagnose(&run->recipe.recipe, &h, note, sizeof(note)))
		return NULL;
	ereport(LOG, (errmsg("pgscreen job " INT64_FORMAT ", epoch %d: %s", run->identity.job_id, epoch, note)));
	return pstrdup(note);
}

/* Best-model files of other epochs are leftovers of an interrupted epoch or of earlier bests. */
static void
remove_other_best_files(JobRun *run, int keep_epoch)
{
	for (int e = 1; e <= run->epoch; e++)
		if (e != keep_epoch)
			(void) unlink(best_model_path(run, e));
}

static void
train_epoch(JobRun *run, int epoch, pgs_epoch_record *record)
{
	pgs_train_step step;
	pgs_error	err;
	TimestampTz started = GetCurrentTimestamp();
	double		loss_sum = 0;
	double		gradient_norm_sum = 0;
	int64		images = 0;
	long		secs;
	int			usecs;

	memset(record, 0, sizeof(*record));
	pgs_error_clear(&err);
	pgscreen_job_replicas_epoch(run, epoch);
	pgscreen_check(pgs_trainer_begin_epoch(run->trainer, epoch, &err), &err, "could not start the epoch");
	run->epoch = epoch;
	run->step = 0;
	do
	{
		pgs_status	st = pgs_trainer_train_step(run->trainer, &step, &err);

		/* Replicas stop waiting for each other on an interrupt: a shutdown must end the worker, not fail the job. */
		if (st != PGS_OK)
			CHECK_FOR_INTERRUPTS();
		pgscreen_check(st, &err, "could not train a batch");
		if (!isfinite(step.loss))
			ereport(ERROR,
					(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
					 errmsg("training diverged: the loss is %s in epoch %d, batch %d",
							isnan(step.loss) ? "NaN" : "infinite", epoch, run->step + 1),
					 errhint("Lower the learning rate (it is %g) or the weight decay, or clip gradients with clip_norm.",
							 step.learning_rate)));
		run->step++;
		images += step.images;
		loss_sum += step.loss;
		gradient_norm_sum += step.gradient_norm;
		run->loss = loss_sum / run->step;
		TimestampDifference(started, GetCurrentTimestamp(), &secs, &usecs);
		record->seconds = secs + usecs / 1e6;
		if (record->seconds > 0)
			run->images_per_second = images / record->seconds;
		/* The engine computes in float: record the learning rate it used, to float precision. */
		if (run->step == 1)
			record->learning_rate = strtod(psprintf("%.7g", step.learning_rate), NULL);
		pgscreen_job_report(run, psprintf("epoch %d/%d, batch %d/%d, loss %.4f", epoch,
										  run->recipe.recipe.max_epochs, run->step, run->steps_per_epoch,
										  run->loss));
		pgscreen_job_batch_done(run);
	} while (!step.epoch_done);
	record->loss = run->loss;
	record->gradient_norm = gradient_norm_sum / run->step;
	record->images_per_second = run->images_per_second;
}

/* What the model row records about its training: the best epoch's validation AUC with its interval, and more. */
static char *
metrics_json(JobRun *run, const pgs_early_stopping *es, int epochs, bool stopped_early)
{
	CatalogAccess access;
	char	   *best;

	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args("SELECT jsonb_build_object('validation_auc', auc, 'validation_auc_lower', auc_lower, "
							  "'validation_auc_upper', auc_upper, 'validation_loss', validation_loss)::text "
							  "FROM screen.training_log WHERE job_id = $1 AND epoch = $2", 2,
							  (Oid[]) {INT8OID, INT4OID},
							  (Datum[]) {Int64GetDatum(run->identity.job_id), Int32GetDatum(es->best_epoch)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "epoch %d of job " INT64_FORMAT " is missing from screen.training_log", es->best_epoch,
			 run->identity.job_id);
	best = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	best = MemoryContextStrdup(TopTransactionContext, best);
	SPI_finish();
	pgscreen_catalog_leave(&access);
	/* Strip the closing brace of the first object to append the rest. */
	best[strlen(best) - 1] = '\0';
	return psprintf("%s, \"best_epoch\": %d, \"epochs_trained\": %d, \"stopped_early\": %s, "
					"\"training_rows\": " INT64_FORMAT ", \"training_positives\": " INT64_FORMAT ", "
					"\"validation_rows\": " INT64_FORMAT ", \"validation_positives\": " INT64_FORMAT ", "
					"\"images_per_second\": %.1f}",
					best, es->best_epoch, epochs, stopped_early ? "true" : "false", run->training.count,
					run->training.positives, run->validation.count, run->validation.positives,
					run->images_per_second);
}

/* Store the best epoch's weights as the next version of the model and end the job, in one transaction. */
static int64
save_model(JobRun *run, const pgs_early_stopping *es, int epochs, bool stopped_early)
{
	pgs_recipe *r = &run->recipe.recipe;
	ModelRecord record = {0};
	JobTransition detail = {0};
	char	   *name;
	uint8_t    *weights;
	size_t		len;
	pgs_error	err;
	int64		id;

	run->phase = "saving";
	pgs_error_clear(&err);
	pgscreen_check(pgs_read_whole_file(best_model_path(run, es->best_epoch), &weights, &len, &err), &err,
		  "could not read the best checkpoint");
	record.kind = MODEL_NETWORK;
	record.architecture = r->architecture;
	record.input_height = record.input_width = r->input_size;
	record.input_channels = 3;
	record.preprocess = r->preprocess;
	record.preprocess_diameter = run->input.preprocess_diameter;
	record.normalization = r->normalization;
	record.recipe_json = psprintf("%s", run->row.recipe_json);
	record.device = run->device;
	record.training_query = run->row.training_query;
	record.training_rows = run->training.count;
	record.validation_query = run->row.validation_query;
	record.validation_rows = run->validation.count;
	record.job_id = run->identity.job_id;

	pgscreen_worker_xact_begin();
	/* Connected as the job's owner: a name qualified with another owner is checked again, now. */
	record.owner = pgscreen_model_new_owner(run->row.model_name, &name);
	record.name = name;
	record.metrics_json = metrics_json(run, es, epochs, stopped_early);
	PG_TRY();
	{
		id = pgscreen_model_insert(&record, weights, len);
	}
	PG_FINALLY();
	{
		free(weights);
	}
	PG_END_TRY();
	detail.model_id = id;
	pgscreen_job_write_progress(run, true);
	pgscreen_job_transition(run->identity.job_id, PGS_JOB_SUCCEED, &detail);
	pgscreen_worker_xact_commit();
	return id;
}

int64
pgscreen_job_train(JobRun *run)
{
	pgs_recipe *r;
	pgs_trainer_progress progress = {0};
	pgs_validation v = {0};
	pgs_error	err;
	char	   *checkpoint;
	bool		stopped_early = false;
	bool		resumed;
	int			epoch;

	prepare(run);
	r = &run->recipe.recipe;
	checkpoint = psprintf("%s/" CHECKPOINT_FILE, run->dir);
	run->device = pgscreen_device_ops()->name;
	pgscreen_configure_device(pgscreen_device_ops());
	load_data(run);

	pgs_error_clear(&err);
	pgscreen_check(pgs_trainer_create(r, pgscreen_device_ops(), &run->training, &run->validation, &run->trainer, &err),
		  &err, "could not set up training");
	run->steps_per_epoch = pgs_trainer_steps_per_epoch(run->trainer);
	pgs_early_stopping_init(&progress.early_stopping, r->min_auc_gain, r->patience);
	resumed = run->resume && access(checkpoint, F_OK) == 0;
	if (resumed)
	{
		pgscreen_check(pgs_trainer_read_checkpoint(run->trainer, checkpoint, &progress, &err), &err,
			  "could not resume from the checkpoint");
		ereport(LOG, (errmsg("pgscreen job " INT64_FORMAT " resumes after epoch %d", run->identity.job_id,
							 progress.epochs_done)));
	}
	else
		start_from_pretrained(run);
	if (run->recipe.replicas.replicas != 1)
		pgscreen_job_replicas_start(run, resumed, checkpoint);

	run->phase = "training";
	run->last_checkpoint_epoch = progress.epochs_done;
	run->best_auc = progress.early_stopping.has_best ? progress.early_stopping.best_auc : NAN;
	run->best_epoch = progress.early_stopping.best_epoch;
	run->first_loss = run->lowest_loss = NAN;
	if (progress.epochs_done > 0)
	{
		log_epoch(run, progress.epochs_done, &progress.last_epoch, NULL, true);
		read_loss_history(run);
	}
	for (epoch = progress.epochs_done + 1; epoch <= r->max_epochs; epoch++)
	{
		pgs_epoch_record *record = &progress.last_epoch;

		train_epoch(run, epoch, record);
		pgscreen_job_report(run, psprintf("epoch %d/%d, validating", epoch, r->max_epochs));
		pgscreen_check(pgs_trainer_validate(run->trainer, &v, &err), &err, "could not validate");
		record->validation_loss = v.loss;
		record->auc = v.auc;
		record->auc_lower = v.auc_lower;
		record->auc_upper = v.auc_upper;
		record->improved = pgs_early_stopping_update(&progress.early_stopping, epoch, v.auc, v.loss);
		if (record->improved)
		{
			uint8_t    *bytes;
			size_t		len;
			pgs_status	st;

			pgscreen_check(pgs_trainer_export_model(run->trainer, &pgs_malloc_allocator, &bytes, &len, &err), &err,
				  "could not export the model");
			st = pgs_write_file_atomically(best_model_path(run, epoch), bytes, len, &err);
			free(bytes);
			pgscreen_check(st, &err, "could not write the best checkpoint");
		}
		progress.epochs_done = epoch;
		pgscreen_check(pgs_trainer_write_checkpoint(run->trainer, &progress, checkpoint, &err), &err,
			  "could not write the checkpoint");
		run->last_checkpoint_epoch = epoch;
		run->best_auc = progress.early_stopping.best_auc;
		run->best_epoch = progress.early_stopping.best_epoch;
		log_epoch(run, epoch, record, diagnose_epoch(run, epoch, record), false);
		remove_other_best_files(run, progress.early_stopping.best_epoch);
		if (pgs_early_stopping_should_stop(&progress.early_stopping))
		{
			stopped_early = true;
			break;
		}
		CHECK_FOR_INTERRUPTS();
	}
	pgscreen_job_replicas_epoch(run, 0);
	if (!progress.early_stopping.has_best)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no epoch produced a validation AUC")));
	return save_model(run, &progress.early_stopping, Min(epoch, r->max_epochs), stopped_early);
}

void
pgscreen_job_release(JobRun *run)
{
	pgscreen_job_replicas_stop(run);
	pgs_trainer_free(run->trainer);
	run->trainer = NULL;
	pgs_data_cache_free(&run->training);
	pgs_data_cache_free(&run->validation);
}
