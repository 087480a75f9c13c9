/* The launcher background worker: starts queued jobs up to pgscreen.max_jobs and resumes interrupted ones. */
#include "../pgscreen.h"
#include "jobs.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/* What a backend needs to wake the launcher; exists only with shared_preload_libraries. */
typedef struct JobsShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
} JobsShared;

static JobsShared *jobs_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#define RESTART_BACKOFF_MS 5000
#define RESCAN_INTERVAL_MS 10000

static void
jobs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(JobsShared)));
}

static void
jobs_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	jobs_shared = ShmemInitStruct("pgscreen jobs", sizeof(JobsShared), &found);
	if (!found)
	{
		SpinLockInit(&jobs_shared->mutex);
		jobs_shared->launcher_pid = 0;
		jobs_shared->launcher_latch = NULL;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init while shared_preload_libraries is processed: shared memory and the launcher. */
void
pgscreen_launcher_register(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = jobs_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = jobs_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgscreen");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgscreen_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgscreen launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgscreen launcher");
	RegisterBackgroundWorker(&worker);
}

void
pgscreen_job_worker_fill(BackgroundWorker *worker, const JobIdentity *identity, JobWorkerMode mode,
						 pid_t notify_pid)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "pgscreen");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "pgscreen_job_worker_main");
	snprintf(worker->bgw_name, BGW_MAXLEN, "pgscreen job " INT64_FORMAT, identity->job_id);
	snprintf(worker->bgw_type, BGW_MAXLEN, "pgscreen training job");
	StaticAssertStmt(sizeof(JobIdentity) <= BGW_EXTRALEN, "job identity must fit in bgw_extra");
	memcpy(worker->bgw_extra, identity, sizeof(JobIdentity));
	worker->bgw_main_arg = Int32GetDatum((int32) mode);
	worker->bgw_notify_pid = notify_pid;
}

void
pgscreen_job_submitted(const JobIdentity *identity)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	if (jobs_shared != NULL)
	{
		/* The launcher finds the job's directory; if it is restarting, it will on start. */
		SpinLockAcquire(&jobs_shared->mutex);
		if (jobs_shared->launcher_latch != NULL)
			SetLatch(jobs_shared->launcher_latch);
		SpinLockRelease(&jobs_shared->mutex);
		return;
	}
	pgscreen_job_worker_fill(&worker, identity, JOB_WORKER_RUN, 0);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a background worker for training job " INT64_FORMAT,
						identity->job_id),
				 errhint("Raise max_worker_processes, or add pgscreen to shared_preload_libraries so jobs queue.")));
}

bool
pgscreen_jobs_preloaded(void)
{
	return jobs_shared != NULL;
}

/* The launcher's own memory of the jobs it saw and the workers it started for them. */
typedef struct TrackedJob
{
	JobIdentity identity;
	BackgroundWorkerHandle *handle; /* NULL when no worker of ours is running for it */
	int			starts;
	TimestampTz next_start;
	bool		seen;			/* its directory exists in this scan */
	bool		gave_up;
} TrackedJob;

static List *tracked = NIL;

static TrackedJob *
find_tracked(Oid database, int64 job_id)
{
	ListCell   *lc;

	foreach(lc, tracked)
	{
		TrackedJob *t = lfirst(lc);

		if (t->identity.database == database && t->identity.job_id == job_id)
			return t;
	}
	return NULL;
}

static void
note_job_dir(const JobIdentity *identity, void *arg)
{
	TrackedJob *t = find_tracked(identity->database, identity->job_id);

	if (t == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		t = palloc0(sizeof(TrackedJob));
		tracked = lappend(tracked, t);
		MemoryContextSwitchTo(old);
	}
	t->identity = *identity;
	t->seen = true;
}

static bool
start_worker(TrackedJob *t, JobWorkerMode mode)
{
	BackgroundWorker worker;
	MemoryContext old;
	bool		ok;

	pgscreen_job_worker_fill(&worker, &t->identity, mode, MyProcPid);
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &t->handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		t->handle = NULL;
		return false;
	}
	t->starts++;
	return true;
}

typedef enum JobViability
{
	JOB_RUNNABLE,
	JOB_DATABASE_GONE,
	JOB_CANNOT_CONNECT
} JobViability;

/*
 * Whether the job's worker can connect as its owner, read from the shared catalogs (the launcher has no
 * database). Trying would only fail with FATAL at every start and every server restart.
 */
static JobViability
job_viability(const JobIdentity *identity)
{
	MemoryContext pass_context = CurrentMemoryContext;
	JobViability result = JOB_RUNNABLE;
	HeapTuple	tuple;

	StartTransactionCommand();
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(identity->database));
	if (!HeapTupleIsValid(tuple))
		result = JOB_DATABASE_GONE;
	else
	{
		if (!((Form_pg_database) GETSTRUCT(tuple))->datallowconn)
			result = JOB_CANNOT_CONNECT;
		ReleaseSysCache(tuple);
	}
	if (result == JOB_RUNNABLE)
	{
		tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(identity->owner));
		if (!HeapTupleIsValid(tuple))
			result = JOB_CANNOT_CONNECT;
		else
		{
			if (!((Form_pg_authid) GETSTRUCT(tuple))->rolcanlogin)
				result = JOB_CANNOT_CONNECT;
			ReleaseSysCache(tuple);
		}
	}
	CommitTransactionCommand();
	/* The commit leaves TopMemoryContext current; the rest of the pass allocates in its own context. */
	MemoryContextSwitchTo(pass_context);
	return result;
}

