/* SQL functions of training jobs: screen.train, screen.cancel and screen.wait. */
#include "../pgscreen.h"
#include "jobs.h"
#include "../nn/models.h"
#include "../options.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(pgscreen_train);
PG_FUNCTION_INFO_V1(pgscreen_cancel);
PG_FUNCTION_INFO_V1(pgscreen_wait);

/* The worker connects as the caller, which PostgreSQL 15 allows only for roles that may log in. */
static void
check_role_can_log_in(Oid role)
{
	HeapTuple	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	bool		can_login;
	char	   *name;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for role %u", role);
	can_login = ((Form_pg_authid) GETSTRUCT(tuple))->rolcanlogin;
	name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tuple))->rolname));
	ReleaseSysCache(tuple);
	if (!can_login)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot run training jobs because it cannot log in", name),
				 errdetail("A training job runs in a background worker connected as the role that calls screen.train(), with exactly its privileges."),
				 errhint("Call screen.train() as a role with LOGIN (after RESET ROLE, say).")));
}

static int64
insert_job(Oid owner, const char *model_name, const char *training_query, const char *validation_query,
		   Jsonb *options, const char *recipe_json, int max_epochs)
{
	CatalogAccess access;
	Oid			types[7] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, INT4OID};
	Datum		values[7];
	bool		isnull;
	int64		id;

	values[0] = ObjectIdGetDatum(owner);
	values[1] = CStringGetTextDatum(model_name);
	values[2] = CStringGetTextDatum(training_query);
	values[3] = CStringGetTextDatum(validation_query);
	values[4] = JsonbPGetDatum(options);
	values[5] = CStringGetTextDatum(recipe_json);
	values[6] = Int32GetDatum(max_epochs);
	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args("INSERT INTO screen.jobs (owner, model_name, training_query, validation_query, "
							  "options, recipe, max_epochs) VALUES ($1::regrole, $2, $3, $4, $5, $6::jsonb, $7) "
							  "RETURNING id", 7, types, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert the training job");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	pgscreen_catalog_leave(&access);
	return id;
}

Datum
pgscreen_train(PG_FUNCTION_ARGS)
{
	char	   *model_name = text_to_cstring(pgscreen_required_text(fcinfo, 0, "model_name"));
	char	   *training_query = text_to_cstring(pgscreen_required_text(fcinfo, 1, "training_query"));
	char	   *validation_query = text_to_cstring(pgscreen_required_text(fcinfo, 2, "validation_query"));
	Jsonb	   *options = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	char	   *bare_name;
	ResolvedRecipe resolved;
	JobIdentity identity;
	Oid			owner = GetUserId();

	if (options == NULL)
		options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	(void) pgscreen_model_new_owner(model_name, &bare_name);
	pgscreen_check_select_query(training_query, "training_query");
	pgscreen_check_select_query(validation_query, "validation_query");
	pgscreen_recipe_from_options(options, "screen.train", &resolved);
	check_role_can_log_in(owner);

	identity.database = MyDatabaseId;
	identity.owner = owner;
	identity.job_id = insert_job(owner, model_name, training_query, validation_query, options,
								 pgscreen_recipe_to_json(&resolved), resolved.recipe.max_epochs);
	/* The worker waits for this transaction: it starts the job once committed, or drops it if aborted. */
	identity.creating_xid = GetTopTransactionId();
	pgscreen_job_dir_create(&identity);
	pgscreen_job_submitted(&identity);
	if (!pgscreen_jobs_preloaded())
		ereport(NOTICE,
				(errmsg("training job " INT64_FORMAT " started without the pgscreen launcher", identity.job_id),
				 errdetail("Without shared_preload_libraries = 'pgscreen', jobs are not queued under pgscreen.max_jobs and are not resumed after a server restart.")));
	PG_RETURN_INT64(identity.job_id);
}

