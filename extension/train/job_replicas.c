/* A job on several devices: the job's worker is replica 0 and starts one replica worker for each other replica. */
#include "../pgscreen.h"
#include "jobs.h"
#include "job_run.h"

#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "../../kernels/device/cuda_module.h"
#include "../../kernels/train/collective.h"
#include "../../kernels/train/trainer.h"

#define REPLICAS_MAGIC 0x70677364	/* "pgsd" */
#define KEY_HEADER 1
#define KEY_COLLECTIVE 2
/* Gradients are reduced through staging slots of at most this size (larger models take several rounds). */
#define MAX_SLOT_BYTES ((size_t) 16 << 20)
/* On GPUs NCCL moves the data; the slots only carry host values (the loss). */
#define GPU_SLOT_BYTES ((size_t) 4096)

/* What every replica needs to build the same trainer; written by replica 0 before it starts the others. */
typedef struct ReplicaHeader
{
	int64		job_id;
	Oid			database;
	Oid			owner;
	pid_t		leader_pid;
	int			replicas;
	bool		sync_batchnorm;
	bool		on_gpus;
	int			gpus[PGSCREEN_MAX_REPLICAS];
	pgs_recipe	recipe;
	int			height;
	int			width;
	int			channels;
	int64		training_count;
	char		data_path[MAXPGPATH];	/* the training cache, saved for the replicas */
	bool		resume;			/* start from the checkpoint, as replica 0 does */
	char		checkpoint_path[MAXPGPATH];
	unsigned char nccl_id[PGS_NCCL_ID_BYTES];	/* GPUs: the NCCL group replica 0 made */
} ReplicaHeader;

struct JobReplicas
{
	dsm_segment *segment;
	ReplicaHeader *header;
	void	   *shared;			/* the collectives' memory */
	pgs_collective group;
	BackgroundWorkerHandle *handles[PGSCREEN_MAX_REPLICAS];
	bool		finished;		/* every replica was told to stop after the last epoch */
};

PGDLLEXPORT void pgscreen_replica_main(Datum arg);

static const char *
replica_device(const ReplicaHeader *h, int rank, char *buf, size_t len)
{
	if (!h->on_gpus)
		return "cpu";
	snprintf(buf, len, "cuda:%d", h->gpus[rank]);
	return buf;
}

/* Replica 0 waits for the others: stop on an interrupt, or when a replica's worker has exited. */
static pgs_status
leader_check(void *arg, pgs_error *err)
{
	JobReplicas *jr = arg;

	if (InterruptPending)
		return pgs_fail(err, PGS_ERR_CANCELLED, "the job's worker was interrupted");
	if (!PostmasterIsAlive())
		return pgs_fail(err, PGS_ERR_DEVICE, "the server stopped");
	for (int r = 1; r < jr->header->replicas; r++)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(jr->handles[r], &pid) == BGWH_STOPPED)
			return pgs_fail(err, PGS_ERR_DEVICE, "replica %d exited", r);
	}
	return PGS_OK;
}

/* A kernel call of the group failed: honour a pending interrupt (shutdown, termination) before the error. */
static void
replica_check(pgs_status st, const pgs_error *err, const char *what)
{
	if (st != PGS_OK)
		CHECK_FOR_INTERRUPTS();
	pgscreen_check(st, err, what);
}

/* A replica that leaves the segment before the job is done (an error, a termination) fails the group. */
static void
abort_on_detach(dsm_segment *segment, Datum arg)
{
	void	   *shared = DatumGetPointer(arg);
	int			rank = 0;

	if (MyBgworkerEntry != NULL && strcmp(MyBgworkerEntry->bgw_function_name, "pgscreen_replica_main") == 0)
		memcpy(&rank, MyBgworkerEntry->bgw_extra, sizeof(int));
	pgs_collective_abort(shared, rank, PGS_ERR_DEVICE, rank == 0 ? "the job's worker exited" : "the replica exited");
}

/*
 * Attach this replica to the group; GPUs then open their NCCL communicator, after a barrier so that every
 * replica is known to be alive (ncclCommInitRank waits for all of them and cannot be interrupted).
 */
