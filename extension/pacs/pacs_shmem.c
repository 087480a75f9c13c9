/* Shared memory of the PACS code: one activity row per process (screen.pacs_activity) and C-MOVE routing mailboxes. */
#include "pacs.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pgscreen_pacs_activity);

/*
 * Rows are indexed by pgprocno, so a process writes only its own row and needs no allocation; a spinlock
 * per row keeps readers consistent. A C-MOVE retrieval also publishes a route: the AE title it calls from
 * and the message ID of its C-MOVE request, which the PACS copies into every C-STORE sub-operation (Move
 * Originator AE Title / ID). A receiver worker that gets such a C-STORE finds the route, offers the
 * instance through the row's mailbox (a DSM segment holding a shm_mq), and answers the PACS with the status
 * the retrieving session puts back. A finished route stays as a tombstone for a while, so that late
 * sub-operations of a cancelled retrieval are refused rather than stored elsewhere.
 */
typedef enum RouteState
{
	ROUTE_NONE = 0,
	ROUTE_OPEN,
	ROUTE_ENDED
} RouteState;

typedef enum MailState
{
	MAIL_EMPTY = 0,
	MAIL_OFFERED,				/* a receiver put a segment handle here and waits */
	MAIL_TAKEN,					/* the retrieving session attached and is storing */
	MAIL_ANSWERED				/* status and comment are set; the receiver empties the box */
} MailState;

#define ROUTE_TOMBSTONE_SECONDS 60

typedef struct PacsSlot
{
	slock_t		mutex;
	PacsActivityKind kind;
	int			pid;
	Oid			roleid;
	TimestampTz started_at;
	TimestampTz last_activity;
	char		state[32];
	char		peer[128];
	char		last_error[192];
	int64		counters[PACS_NUM_COUNTERS];
	int32		remaining;

	RouteState	route;
	char		route_aet[PGS_AET_MAX + 1];
	uint16		route_message_id;
	TimestampTz route_ended_at;

	MailState	mail;
	dsm_handle	mail_segment;
	PGPROC	   *mail_sender;
	uint16		mail_status;
	char		mail_comment[64];
} PacsSlot;

typedef struct PacsShared
{
	slock_t		mutex;			/* guards next_message_id */
	uint16		next_message_id;
	int			nslots;
	PacsSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} PacsShared;

static PacsShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool exit_callback_registered = false;

static Size
shared_size(void)
{
	return add_size(offsetof(PacsShared, slots), mul_size(MaxBackends, sizeof(PacsSlot)));
}

static void
request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
}

static void
startup_hook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("pgscreen pacs", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, shared_size());
		SpinLockInit(&shared->mutex);
		shared->next_message_id = 1;
		shared->nslots = MaxBackends;
		for (int i = 0; i < shared->nslots; i++)
			SpinLockInit(&shared->slots[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
pacs_shmem_request(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_hook;
}

static PacsSlot *
my_slot(void)
{
	if (shared == NULL || MyProc == NULL || MyProc->pgprocno >= shared->nslots)
		return NULL;
	return &shared->slots[MyProc->pgprocno];
}

/* A process that exits mid-retrieval (FATAL, terminate) must not leave its row or route behind. */
static void
clear_on_exit(int code, Datum arg)
{
	pacs_activity_end();
}

void
pacs_activity_begin(PacsActivityKind kind, const char *peer)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	if (!exit_callback_registered)
	{
		before_shmem_exit(clear_on_exit, (Datum) 0);
		exit_callback_registered = true;
	}
	SpinLockAcquire(&slot->mutex);
	slot->kind = kind;
	slot->pid = MyProcPid;
	slot->roleid = GetUserId();
	slot->started_at = slot->last_activity = GetCurrentTimestamp();
	strlcpy(slot->state, "starting", sizeof(slot->state));
	strlcpy(slot->peer, peer ? peer : "", sizeof(slot->peer));
	slot->last_error[0] = '\0';
	memset(slot->counters, 0, sizeof(slot->counters));
	slot->remaining = -1;
	SpinLockRelease(&slot->mutex);
}

void
pacs_activity_state(const char *state, const char *peer)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	strlcpy(slot->state, state, sizeof(slot->state));
	if (peer != NULL)
		strlcpy(slot->peer, peer, sizeof(slot->peer));
	slot->last_activity = GetCurrentTimestamp();
	SpinLockRelease(&slot->mutex);
}

void
pacs_activity_count(PacsCounter counter, int64 delta)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->counters[counter] += delta;
	slot->last_activity = GetCurrentTimestamp();
	SpinLockRelease(&slot->mutex);
}

void
pacs_activity_remaining(int remaining)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->remaining = remaining;
	SpinLockRelease(&slot->mutex);
}

