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
#include "utils/memutils.h"
#include "utils/syscache.h"

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