static void
join_group(pgs_collective *group, ReplicaHeader *h, void *shared, int rank, const pgs_ops *ops,
		   pgs_collective_check_fn check, void *check_arg)
{
	const pgs_cuda_module *module;
	void	   *comm;
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_check(pgs_collective_shm_attach(group, shared, rank, ops, check, check_arg, &err), &err,
				   "could not join the replicas");
	if (!h->on_gpus)
		return;
	module = pgscreen_loaded_cuda_module();
	replica_check(pgs_collective_barrier(group, &err), &err, "could not join the replicas");
	pgscreen_check(module->nccl_open(ops, h->nccl_id, rank, h->replicas, &comm, &err), &err,
				   "could not open NCCL between the replicas' GPUs");
	pgscreen_check(pgs_collective_use_nccl(group, module, comm, &err), &err, "could not join the replicas");
}

static void
start_helper(JobReplicas *jr, int rank)
{
	BackgroundWorker worker;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	/* Connected as the job's owner (it runs no query) so that pg_stat_activity shows it with the job. */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgscreen");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgscreen_replica_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgscreen job " INT64_FORMAT " replica %d", jr->header->job_id, rank);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgscreen training replica");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(jr->segment));
	memcpy(worker.bgw_extra, &rank, sizeof(int));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &jr->handles[rank]))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start replica %d of training job " INT64_FORMAT, rank, jr->header->job_id),
				 errhint("A job with %d replicas needs %d more background workers; raise max_worker_processes.",
						 jr->header->replicas, jr->header->replicas - 1)));
	if (WaitForBackgroundWorkerStartup(jr->handles[rank], &pid) != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("replica %d of training job " INT64_FORMAT " did not start", rank, jr->header->job_id)));
}

/* "cuda:all": every GPU this worker sees (up to pgscreen.job_max_replicas), replica r on cuda:r. */
static void
resolve_gpus(ReplicaSettings *s)
{
	if (!s->on_gpus || s->replicas > 0)
		return;
	s->replicas = Min(pgscreen_gpu_count(), pgscreen_job_max_replicas);
	for (int r = 0; r < s->replicas; r++)
		s->gpus[r] = r;
}