void
pacs_activity_error(const char *message)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	strlcpy(slot->last_error, message, sizeof(slot->last_error));
	SpinLockRelease(&slot->mutex);
}

void
pacs_activity_end(void)
{
	PacsSlot   *slot = my_slot();
	PGPROC	   *waiting = NULL;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->kind = PACS_ACTIVITY_NONE;
	if (slot->route == ROUTE_OPEN)
	{
		slot->route = ROUTE_ENDED;
		slot->route_ended_at = GetCurrentTimestamp();
	}
	/* a receiver waiting on our mailbox learns that nobody will answer */
	if (slot->mail == MAIL_OFFERED || slot->mail == MAIL_TAKEN)
	{
		slot->mail = MAIL_ANSWERED;
		slot->mail_status = PGS_DIMSE_OUT_OF_RESOURCES;
		strlcpy(slot->mail_comment, "the retrieving session stopped", sizeof(slot->mail_comment));
		waiting = slot->mail_sender;
	}
	SpinLockRelease(&slot->mutex);
	if (waiting)
		SetLatch(&waiting->procLatch);
}

int
pacs_receivers_running(void)
{
	int			n = 0;

	if (shared == NULL)
		return 0;
	for (int i = 0; i < shared->nslots; i++)
	{
		PacsSlot   *slot = &shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->kind == PACS_ACTIVITY_RECEIVER)
			n++;
		SpinLockRelease(&slot->mutex);
	}
	return n;
}

uint16
pacs_route_open(const char *originator_aet)
{
	PacsSlot   *slot = my_slot();
	uint16		id = 0;

	if (slot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("C-MOVE retrieval needs pgscreen in shared_preload_libraries")));
	/* an ID no open or recently ended route of this AE title uses */
	for (int attempt = 0; attempt < 65535 && id == 0; attempt++)
	{
		uint16		candidate;
		bool		taken = false;

		SpinLockAcquire(&shared->mutex);
		candidate = shared->next_message_id++;
		if (shared->next_message_id == 0)
			shared->next_message_id = 1;
		SpinLockRelease(&shared->mutex);
		if (candidate == 0)
			continue;
		for (int i = 0; i < shared->nslots && !taken; i++)
		{
			PacsSlot   *other = &shared->slots[i];

			SpinLockAcquire(&other->mutex);
			taken = other->route != ROUTE_NONE && other->route_message_id == candidate &&
				strcmp(other->route_aet, originator_aet) == 0;
			SpinLockRelease(&other->mutex);
		}
		if (!taken)
			id = candidate;
	}
	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no free C-MOVE message ID for AE title \"%s\"", originator_aet)));
	SpinLockAcquire(&slot->mutex);
	slot->route = ROUTE_OPEN;
	strlcpy(slot->route_aet, originator_aet, sizeof(slot->route_aet));
	slot->route_message_id = id;
	slot->mail = MAIL_EMPTY;
	SpinLockRelease(&slot->mutex);
	return id;
}

void
pacs_route_close(void)
{
	PacsSlot   *slot = my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	if (slot->route == ROUTE_OPEN)
	{
		slot->route = ROUTE_ENDED;
		slot->route_ended_at = GetCurrentTimestamp();
	}
	SpinLockRelease(&slot->mutex);
}

bool
pacs_mail_offered(void *unused)
{
	PacsSlot   *slot = my_slot();
	bool		offered;

	if (slot == NULL)
		return false;
	SpinLockAcquire(&slot->mutex);
	offered = slot->route == ROUTE_OPEN && slot->mail == MAIL_OFFERED;
	SpinLockRelease(&slot->mutex);
	return offered;
}

bool
pacs_mail_take(dsm_handle *segment)
{
	PacsSlot   *slot = my_slot();
	bool		offered = false;

	if (slot == NULL)
		return false;
	SpinLockAcquire(&slot->mutex);
	if (slot->route == ROUTE_OPEN && slot->mail == MAIL_OFFERED)
	{
		slot->mail = MAIL_TAKEN;
		*segment = slot->mail_segment;
		offered = true;
	}
	SpinLockRelease(&slot->mutex);
	return offered;
}

void
pacs_mail_answer(uint16 status, const char *comment)
{
	PacsSlot   *slot = my_slot();
	PGPROC	   *sender = NULL;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	if (slot->mail == MAIL_TAKEN)
	{
		slot->mail = MAIL_ANSWERED;
		slot->mail_status = status;
		strlcpy(slot->mail_comment, comment ? comment : "", sizeof(slot->mail_comment));
		sender = slot->mail_sender;
	}
	SpinLockRelease(&slot->mutex);
	if (sender)
		SetLatch(&sender->procLatch);
}

