/* The per-job background worker: connects as the job's owner, claims the job, trains, records the outcome. */
#include "../pgscreen.h"
#include "jobs.h"
#include "job_run.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
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

/*
 * Claim the job in one transaction with its row locked, so two workers can never both run it. Returns false
 * when there is nothing to do: the creating transaction aborted, the job already ended, or another live
 * worker has it.
 */
static bool
claim_job(JobRun *run)
{
	JobRow	   *row = &run->row;
	MemoryContext keep = CurrentMemoryContext;
	bool		claimed = false;

	/* train() wrote the job directory before committing: wait for its transaction to end. */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (TransactionIdIsValid(run->identity.creating_xid) &&
		!TransactionIdIsCurrentTransactionId(run->identity.creating_xid))
		XactLockTableWait(run->identity.creating_xid, NULL, NULL, XLTW_None);
	CommitTransactionCommand();

	pgscreen_worker_xact_begin();
	MemoryContextSwitchTo(keep);
	if (!pgscreen_job_fetch(run->identity.job_id, true, row) || row->owner != run->identity.owner)
		;						/* aborted train(), or a stale directory */
	else if (pgs_job_state_is_terminal(row->state))
		;
	else if (row->state == PGS_JOB_RUNNING &&
			 pgscreen_job_worker_alive(row->worker_pid, row->worker_started_at))
		;						/* a duplicate start: the live worker keeps the job (and its directory) */
	else if (row->cancel_requested)
		pgscreen_job_transition(run->identity.job_id, PGS_JOB_CANCEL, NULL);
	else if (row->state == PGS_JOB_RUNNING && row->resumes >= pgscreen_job_max_resumes)
	{
		JobTransition detail = {0};

		detail.error = psprintf("the job was interrupted %d times (pgscreen.job_max_resumes); it is not resumed again",
								row->resumes + 1);
		detail.error_sqlstate = "57P01";
		pgscreen_job_transition(run->identity.job_id, PGS_JOB_FAIL, &detail);
	}
	else
	{
		run->resume = (row->state == PGS_JOB_RUNNING);
		pgscreen_job_transition(run->identity.job_id, run->resume ? PGS_JOB_RESUME : PGS_JOB_START, NULL);
		claimed = true;
	}
	pgscreen_worker_xact_commit();
	MemoryContextSwitchTo(keep);
	return claimed;
}

/* Record why the job ended without a model: cancelled on request, failed otherwise. */
static void
record_failure(JobRun *run, ErrorData *edata)
{
	JobRow		row;
	JobTransition detail = {0};
	bool		cancelled;

	pgscreen_worker_xact_begin();
	cancelled = pgscreen_job_fetch(run->identity.job_id, true, &row) && row.cancel_requested &&
		edata->sqlerrcode == ERRCODE_QUERY_CANCELED;
	if (cancelled)
	{
		pgscreen_job_write_progress(run, true);
		pgscreen_job_transition(run->identity.job_id, PGS_JOB_CANCEL, NULL);
	}
	else
	{
		detail.error = edata->message;
		detail.error_sqlstate = unpack_sql_state(edata->sqlerrcode);
		pgscreen_job_transition(run->identity.job_id, PGS_JOB_FAIL, &detail);
	}
	pgscreen_worker_xact_commit();
	ereport(LOG,
			(errmsg("pgscreen job " INT64_FORMAT " %s", run->identity.job_id,
					cancelled ? "was cancelled" : psprintf("failed: %s", edata->message))));
}