void
pgscreen_job_replicas_start(JobRun *run, bool resume, const char *checkpoint)
{
	ReplicaSettings *s = &run->recipe.replicas;
	JobReplicas *jr;
	shm_toc_estimator estimator;
	shm_toc    *toc;
	ReplicaHeader *h;
	size_t		slot,
				collective;
	pgs_error	err;

	resolve_gpus(s);
	if (s->replicas <= 1)
		return;
	jr = MemoryContextAllocZero(TopMemoryContext, sizeof(JobReplicas));
	slot = s->on_gpus ? GPU_SLOT_BYTES : Min(pgs_trainer_parameter_count(run->trainer) * sizeof(float), MAX_SLOT_BYTES);
	collective = pgs_collective_shm_size(s->replicas, slot);
	shm_toc_initialize_estimator(&estimator);
	shm_toc_estimate_chunk(&estimator, sizeof(ReplicaHeader));
	shm_toc_estimate_chunk(&estimator, collective);
	shm_toc_estimate_keys(&estimator, 2);

	/* Outside any resource owner and pinned: the segment lives until the job releases it. */
	jr->segment = dsm_create(shm_toc_estimate(&estimator), 0);
	dsm_pin_mapping(jr->segment);
	run->replicas = jr;
	toc = shm_toc_create(REPLICAS_MAGIC, dsm_segment_address(jr->segment), shm_toc_estimate(&estimator));
	h = jr->header = shm_toc_allocate(toc, sizeof(ReplicaHeader));
	jr->shared = shm_toc_allocate(toc, collective);
	shm_toc_insert(toc, KEY_HEADER, h);
	shm_toc_insert(toc, KEY_COLLECTIVE, jr->shared);

	memset(h, 0, sizeof(*h));
	h->job_id = run->identity.job_id;
	h->database = run->identity.database;
	h->owner = run->identity.owner;
	h->leader_pid = MyProcPid;
	h->replicas = s->replicas;
	h->sync_batchnorm = s->sync_batchnorm;
	h->on_gpus = s->on_gpus;
	memcpy(h->gpus, s->gpus, sizeof(h->gpus));
	h->recipe = run->recipe.recipe;
	h->height = run->training.height;
	h->width = run->training.width;
	h->channels = run->training.channels;
	h->training_count = run->training.count;
	snprintf(h->data_path, sizeof(h->data_path), "%s/replicas.data", run->dir);
	h->resume = resume;
	snprintf(h->checkpoint_path, sizeof(h->checkpoint_path), "%s", checkpoint);
	pgs_collective_shm_init(jr->shared, s->replicas, slot);
	on_dsm_detach(jr->segment, abort_on_detach, PointerGetDatum(jr->shared));

	pgscreen_job_report(run, psprintf("starting %d replicas", s->replicas));
	pgs_error_clear(&err);
	if (s->on_gpus)
		pgscreen_check(pgscreen_loaded_cuda_module()->nccl_unique_id(h->nccl_id, &err), &err, "could not set up NCCL");
	pgscreen_check(pgs_data_cache_save(&run->training, h->data_path, &err), &err,
				   "could not share the training data with the replicas");
	for (int r = 1; r < s->replicas; r++)
		start_helper(jr, r);
	join_group(&jr->group, h, jr->shared, 0, pgscreen_device_ops(), leader_check, jr);
	replica_check(pgs_trainer_join(run->trainer, &jr->group, s->sync_batchnorm, &err), &err,
				  "could not join the replicas");
	replica_check(pgs_trainer_sync_replicas(run->trainer, &err), &err, "could not start the replicas");
	/* Every replica has opened the data file by now (it joined the broadcast); the file can go. */
	(void) unlink(h->data_path);
	ereport(LOG,
			(errmsg("pgscreen job " INT64_FORMAT " trains on %d %s replicas%s", run->identity.job_id, s->replicas,
					s->on_gpus ? "GPU" : "CPU", s->sync_batchnorm ? " with synchronised batch norm" : "")));
}

/* Tell every replica the epoch to train next, or 0: the job is done. */
void
pgscreen_job_replicas_epoch(JobRun *run, int epoch)
{
	JobReplicas *jr = run->replicas;
	int64		value = epoch;
	pgs_error	err;

	if (jr == NULL || jr->finished)
		return;
	pgs_error_clear(&err);
	replica_check(pgs_collective_share_int(&jr->group, &value, &err), &err, "could not reach the replicas");
	jr->finished = epoch == 0;
}

void
pgscreen_job_replicas_stop(JobRun *run)
{
	JobReplicas *jr = run->replicas;

	if (jr == NULL)
		return;
	run->replicas = NULL;
	if (!jr->finished)
		pgs_collective_abort(jr->shared, 0, PGS_ERR_CANCELLED, "the job stopped");
	for (int r = 1; r < PGSCREEN_MAX_REPLICAS; r++)
		if (jr->handles[r] != NULL)
		{
			if (!jr->finished)
				TerminateBackgroundWorker(jr->handles[r]);
			(void) WaitForBackgroundWorkerShutdown(jr->handles[r]);
		}
	if (jr->group.ctx != NULL)
		pgs_collective_shm_detach(&jr->group);
	if (jr->finished)
		cancel_on_dsm_detach(jr->segment, abort_on_detach, PointerGetDatum(jr->shared));
	dsm_detach(jr->segment);
	pfree(jr);
}

/* ---- the replica workers: replicas 1 … N − 1 ---- */

static pgs_status
helper_check(void *arg, pgs_error *err)
{
	const ReplicaHeader *h = arg;

	if (InterruptPending)
		return pgs_fail(err, PGS_ERR_DEVICE, ProcDiePending ? "the replica was terminated" : "the replica was interrupted");
	if (!PostmasterIsAlive())
		return pgs_fail(err, PGS_ERR_DEVICE, "the server stopped");
	if (kill(h->leader_pid, 0) != 0)
		return pgs_fail(err, PGS_ERR_DEVICE, "the job's worker exited");
	return PGS_OK;
}