int
pacs_route_find(const char *originator_aet, int message_id, bool *ended)
{
	TimestampTz now = GetCurrentTimestamp();
	int			found = -1;

	*ended = false;
	if (shared == NULL || message_id < 0)
		return -1;
	for (int i = 0; i < shared->nslots && found < 0; i++)
	{
		PacsSlot   *slot = &shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->route != ROUTE_NONE && slot->route_message_id == (uint16) message_id &&
			strcmp(slot->route_aet, originator_aet) == 0)
		{
			if (slot->route == ROUTE_OPEN)
				found = i;
			else if (!TimestampDifferenceExceeds(slot->route_ended_at, now, ROUTE_TOMBSTONE_SECONDS * 1000))
				*ended = true;
		}
		SpinLockRelease(&slot->mutex);
	}
	return found;
}

bool
pacs_mail_offer(int index, const char *originator_aet, int message_id, dsm_handle segment)
{
	PacsSlot   *slot = &shared->slots[index];
	PGPROC	   *owner = NULL;
	bool		offered = false;

	SpinLockAcquire(&slot->mutex);
	if (slot->route == ROUTE_OPEN && slot->route_message_id == (uint16) message_id &&
		strcmp(slot->route_aet, originator_aet) == 0 && slot->mail == MAIL_EMPTY)
	{
		slot->mail = MAIL_OFFERED;
		slot->mail_segment = segment;
		slot->mail_sender = MyProc;
		slot->mail_status = 0;
		slot->mail_comment[0] = '\0';
		owner = &ProcGlobal->allProcs[index];
		offered = true;
	}
	SpinLockRelease(&slot->mutex);
	if (owner)
		SetLatch(&owner->procLatch);
	return offered;
}

int
pacs_mail_poll(int index, uint16 *status, char *comment, size_t comment_size)
{
	PacsSlot   *slot = &shared->slots[index];
	int			result;

	SpinLockAcquire(&slot->mutex);
	if (slot->mail_sender != MyProc)
		result = -1;
	else if (slot->mail == MAIL_ANSWERED)
	{
		*status = slot->mail_status;
		strlcpy(comment, slot->mail_comment, comment_size);
		result = 1;
	}
	else
		result = slot->route == ROUTE_OPEN ? 0 : -1;
	SpinLockRelease(&slot->mutex);
	return result;
}

void
pacs_mail_withdraw(int index)
{
	PacsSlot   *slot = &shared->slots[index];

	SpinLockAcquire(&slot->mutex);
	if (slot->mail_sender == MyProc)
	{
		slot->mail = MAIL_EMPTY;
		slot->mail_sender = NULL;
	}
	SpinLockRelease(&slot->mutex);
}

static const char *
kind_name(PacsActivityKind kind)
{
	return kind == PACS_ACTIVITY_RECEIVER ? "receiver" : "retrieve";
}

Datum
pgscreen_pacs_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("screen.pacs_activity needs pgscreen in shared_preload_libraries")));
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < shared->nslots; i++)
	{
		PacsSlot	copy;
		Datum		values[16];
		bool		nulls[16] = {false};
		bool		details;

		SpinLockAcquire(&shared->slots[i].mutex);
		memcpy(&copy, &shared->slots[i], sizeof(copy));
		SpinLockRelease(&shared->slots[i].mutex);
		if (copy.kind == PACS_ACTIVITY_NONE)
			continue;
		/* as pg_stat_activity: what another role talks to is not everybody's business, the counts are */
		details = see_all || has_privs_of_role(GetUserId(), copy.roleid);
		values[0] = Int32GetDatum(copy.pid);
		values[1] = CStringGetTextDatum(kind_name(copy.kind));
		values[2] = ObjectIdGetDatum(copy.roleid);
		values[3] = CStringGetTextDatum(copy.state);
		values[4] = CStringGetTextDatum(copy.peer);
		nulls[4] = !details || copy.peer[0] == '\0';
		values[5] = TimestampTzGetDatum(copy.started_at);
		values[6] = TimestampTzGetDatum(copy.last_activity);
		values[7] = Int64GetDatum(copy.counters[PACS_COUNT_STORED]);
		values[8] = Int64GetDatum(copy.counters[PACS_COUNT_DUPLICATES]);
		values[9] = Int64GetDatum(copy.counters[PACS_COUNT_QUARANTINED]);
		values[10] = Int64GetDatum(copy.counters[PACS_COUNT_FAILED]);
		values[11] = Int64GetDatum(copy.counters[PACS_COUNT_BYTES]);
		values[12] = Int32GetDatum(copy.remaining);
		nulls[12] = copy.remaining < 0;
		values[13] = Int64GetDatum(copy.counters[PACS_COUNT_ASSOCIATIONS]);
		values[14] = Int64GetDatum(copy.counters[PACS_COUNT_REFUSED]);
		values[15] = CStringGetTextDatum(copy.last_error);
		nulls[15] = !details || copy.last_error[0] == '\0';
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
