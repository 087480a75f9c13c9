/* Inside a job's worker, below the training loop: own transactions, activity, cancel checks, progress rows. */
#include "../pgscreen.h"
#include "job_run.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/*
 * Progress is a committed row update, so any session sees it. A transaction that only reports progress need
 * not be durable (a crash loses at most a progress tick), so it skips the WAL flush wait; transactions that
 * log an epoch or end the job stay synchronous.
 */
static void
progress_commit_without_flush(void)
{
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0,
							 false);
}

/* now() of a worker's transaction is its statement start time, which only a client backend sets by itself. */
void
pgscreen_worker_xact_begin(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
pgscreen_worker_xact_commit(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
}

void
pgscreen_job_report(JobRun *run, const char *activity)
{
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("pgscreen job " INT64_FORMAT ": %s", run->identity.job_id, activity));
}

/* Raise 57014 if screen.cancel() asked this job to stop (read in the current transaction). */
static void
raise_if_cancelled(JobRun *run)
{
	JobRow		row;

	if (!pgscreen_job_fetch(run->identity.job_id, false, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " was deleted while running", run->identity.job_id)));
	if (row.cancel_requested)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("job " INT64_FORMAT " was cancelled", run->identity.job_id)));
}

void
pgscreen_job_check_cancel(JobRun *run)
{
	bool		own_transaction = !IsTransactionState();

	if (own_transaction)
		pgscreen_worker_xact_begin();
	raise_if_cancelled(run);
	if (own_transaction)
		pgscreen_worker_xact_commit();
}

#define PROGRESS_INTERVAL_MS 100

void
pgscreen_job_batch_done(JobRun *run)
{
	CHECK_FOR_INTERRUPTS();
	pgscreen_worker_xact_begin();
	progress_commit_without_flush();
	if (TimestampDifferenceExceeds(run->last_progress_write, GetCurrentTimestamp(), PROGRESS_INTERVAL_MS))
		pgscreen_job_write_progress(run, true);
	raise_if_cancelled(run);
	pgscreen_worker_xact_commit();
}

static Datum
nullable_float(double v, char *null)
{
	*null = isfinite(v) ? ' ' : 'n';
	return Float8GetDatum(isfinite(v) ? v : 0);
}

/* Progress columns of the job row (own transaction unless in_transaction). */
void
pgscreen_job_write_progress(JobRun *run, bool in_transaction)
{
	CatalogAccess access;
	Oid			types[13] = {INT8OID, TEXTOID, INT4OID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	INT4OID, FLOAT8OID, INT4OID, INT8OID, INT8OID};
	Datum		values[13];
	char		nulls[14] = "             ";
	double		remaining_s = NAN;

	if (run->images_per_second > 0 && run->steps_per_epoch > 0)
	{
		double		steps_left = (double) (run->recipe.recipe.max_epochs - run->epoch) * run->steps_per_epoch +
			(run->steps_per_epoch - run->step);

		remaining_s = steps_left * run->recipe.recipe.batch_size / run->images_per_second;
	}
	values[0] = Int64GetDatum(run->identity.job_id);
	values[1] = run->phase ? CStringGetTextDatum(run->phase) : (Datum) 0;
	nulls[1] = run->phase ? ' ' : 'n';
	values[2] = Int32GetDatum(run->epoch);
	values[3] = Int32GetDatum(run->step);
	values[4] = Int32GetDatum(run->steps_per_epoch);
	values[5] = nullable_float(run->images_per_second > 0 ? run->images_per_second : NAN, &nulls[5]);
	values[6] = nullable_float(run->loss, &nulls[6]);
	values[7] = nullable_float(run->best_auc, &nulls[7]);
	values[8] = Int32GetDatum(run->best_epoch);
	nulls[8] = run->best_epoch > 0 ? ' ' : 'n';
	values[9] = nullable_float(remaining_s, &nulls[9]);
	values[10] = Int32GetDatum(run->last_checkpoint_epoch);
	nulls[10] = run->last_checkpoint_epoch > 0 ? ' ' : 'n';
	values[11] = Int64GetDatum(run->training.count);
	nulls[11] = run->training.count > 0 ? ' ' : 'n';
	values[12] = Int64GetDatum(run->validation.count);
	nulls[12] = run->validation.count > 0 ? ' ' : 'n';

	if (!in_transaction)
	{
		pgscreen_worker_xact_begin();
		progress_commit_without_flush();
	}
	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args("UPDATE screen.jobs SET phase = $2, epoch = $3, step = $4, steps_per_epoch = $5, "
							  "images_per_second = $6, loss = $7, best_validation_auc = $8, best_epoch = $9, "
							  "eta = now() + make_interval(secs => $10), last_checkpoint_epoch = $11, "
							  "training_rows = coalesce($12, training_rows), validation_rows = coalesce($13, validation_rows), "
							  "updated_at = now() WHERE id = $1",
							  13, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update the progress of job " INT64_FORMAT, run->identity.job_id);
	SPI_finish();
	pgscreen_catalog_leave(&access);
	if (!in_transaction)
		pgscreen_worker_xact_commit();
	run->last_progress_write = GetCurrentTimestamp();
}