static void
run_claimed_job(JobRun *run)
{
	MemoryContext job_context = CurrentMemoryContext;
	int64		model_id;

	PG_TRY();
	{
		model_id = pgscreen_job_train(run);
		ereport(LOG, (errmsg("pgscreen job " INT64_FORMAT " succeeded: model " INT64_FORMAT,
							 run->identity.job_id, model_id)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* The job fails; the worker (and the server) carry on to record why. */
		MemoryContextSwitchTo(job_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		pgscreen_job_release(run);
		record_failure(run, edata);
	}
	PG_END_TRY();
	pgscreen_job_release(run);
}

/* Why a job that cannot be run as its owner fails, from the catalogs as they are now. */
static void
unrunnable_reason(const JobIdentity *identity, JobWorkerMode mode, JobTransition *detail)
{
	HeapTuple	tuple;

	if (mode == JOB_WORKER_FAIL_GAVE_UP)
	{
		detail->error = psprintf("the job's worker exited %d times without finishing the job (see the server log)",
								 JOB_MAX_STARTS);
		detail->error_sqlstate = "57P01";
		return;
	}
	detail->error_sqlstate = "28000";
	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(identity->owner));
	if (!HeapTupleIsValid(tuple))
	{
		detail->error = psprintf("the job's owner (role %u) no longer exists", identity->owner);
		return;
	}
	if (!((Form_pg_authid) GETSTRUCT(tuple))->rolcanlogin)
		detail->error = psprintf("role \"%s\" can no longer log in, and the job runs connected as its owner",
								 NameStr(((Form_pg_authid) GETSTRUCT(tuple))->rolname));
	else
	{
		detail->error = psprintf("database \"%s\" does not allow connections", get_database_name(MyDatabaseId));
		detail->error_sqlstate = "55000";
	}
	ReleaseSysCache(tuple);
}

/*
 * A job whose worker can never connect as its owner ends here: connected without a role (as the server's
 * bootstrap superuser, which PostgreSQL allows background workers), this records the job as failed (or
 * cancelled, if that was asked) with the reason, and removes its directory, so nothing waits or retries
 * for ever. It runs no user code.
 */
static void
end_unrunnable_job(const JobIdentity *identity, JobWorkerMode mode)
{
	JobRow		row;
	JobTransition detail = {0};

	BackgroundWorkerInitializeConnectionByOid(identity->database, InvalidOid, BGWORKER_BYPASS_ALLOWCONN);
	pgstat_report_appname(psprintf("pgscreen job " INT64_FORMAT, identity->job_id));
	pgscreen_worker_xact_begin();
	if (pgscreen_job_fetch(identity->job_id, true, &row) && !pgs_job_state_is_terminal(row.state))
	{
		unrunnable_reason(identity, mode, &detail);
		pgscreen_job_transition(identity->job_id, row.cancel_requested ? PGS_JOB_CANCEL : PGS_JOB_FAIL,
								row.cancel_requested ? NULL : &detail);
		ereport(LOG,
				(errmsg("pgscreen job " INT64_FORMAT " %s", identity->job_id,
						row.cancel_requested ? "was cancelled" : psprintf("failed: %s", detail.error))));
	}
	pgscreen_worker_xact_commit();
	pgscreen_job_dir_remove(identity->database, identity->job_id);
	proc_exit(0);
}

void
pgscreen_job_worker_main(Datum arg)
{
	JobRun	   *run;
	MemoryContext job_context;
	JobWorkerMode mode = (JobWorkerMode) DatumGetInt32(arg);

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	job_context = AllocSetContextCreate(TopMemoryContext, "pgscreen job", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(job_context);
	run = palloc0(sizeof(JobRun));
	memcpy(&run->identity, MyBgworkerEntry->bgw_extra, sizeof(JobIdentity));
	run->best_auc = NAN;
	run->loss = NAN;
	if (mode != JOB_WORKER_RUN)
		end_unrunnable_job(&run->identity, mode);

	/* Exactly the owner's privileges: the connection is the owner's, as if it had logged in. */
	BackgroundWorkerInitializeConnectionByOid(run->identity.database, run->identity.owner, 0);
	pgstat_report_appname(psprintf("pgscreen job " INT64_FORMAT, run->identity.job_id));
	run->dir = pgscreen_job_dir(run->identity.database, run->identity.job_id);
	pgscreen_job_report(run, "starting");

	if (claim_job(run))
		run_claimed_job(run);

	/* A finished job's directory goes; a job left running (server shutting down) keeps it to resume. */
	pgscreen_worker_xact_begin();
	MemoryContextSwitchTo(job_context);
	if (!pgscreen_job_fetch(run->identity.job_id, false, &run->row) || pgs_job_state_is_terminal(run->row.state))
		pgscreen_job_dir_remove(run->identity.database, run->identity.job_id);
	pgscreen_worker_xact_commit();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