/* The job as the caller sees it: row-level security hides other roles' jobs, which then "do not exist". */
static bool
job_visible(int64 job_id, char **state, TransactionId *xmin)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		found = false;
	bool		isnull;

	SPI_connect();
	if (SPI_execute_with_args("SELECT state, xmin FROM screen.jobs WHERE id = $1", 1, (Oid[]) {INT8OID},
							  (Datum[]) {Int64GetDatum(job_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	if (SPI_processed == 1)
	{
		found = true;
		if (state)
		{
			if (*state)
				pfree(*state);
			*state = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		}
		if (xmin)
			*xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	return found;
}

static void
job_does_not_exist(int64 job_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("job " INT64_FORMAT " does not exist", job_id)));
}

/*
 * Without the launcher nobody resumes a job whose worker died (a server restart, pg_terminate_backend):
 * the caller of cancel() or wait() then ends it, rather than waiting for ever.
 */
static bool
end_orphaned_job(int64 job_id, pgs_job_event event)
{
	JobRow		row;
	JobTransition detail = {0};

	if (pgscreen_jobs_preloaded())
		return false;
	/*
	 * Look before locking: wait() runs in one long transaction, and a row lock taken here would stall the
	 * live worker's next progress update until wait() returned.
	 */
	if (!pgscreen_job_fetch(job_id, false, &row) || row.state != PGS_JOB_RUNNING ||
		pgscreen_job_worker_alive(row.worker_pid, row.worker_started_at))
		return false;
	if (!pgscreen_job_fetch(job_id, true, &row) || row.state != PGS_JOB_RUNNING ||
		pgscreen_job_worker_alive(row.worker_pid, row.worker_started_at))
		return false;
	detail.error = "the job's worker exited before the job ended, and without pgscreen in shared_preload_libraries nothing resumes it";
	detail.error_sqlstate = "57P01";
	pgscreen_job_transition(job_id, event, &detail);
	return true;
}

Datum
pgscreen_cancel(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	JobRow		row;
	CatalogAccess access;

	if (!job_visible(job_id, NULL, NULL) || !pgscreen_job_fetch(job_id, true, &row))
		job_does_not_exist(job_id);
	/* Seeing a job (as a member of its owner, say) is not enough to stop it. */
	if (!has_privs_of_role(GetUserId(), row.owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to cancel job " INT64_FORMAT, job_id),
				 errdetail("Only roles with the privileges of the job's owner may cancel it.")));
	switch (row.state)
	{
		case PGS_JOB_QUEUED:
			PG_RETURN_TEXT_P(cstring_to_text(pgs_job_state_name(pgscreen_job_transition(job_id, PGS_JOB_CANCEL, NULL))));
		case PGS_JOB_RUNNING:
			if (end_orphaned_job(job_id, PGS_JOB_CANCEL))
				PG_RETURN_TEXT_P(cstring_to_text("cancelled"));
			pgscreen_catalog_enter(&access);
			SPI_connect();
			if (SPI_execute_with_args("UPDATE screen.jobs SET cancel_requested = true, "
									  "cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = $1",
									  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(job_id)}, NULL, false, 0)
				!= SPI_OK_UPDATE)
				elog(ERROR, "could not request the cancellation of job " INT64_FORMAT, job_id);
			SPI_finish();
			pgscreen_catalog_leave(&access);
			ereport(NOTICE,
					(errmsg("job " INT64_FORMAT " stops after the batch it is training", job_id),
					 errhint("SELECT screen.wait(" INT64_FORMAT ") returns when it has.", job_id)));
			PG_RETURN_TEXT_P(cstring_to_text("running"));
		default:
			ereport(NOTICE,
					(errmsg("job " INT64_FORMAT " has already ended (%s)", job_id, pgs_job_state_name(row.state))));
			PG_RETURN_TEXT_P(cstring_to_text(pgs_job_state_name(row.state)));
	}
}

#define WAIT_POLL_MS 200

/* Raise a NOTICE for each diagnosis the job logged after epoch *seen (training_log.diagnosis). */
static void
notice_diagnoses(int64 job_id, int *seen)
{
	SPI_connect();
	if (SPI_execute_with_args("SELECT epoch, diagnosis FROM screen.training_log "
							  "WHERE job_id = $1 AND epoch > $2 AND diagnosis IS NOT NULL ORDER BY epoch", 2,
							  (Oid[]) {INT8OID, INT4OID}, (Datum[]) {Int64GetDatum(job_id), Int32GetDatum(*seen)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log of job " INT64_FORMAT, job_id);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			epoch = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		ereport(NOTICE,
				(errmsg("job " INT64_FORMAT ", epoch %d: %s", job_id, epoch,
						SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2))));
		*seen = epoch;
	}
	SPI_finish();
}

Datum
pgscreen_wait(PG_FUNCTION_ARGS)
{
	int64		job_id;
	TimestampTz deadline = 0;
	char	   *state = NULL;
	TransactionId xmin;
	int			diagnosed_epoch = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("job_id must not be NULL")));
	job_id = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		Interval   *timeout = PG_GETARG_INTERVAL_P(1);

		deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														   TimestampTzGetDatum(GetCurrentTimestamp()),
														   IntervalPGetDatum(timeout)));
	}
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("screen.wait() cannot see a job progress inside a REPEATABLE READ or SERIALIZABLE transaction"),
				 errhint("Call it in a READ COMMITTED transaction.")));
	if (!job_visible(job_id, &state, &xmin))
		job_does_not_exist(job_id);
	if (TransactionIdIsCurrentTransactionId(xmin))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("job " INT64_FORMAT " was created in this transaction and cannot start before it commits",
						job_id)));

	for (;;)
	{
		int			parsed = pgs_job_state_parse(state);

		notice_diagnoses(job_id, &diagnosed_epoch);
		if (parsed >= 0 && pgs_job_state_is_terminal(parsed))
			break;
		if (deadline != 0 && GetCurrentTimestamp() >= deadline)
			break;
		if (parsed != PGS_JOB_RUNNING || !end_orphaned_job(job_id, PGS_JOB_FAIL))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, WAIT_POLL_MS,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (!job_visible(job_id, &state, NULL))
			job_does_not_exist(job_id);
	}
	PG_RETURN_TEXT_P(cstring_to_text(state));
}