/* One pass: reap finished workers, find job directories, start workers up to the cap; returns the wait. */
static long
schedule_jobs(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		wait_ms = RESCAN_INTERVAL_MS;
	int			running = 0;
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, tracked)
		((TrackedJob *) lfirst(lc))->seen = false;
	pgscreen_job_dirs_list(note_job_dir, NULL);

	foreach(lc, tracked)
	{
		TrackedJob *t = lfirst(lc);
		pid_t		pid;

		if (t->handle != NULL && GetBackgroundWorkerPid(t->handle, &pid) == BGWH_STOPPED)
		{
			pfree(t->handle);
			t->handle = NULL;
			/* Its directory is still there: the worker ended before the job did. Retry after a pause. */
			t->next_start = TimestampTzPlusMilliseconds(now, RESTART_BACKOFF_MS * t->starts);
		}
		if (t->handle == NULL && !t->seen)
		{
			pfree(t);
			continue;
		}
		old = MemoryContextSwitchTo(TopMemoryContext);
		keep = lappend(keep, t);
		MemoryContextSwitchTo(old);
		if (t->handle != NULL)
			running++;
	}
	list_free(tracked);
	tracked = keep;

	foreach(lc, tracked)
	{
		TrackedJob *t = lfirst(lc);
		JobWorkerMode mode = JOB_WORKER_RUN;

		if (t->handle != NULL || t->gave_up)
			continue;
		if (running >= pgscreen_max_jobs)
			break;
		if (t->next_start > now)
		{
			wait_ms = Min(wait_ms, (long) ((t->next_start - now) / 1000) + 1);
			continue;
		}
		switch (job_viability(&t->identity))
		{
			case JOB_DATABASE_GONE:
				/* The job's row went with its database: only the directory is left to remove. */
				ereport(LOG,
						(errmsg("pgscreen launcher: removing training job " INT64_FORMAT ": its database %u no longer exists",
								t->identity.job_id, t->identity.database)));
				pgscreen_job_dir_remove(t->identity.database, t->identity.job_id);
				t->gave_up = true;
				continue;
			case JOB_CANNOT_CONNECT:
				mode = JOB_WORKER_FAIL_CANNOT_CONNECT;
				break;
			case JOB_RUNNABLE:
				break;
		}
		if (mode == JOB_WORKER_RUN && t->starts >= JOB_MAX_STARTS)
		{
			ereport(WARNING,
					(errmsg("pgscreen launcher: giving up on training job " INT64_FORMAT " in database %u",
							t->identity.job_id, t->identity.database),
					 errdetail("Its worker exited %d times without finishing the job; the job is marked failed.",
							   t->starts),
					 errhint("See the server log for the workers' errors.")));
			mode = JOB_WORKER_FAIL_GAVE_UP;
		}
		if (!start_worker(t, mode))
		{
			ereport(LOG,
					(errmsg("pgscreen launcher: no background worker slot free for training job " INT64_FORMAT,
							t->identity.job_id),
					 errhint("Raise max_worker_processes.")));
			wait_ms = Min(wait_ms, RESTART_BACKOFF_MS);
			break;
		}
		/* A worker that only records the failure is started once; if even it fails, a restart retries. */
		t->gave_up = mode != JOB_WORKER_RUN;
		running++;
	}
	return wait_ms;
}

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&jobs_shared->mutex);
	if (jobs_shared->launcher_pid == MyProcPid)
	{
		jobs_shared->launcher_pid = 0;
		jobs_shared->launcher_latch = NULL;
	}
	SpinLockRelease(&jobs_shared->mutex);
}

/*
 * The loop of pg_cron and worker_spi: wait on the latch (set by train(), by our workers starting and
 * stopping, and by SIGHUP), then one scheduling pass. On start, the job directories left by a crash or a
 * restart are found like new ones, and their workers resume running jobs from their checkpoints.
 */
void
pgscreen_launcher_main(Datum arg)
{
	MemoryContext pass_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* No database: the launcher only reads the job directories and starts workers. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pgscreen launcher");

	SpinLockAcquire(&jobs_shared->mutex);
	jobs_shared->launcher_pid = MyProcPid;
	jobs_shared->launcher_latch = MyLatch;
	SpinLockRelease(&jobs_shared->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);

	pass_context = AllocSetContextCreate(TopMemoryContext, "pgscreen launcher pass", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		wait_ms;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		pgstat_report_activity(STATE_RUNNING, "scheduling training jobs");
		old = MemoryContextSwitchTo(pass_context);
		wait_ms = schedule_jobs();
		MemoryContextSwitchTo(old);
		MemoryContextReset(pass_context);
		pgstat_report_activity(STATE_IDLE, NULL);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
