/* Declarations shared by the training-job files: GUCs, catalog access, job rows, workers, the launcher. */
#ifndef PGSCREEN_JOBS_H
#define PGSCREEN_JOBS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

#include "../../kernels/train/job_state.h"

/* GUCs (extension/train/job_settings.c) */
extern int	pgscreen_max_jobs;
extern int	pgscreen_job_cache_memory_mb;
extern int	pgscreen_job_cache_limit_mb;
extern int	pgscreen_job_max_resumes;
extern int	pgscreen_model_cache_mb;
extern int	pgscreen_job_max_replicas;

/* True when pgscreen was loaded by shared_preload_libraries (the launcher exists). */
extern bool pgscreen_jobs_preloaded(void);

/*
 * Catalog access (extension/catalog_access.c). Jobs and models are changed only by pgscreen's own
 * statements, run as the extension's owner with search_path pg_catalog, pg_temp, so a caller's objects
 * can never stand in for ours. enter/leave bracket such statements inside a transaction; an error in
 * between is cleaned up by the transaction abort.
 */
typedef struct CatalogAccess
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nest_level;
} CatalogAccess;

extern void pgscreen_catalog_enter(CatalogAccess *access);
extern void pgscreen_catalog_leave(CatalogAccess *access);
extern Oid	pgscreen_extension_owner(void);

/* A job row as the worker and the SQL functions need it (extension/job_state.c). */
typedef struct JobRow
{
	int64		id;
	Oid			owner;
	pgs_job_state state;
	char	   *model_name;
	char	   *training_query;
	char	   *validation_query;
	char	   *recipe_json;	/* the resolved recipe, as jsonb text */
	bool		cancel_requested;
	int			resumes;
	int			worker_pid;		/* 0 when none recorded */
	TimestampTz worker_started_at;	/* 0 when none recorded */
	int			last_checkpoint_epoch;	/* -1 when none */
} JobRow;

/* Read a job with catalog rights (no row-level security), optionally locking it; false if absent. */
extern bool pgscreen_job_fetch(int64 job_id, bool for_update, JobRow *row);

/* Details written with a transition; zeroed fields are left alone. */
typedef struct JobTransition
{
	const char *error;			/* failed: the reason */
	const char *error_sqlstate; /* failed: five characters */
	int64		model_id;		/* succeeded: the model created */
} JobTransition;

/*
 * The one transition function: applies `event` to the job (locked by the caller or not), checks it against
 * the state machine of kernels/train/job_state.c and updates state, timestamps, worker and details in one
 * statement. Returns the new state; errors when the event is not allowed in the job's current state.
 */
extern pgs_job_state pgscreen_job_transition(int64 job_id, pgs_job_event event, const JobTransition *detail);

/* Whether a worker process with this pid and start time is alive (a pid alone may have been reused). */
extern bool pgscreen_job_worker_alive(int pid, TimestampTz started_at);

/*
 * Job directories (extension/train/job_registry.c): $PGDATA/pgscreen/jobs/<database oid>.<job id>/ holds the
 * job's identity (owner, creating transaction), its checkpoints and its spilled data cache. A directory
 * exists exactly while a job may still need a worker, so the launcher finds the jobs to start or resume by
 * listing them, across databases and restarts.
 */
typedef struct JobIdentity
{
	Oid			database;
	int64		job_id;
	Oid			owner;
	TransactionId creating_xid;
} JobIdentity;

extern char *pgscreen_job_dir(Oid database, int64 job_id);
extern void pgscreen_job_dir_create(const JobIdentity *identity);
extern bool pgscreen_job_dir_read(Oid database, int64 job_id, JobIdentity *identity);
extern void pgscreen_job_dir_remove(Oid database, int64 job_id);
/* Calls fn for every job directory; returns how many it found. */
extern int	pgscreen_job_dirs_list(void (*fn) (const JobIdentity *identity, void *arg), void *arg);

/*
 * Workers (extension/train/job_launcher.c). A worker trains its job connected as the job's owner; a job
 * that can never run that way (its owner cannot log in, its database refuses connections, or its workers
 * kept exiting) gets a worker that connects without a role only to record why the job failed.
 */
typedef enum JobWorkerMode
{
	JOB_WORKER_RUN,
	JOB_WORKER_FAIL_CANNOT_CONNECT,
	JOB_WORKER_FAIL_GAVE_UP
} JobWorkerMode;

/* A worker that exits while its job still needs one is started again, at most this often per job. */
#define JOB_MAX_STARTS 5

extern void pgscreen_launcher_register(void);
extern void pgscreen_job_worker_fill(BackgroundWorker *worker, const JobIdentity *identity, JobWorkerMode mode,
									 pid_t notify_pid);
/* A job was queued: wake the launcher, or without one start the job's worker at once. */
extern void pgscreen_job_submitted(const JobIdentity *identity);

PGDLLEXPORT void pgscreen_launcher_main(Datum arg);
PGDLLEXPORT void pgscreen_job_worker_main(Datum arg);

#endif
