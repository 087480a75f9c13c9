/* Job rows: reading a job, the one state-transition function, and whether a job's worker is alive. */
#include "../pgscreen.h"
#include "jobs.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

static char *
copy_text_column(HeapTuple tuple, TupleDesc desc, int column, MemoryContext target)
{
	char	   *value = SPI_getvalue(tuple, desc, column);

	return value ? MemoryContextStrdup(target, value) : NULL;
}

static Datum
column(HeapTuple tuple, TupleDesc desc, int column, bool *isnull)
{
	return SPI_getbinval(tuple, desc, column, isnull);
}

bool
pgscreen_job_fetch(int64 job_id, bool for_update, JobRow *row)
{
	MemoryContext caller = CurrentMemoryContext;
	CatalogAccess access;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(job_id)};
	bool		found = false;
	char	   *sql;

	sql = psprintf("SELECT owner::oid, state, model_name, training_query, validation_query, recipe::text, "
				   "cancel_requested, resumes, worker_pid, worker_started_at, last_checkpoint_epoch "
				   "FROM screen.jobs WHERE id = $1%s", for_update ? " FOR UPDATE" : "");
	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, !for_update, 1) != (for_update ? SPI_OK_SELECT : SPI_OK_SELECT))
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *state;

		found = true;
		row->id = job_id;
		row->owner = DatumGetObjectId(column(t, d, 1, &isnull));
		state = SPI_getvalue(t, d, 2);
		row->state = (pgs_job_state) pgs_job_state_parse(state);
		if ((int) row->state < 0)
			elog(ERROR, "job " INT64_FORMAT " has unknown state \"%s\"", job_id, state);
		row->model_name = copy_text_column(t, d, 3, caller);
		row->training_query = copy_text_column(t, d, 4, caller);
		row->validation_query = copy_text_column(t, d, 5, caller);
		row->recipe_json = copy_text_column(t, d, 6, caller);
		row->cancel_requested = DatumGetBool(column(t, d, 7, &isnull));
		row->resumes = DatumGetInt32(column(t, d, 8, &isnull));
		row->worker_pid = DatumGetInt32(column(t, d, 9, &isnull));
		if (isnull)
			row->worker_pid = 0;
		row->worker_started_at = DatumGetTimestampTz(column(t, d, 10, &isnull));
		if (isnull)
			row->worker_started_at = 0;
		row->last_checkpoint_epoch = DatumGetInt32(column(t, d, 11, &isnull));
		if (isnull)
			row->last_checkpoint_epoch = -1;
	}
	SPI_finish();
	pgscreen_catalog_leave(&access);
	return found;
}

/* The columns each event sets besides the state. $1 id, $2 state, $3 error, $4 sqlstate, $5 model, $6 pid, $7 start. */
static const char *
event_assignments(pgs_job_event event)
{
	switch (event)
	{
		case PGS_JOB_START:
			return "started_at = now(), worker_pid = $6, worker_started_at = $7, phase = 'loading'";
		case PGS_JOB_RESUME:
			return "resumes = resumes + 1, worker_pid = $6, worker_started_at = $7, phase = 'loading'";
		case PGS_JOB_SUCCEED:
			return "finished_at = now(), phase = NULL, eta = NULL, model_id = $5";
		case PGS_JOB_FAIL:
			return "finished_at = now(), phase = NULL, eta = NULL, error = $3, error_sqlstate = $4";
		case PGS_JOB_CANCEL:
			return "finished_at = now(), phase = NULL, eta = NULL";
		case PGS_JOB_N_EVENTS:
			break;
	}
	elog(ERROR, "unknown job event %d", (int) event);
	return NULL;
}

pgs_job_state
pgscreen_job_transition(int64 job_id, pgs_job_event event, const JobTransition *detail)
{
	static const JobTransition no_detail = {0};
	JobRow		row;
	int			next;
	CatalogAccess access;
	Oid			argtypes[7] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT4OID, TIMESTAMPTZOID};
	Datum		args[7];
	char		nulls[7] = "       ";
	char	   *sql;

	if (detail == NULL)
		detail = &no_detail;
	if (!pgscreen_job_fetch(job_id, true, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", job_id)));
	next = pgs_job_next_state(row.state, event);
	if (next < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job " INT64_FORMAT " because it is %s",
						pgs_job_event_name(event), job_id, pgs_job_state_name(row.state))));

	args[0] = Int64GetDatum(job_id);
	args[1] = CStringGetTextDatum(pgs_job_state_name((pgs_job_state) next));
	args[2] = detail->error ? CStringGetTextDatum(detail->error) : (Datum) 0;
	nulls[2] = detail->error ? ' ' : 'n';
	args[3] = detail->error_sqlstate ? CStringGetTextDatum(detail->error_sqlstate) : (Datum) 0;
	nulls[3] = detail->error_sqlstate ? ' ' : 'n';
	args[4] = Int64GetDatum(detail->model_id);
	nulls[4] = detail->model_id ? ' ' : 'n';
	args[5] = Int32GetDatum(MyProcPid);
	args[6] = TimestampTzGetDatum(MyStartTimestamp);
	sql = psprintf("UPDATE screen.jobs SET state = $2, updated_at = now(), %s WHERE id = $1",
				   event_assignments(event));

	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args(sql, 7, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not update job " INT64_FORMAT, job_id);
	SPI_finish();
	pgscreen_catalog_leave(&access);
	return (pgs_job_state) next;
}

bool
pgscreen_job_worker_alive(int pid, TimestampTz started_at)
{
	int			n;

	if (pid == 0)
		return false;
	/* The backend-status snapshot is kept for the transaction; a waiting caller needs a fresh one. */
	pgstat_clear_backend_activity_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local != NULL && local->backendStatus.st_procpid == pid)
			return local->backendStatus.st_proc_start_timestamp == started_at;
	}
	return false;
}