static void
helper_train(ReplicaHeader *h, void *shared, int rank)
{
	pgs_data_cache training;
	pgs_trainer *trainer = NULL;
	pgs_trainer_progress progress = {0};
	pgs_collective group;
	pgs_train_step step;
	pgs_error	err;
	char		device[16];
	const pgs_ops *ops;
	int64		epoch;

	(void) set_config_option("pgscreen.device", replica_device(h, rank, device, sizeof(device)), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	ops = pgscreen_device_ops();
	pgscreen_configure_device(ops);
	pgs_error_clear(&err);
	pgscreen_check(pgs_data_cache_open_saved(&training, h->height, h->width, h->channels, h->training_count,
											 h->data_path, &err), &err, "could not open the shared training data");
	/* A replica never validates: the training data stand in for the validation set it is built with. */
	pgscreen_check(pgs_trainer_create(&h->recipe, ops, &training, &training, &trainer, &err), &err,
				   "could not set up training");
	if (h->resume)
		pgscreen_check(pgs_trainer_read_checkpoint(trainer, h->checkpoint_path, &progress, &err), &err,
					   "could not resume from the checkpoint");
	join_group(&group, h, shared, rank, ops, helper_check, h);
	replica_check(pgs_trainer_join(trainer, &group, h->sync_batchnorm, &err), &err, "could not join the replicas");
	replica_check(pgs_trainer_sync_replicas(trainer, &err), &err, "could not start");
	for (;;)
	{
		epoch = 0;
		replica_check(pgs_collective_share_int(&group, &epoch, &err), &err, "could not reach the job's worker");
		if (epoch <= 0)
			break;
		pgstat_report_activity(STATE_RUNNING, psprintf("pgscreen job " INT64_FORMAT " replica %d: epoch " INT64_FORMAT,
													   h->job_id, rank, epoch));
		pgscreen_check(pgs_trainer_begin_epoch(trainer, (int) epoch, &err), &err, "could not start the epoch");
		do
		{
			CHECK_FOR_INTERRUPTS();
			replica_check(pgs_trainer_train_step(trainer, &step, &err), &err, "could not train a batch");
		} while (!step.epoch_done);
	}
	pgs_collective_shm_detach(&group);
	pgs_trainer_free(trainer);
	pgs_data_cache_free(&training);
}

void
pgscreen_replica_main(Datum arg)
{
	dsm_segment *segment;
	shm_toc    *toc;
	ReplicaHeader *h;
	void	   *shared;
	int			rank;
	MemoryContext context;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	memcpy(&rank, MyBgworkerEntry->bgw_extra, sizeof(int));
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pgscreen replica");
	context = AllocSetContextCreate(TopMemoryContext, "pgscreen replica", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(context);
	segment = dsm_attach(DatumGetUInt32(arg));
	if (segment == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the shared memory of the training job")));
	toc = shm_toc_attach(REPLICAS_MAGIC, dsm_segment_address(segment));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the training job's shared memory is invalid")));
	h = shm_toc_lookup(toc, KEY_HEADER, false);
	shared = shm_toc_lookup(toc, KEY_COLLECTIVE, false);
	on_dsm_detach(segment, abort_on_detach, PointerGetDatum(shared));
	BackgroundWorkerInitializeConnectionByOid(h->database, h->owner, 0);
	pgstat_report_appname(psprintf("pgscreen job " INT64_FORMAT " replica %d", h->job_id, rank));

	PG_TRY();
	{
		helper_train(h, shared, rank);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* The group learns why before this worker exits, so the job fails with the reason. */
		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		pgs_collective_abort(shared, rank, edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? PGS_ERR_CANCELLED :
							 PGS_ERR_DEVICE, edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cancel_on_dsm_detach(segment, abort_on_detach, PointerGetDatum(shared));
	dsm_detach(segment);
	proc_exit(0);
}
