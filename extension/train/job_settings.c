/* Settings of training jobs and scoring, and the start-up of the job machinery from _PG_init. */
#include "../pgscreen.h"
#include "jobs.h"
#include "../options.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

int			pgscreen_max_jobs = 1;
int			pgscreen_job_cache_memory_mb = 1024;
int			pgscreen_job_cache_limit_mb = 16384;
int			pgscreen_job_max_resumes = 3;
int			pgscreen_model_cache_mb = 512;
int			pgscreen_job_max_replicas = 4;

void
pgscreen_train_init(void)
{
	DefineCustomIntVariable("pgscreen.max_jobs",
							"Most training jobs the launcher runs at the same time.",
							"Further jobs wait in state queued. Needs pgscreen in shared_preload_libraries.",
							&pgscreen_max_jobs,
							1, 1, 1024,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* The cache holds a job's decoded training and validation images; limits protect the server. */
	DefineCustomIntVariable("pgscreen.job_cache_memory",
							"Memory a training job may use to cache its decoded images.",
							"Images beyond it are cached in a file in the job's directory under the data directory.",
							&pgscreen_job_cache_memory_mb,
							1024, 0, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgscreen.job_cache_limit",
							"Largest decoded training and validation data set, memory and file together.",
							"A job whose data exceed it fails before training starts.",
							&pgscreen_job_cache_limit_mb,
							16384, 1, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgscreen.job_max_resumes",
							"How many times a training job interrupted by a crash or restart is resumed.",
							"After that many resumptions the job fails, so a job that crashes the server cannot loop.",
							&pgscreen_job_max_resumes,
							3, 0, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* Memory each session may keep: a limit that protects the server, so a superuser's setting. */
	DefineCustomIntVariable("pgscreen.model_cache",
							"Memory each session may use to keep loaded models for predict() and score().",
							"The least recently used models are dropped beyond it.",
							&pgscreen_model_cache_mb,
							512, 0, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB,
							NULL, NULL, NULL);

	/* Each replica is a background worker: without a bound, one job could take every worker slot. */
	DefineCustomIntVariable("pgscreen.job_max_replicas",
							"Most devices (replicas) one training job may train on.",
							"The training options devices and cpu_replicas may ask for at most this many.",
							&pgscreen_job_max_replicas,
							4, 1, PGSCREEN_MAX_REPLICAS,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
		pgscreen_launcher_register();
}
