/* pacs_retrieve: C-GET (or C-MOVE through pgscreen's receiver) into a table, de-identifying and de-duplicating on the way in. */
#include "pacs.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/shm_mq.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include <limits.h>

PG_FUNCTION_INFO_V1(pgscreen_pacs_retrieve);

#define MAX_REASONS 8

/* A batch is inserted when it holds batch_size instances or this many bytes, whichever comes first. */
#define BATCH_MAX_BYTES (64 * 1024 * 1024)

/* An instance received and answered, waiting for its batch to be inserted. */
typedef struct PendingInstance
{
	bytea	   *dcm;
	pgs_net_uids uids;
} PendingInstance;

/* The counters of a retrieval, saved before a batch so that a batch rolled back is counted again. */
typedef struct Tally
{
	int64		counts[PACS_NUM_COUNTERS];
	int64		skipped;
	int64		processed;
	int64		next_progress;
	int			remaining;
	int			nreasons;
	int64		reason_counts[MAX_REASONS];
} Tally;

typedef struct Retrieval
{
	PacsTarget	target;
	const char *source_aet;		/* the PACS, recorded in source_aet */
	const char *peer;
	MemoryContext instance_context;
	int64		counts[PACS_NUM_COUNTERS];
	int64		skipped;
	int64		processed;
	int64		next_progress;
	int			progress_every;
	int			remaining;		/* instances still to come: from the plan, else as the PACS counts */
	int64		expected;		/* instances the plan expects, -1 when unknown */
	int			pacs_failed;	/* sub-operations the PACS counted as failed, over all requests */
	int			nreasons;
	char	   *reasons[MAX_REASONS];
	int64		reason_counts[MAX_REASONS];
	bool		use_move;
	uint16		message_id;		/* of every C-MOVE of this retrieval */
	int			nlanes;
	int			requests;
	int			batch_size;
	PendingInstance *pending;
	int			npending;
	Size		pending_bytes;
	MemoryContext batch_context;	/* the pending instances; reset when they are inserted */
} Retrieval;

static void
count(Retrieval *r, PacsCounter counter, int64 delta)
{
	r->counts[counter] += delta;
	pacs_activity_count(counter, delta);
}

static void
note_reason(Retrieval *r, const char *reason)
{
	for (int i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i], reason) == 0)
		{
			r->reason_counts[i]++;
			return;
		}
	if (r->nreasons < MAX_REASONS)
	{
		r->reasons[r->nreasons] = MemoryContextStrdup(TopTransactionContext, reason);
		r->reason_counts[r->nreasons++] = 1;
	}
}

static void
report_progress(Retrieval *r)
{
	r->processed++;
	if (r->expected >= 0)
	{
		r->remaining = (int) Max(r->expected - r->processed, 0);
		pacs_activity_remaining(r->remaining);
	}
	if (r->processed < r->next_progress)
		return;
	r->next_progress += r->progress_every;
	if (r->remaining >= 0)
		ereport(NOTICE,
				(errmsg("pacs_retrieve: %lld instances received, %lld stored, about %d to go",
						(long long) r->processed, (long long) r->counts[PACS_COUNT_STORED], r->remaining)));
	else
		ereport(NOTICE,
				(errmsg("pacs_retrieve: %lld instances received, %lld stored",
						(long long) r->processed, (long long) r->counts[PACS_COUNT_STORED])));
}

/*
 * Run fn(arg) in a subtransaction, in memory context work. An error rolls the subtransaction back and is
 * returned (copied into work), so that one instance or one listing can fail without the retrieval; a cancel
 * is never swallowed. NULL when fn succeeded.
 */
static ErrorData *
in_subtransaction(void (*fn) (void *), void *arg, MemoryContext work)
{
	MemoryContext old = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(work);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	CurrentResourceOwner = oldowner;
	if (edata != NULL && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(edata);
	return edata;
}

static void
tally_outcome(Retrieval *r, PacsOutcome outcome, const char *reason, bytea *dcm)
{
	switch (outcome)
	{
		case PACS_STORED:
			count(r, PACS_COUNT_STORED, 1);
			count(r, PACS_COUNT_BYTES, VARSIZE_ANY_EXHDR(dcm));
			break;
		case PACS_DUPLICATE:
			count(r, PACS_COUNT_DUPLICATES, 1);
			break;
		case PACS_QUARANTINED:
			count(r, PACS_COUNT_QUARANTINED, 1);
			note_reason(r, reason);
			break;
		case PACS_SKIPPED:
			r->skipped++;
			note_reason(r, reason);
			break;
	}
	report_progress(r);
}

static void
tally_save(const Retrieval *r, Tally *t)
{
	memcpy(t->counts, r->counts, sizeof(t->counts));
	t->skipped = r->skipped;
	t->processed = r->processed;
	t->next_progress = r->next_progress;
	t->remaining = r->remaining;
	t->nreasons = r->nreasons;
	memcpy(t->reason_counts, r->reason_counts, sizeof(t->reason_counts));
}

/* Back to the counts before a batch that was rolled back, in pacs_activity too. */
static void
tally_restore(Retrieval *r, const Tally *t)
{
	for (int c = 0; c < PACS_NUM_COUNTERS; c++)
		count(r, c, t->counts[c] - r->counts[c]);
	r->skipped = t->skipped;
	r->processed = t->processed;
	r->next_progress = t->next_progress;
	r->remaining = t->remaining;
	pacs_activity_remaining(r->remaining);
	r->nreasons = t->nreasons;
	memcpy(r->reason_counts, t->reason_counts, sizeof(r->reason_counts));
}

typedef struct StoreCall
{
	Retrieval  *r;
	bytea	   *dcm;
	const pgs_net_uids *uids;
	PacsOutcome outcome;
	char	   *reason;
} StoreCall;

static void
store_call(void *arg)
{
	StoreCall  *c = arg;

	c->outcome = pacs_target_store(&c->r->target, c->dcm, c->uids, c->r->source_aet, &c->reason);
}

/*
 * Store one instance in a subtransaction, so that an instance the de-identification or the INSERT rejects
 * is answered with a failure and counted, and the rest carries on. Returns the C-STORE status for the PACS.
 */
static uint16
store_instance(Retrieval *r, bytea *dcm, const pgs_net_uids *uids, char *comment, size_t comment_size)
{
	StoreCall	call = {r, dcm, uids, PACS_STORED, NULL};
	ErrorData  *edata;

	comment[0] = '\0';
	edata = in_subtransaction(store_call, &call, r->instance_context);
	if (edata != NULL)
	{
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("pacs_retrieve could not store an instance from %s: %s", r->peer, edata->message)));
		count(r, PACS_COUNT_FAILED, 1);
		pacs_activity_error(edata->message);
		strlcpy(comment, edata->message, comment_size);
		report_progress(r);
		return PGS_DIMSE_OUT_OF_RESOURCES;
	}
	tally_outcome(r, call.outcome, call.reason, dcm);
	/* The PACS keeps its copy either way: a quarantined or skipped instance was received, not lost. */
	return PGS_DIMSE_SUCCESS;
}

/* An instance the kernel read but could not accept (too large, unparsable): refused and counted. */
static uint16
refuse_instance(Retrieval *r, const pgs_net_event *ev)
{
	ereport(WARNING,
			(errmsg("pacs_retrieve refused an instance from %s: %s", r->peer, ev->refused_reason)));
	count(r, PACS_COUNT_FAILED, 1);
	report_progress(r);
	return ev->refused_status;
}

/* Hold a received instance for the next batch (its bytes live in batch_context until then). */
static void
add_pending(Retrieval *r, bytea *dcm, const pgs_net_uids *uids)
{
	PendingInstance *p = &r->pending[r->npending++];

	p->dcm = dcm;
	p->uids = *uids;
	r->pending_bytes += VARSIZE_ANY(dcm);
}

static bool
batch_full(const Retrieval *r)
{
	return r->npending >= r->batch_size || r->pending_bytes >= BATCH_MAX_BYTES;
}

static void
store_batch_call(void *arg)
{
	Retrieval  *r = arg;

	for (int i = 0; i < r->npending; i++)
	{
		PendingInstance *p = &r->pending[i];
		char	   *reason;
		PacsOutcome outcome = pacs_target_store(&r->target, p->dcm, &p->uids, r->source_aet, &reason);

		tally_outcome(r, outcome, reason, p->dcm);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Insert the pending instances in one subtransaction. When one of them fails, the batch is rolled back and
 * its instances are stored one by one, each in its own subtransaction, so that only the failing one is
 * counted as failed.
 */
static void
flush_pending(Retrieval *r)
{
	Tally		before;
	char		comment[64];

	if (r->npending == 0)
		return;
	MemoryContextReset(r->instance_context);
	tally_save(r, &before);
	if (in_subtransaction(store_batch_call, r, r->instance_context) != NULL)
	{
		tally_restore(r, &before);
		for (int i = 0; i < r->npending; i++)
			(void) store_instance(r, r->pending[i].dcm, &r->pending[i].uids, comment, sizeof(comment));
	}
	r->npending = 0;
	r->pending_bytes = 0;
	MemoryContextReset(r->batch_context);
	MemoryContextReset(r->instance_context);
}

static void
check_final_status(Retrieval *r, const pgs_net_event *ev, const char *operation)
{
	char		status[80];

	if (ev->failed > 0)
		r->pacs_failed += ev->failed;
	if (ev->status == PGS_DIMSE_SUCCESS || (ev->status & 0xF000) == 0xB000)
		return;
	pgs_net_status_text(ev->status, status, sizeof(status));
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s at %s failed with status %s", operation, r->peer, status),
			 ev->error_comment[0] ? errdetail("The PACS says: %s", ev->error_comment) : 0,
			 ev->status == 0xA801 ?
			 errhint("The PACS must know AE title \"%s\" as this server's address and pgscreen.scp_port.", scp_aet) : 0));
}

/* A received C-STORE of a C-GET: stored before it is answered (batch_size 1), or answered and batched. */
static void
receive_get_instance(Retrieval *r, PacsAssoc *pa, pgs_net_event *ev)
{
	pgs_error	err;
	uint16		status = PGS_DIMSE_SUCCESS;
	char		comment[64];

	comment[0] = '\0';
	pgs_error_clear(&err);
	if (ev->data == NULL)
		status = refuse_instance(r, ev);
	else if (r->batch_size == 1)
		status = store_instance(r, pacs_bytea_result(ev->data, ev->len), &ev->uids, comment, sizeof(comment));
	else
		add_pending(r, pacs_bytea_result(ev->data, ev->len), &ev->uids);
	pacs_check(pgs_net_store_reply(pa->assoc, status, comment[0] ? comment : ev->refused_reason, &err), &err,
			   "could not answer a C-STORE sub-operation");
}

/* A receiver worker offered an instance of our C-MOVE: take it through the shm_mq, store or batch it, answer. */
static void
take_delivery(Retrieval *r)
{
	dsm_handle	handle;
	dsm_segment *segment;
	shm_mq_handle *mqh;
	shm_mq_result res;
	Size		nbytes;
	void	   *data;
	bytea	   *dcm;
	pgs_net_uids uids;
	uint16		status;
	char		comment[64];

	if (!pacs_mail_take(&handle))
		return;
	if (r->batch_size == 1)
		MemoryContextReset(r->instance_context);
	segment = dsm_attach(handle);
	if (segment == NULL)
	{
		pacs_mail_answer(PGS_DIMSE_OUT_OF_RESOURCES, "the delivery segment was gone");
		return;
	}
	shm_mq_set_receiver(dsm_segment_address(segment), MyProc);
	mqh = shm_mq_attach(dsm_segment_address(segment), segment, NULL);
	res = shm_mq_receive(mqh, &nbytes, &data, false);
	if (res != SHM_MQ_SUCCESS || nbytes < sizeof(pgs_net_uids))
	{
		dsm_detach(segment);
		pacs_mail_answer(PGS_DIMSE_OUT_OF_RESOURCES, "the delivery broke off");
		count(r, PACS_COUNT_FAILED, 1);
		return;
	}
	/* the receiver sends the identifiers it read, then the instance */
	memcpy(&uids, data, sizeof(uids));
	nbytes -= sizeof(uids);
	dcm = MemoryContextAlloc(r->batch_size == 1 ? r->instance_context : r->batch_context, nbytes + VARHDRSZ);
	SET_VARSIZE(dcm, nbytes + VARHDRSZ);
	memcpy(VARDATA(dcm), (char *) data + sizeof(uids), nbytes);
	dsm_detach(segment);
	if (r->batch_size > 1)
	{
		pacs_mail_answer(PGS_DIMSE_SUCCESS, "");
		add_pending(r, dcm, &uids);
		return;
	}
	status = store_instance(r, dcm, &uids, comment, sizeof(comment));
	pacs_mail_answer(status, comment);
}

/* One association of a retrieval and the requests it sends, one after the other. */
typedef struct Lane
{
	PacsAssoc  *pa;				/* NULL once its requests are done and it is released */
	List	   *items;			/* RetrieveItem */
	int			next;
	pgs_qr_model model;
} Lane;

typedef struct RetrieveItem RetrieveItem;
static pgs_net_query *item_query(RetrieveItem *item, pgs_qr_model model);

/* Send the lane's next request, or release its association when it has none left. */
static void
lane_start_next(Retrieval *r, Lane *lane)
{
	pgs_error	err;
	pgs_net_query *q;

	if (lane->next >= list_length(lane->items))
	{
		pacs_close(lane->pa);
		lane->pa = NULL;
		return;
	}
	q = item_query(list_nth(lane->items, lane->next++), lane->model);
	pgs_error_clear(&err);
	if (r->use_move)
		pacs_check(pgs_net_move_start(lane->pa->assoc, q, scp_aet, r->message_id, &err), &err,
				   "could not send the C-MOVE request");
	else
		pacs_check(pgs_net_get_start(lane->pa->assoc, q, &err), &err, "could not send the C-GET request");
	r->requests++;
}

static void
lane_event(Retrieval *r, Lane *lane)
{
	pgs_net_event ev;
	MemoryContext old;

	if (r->batch_size == 1)
		MemoryContextReset(r->instance_context);
	old = MemoryContextSwitchTo(r->batch_size == 1 ? r->instance_context : r->batch_context);
	pacs_next(lane->pa, &ev, r->use_move ? "C-MOVE failed" : "C-GET failed");
	MemoryContextSwitchTo(old);
	switch (ev.kind)
	{
		case PGS_NET_EVENT_DONE:
			check_final_status(r, &ev, r->use_move ? "C-MOVE" : "C-GET");
			lane_start_next(r, lane);
			break;
		case PGS_NET_EVENT_PROGRESS:
			/* the PACS counts per request: only meaningful when one request runs at a time */
			if (r->expected < 0 && r->nlanes == 1)
			{
				r->remaining = ev.remaining;
				pacs_activity_remaining(ev.remaining);
			}
			break;
		case PGS_NET_EVENT_INSTANCE:
			if (!r->use_move)
				receive_get_instance(r, lane->pa, &ev);
			break;
		default:
			break;
	}
}

/*
 * Run every lane's requests at once, serving whichever association (or, for C-MOVE, the receiver's
 * delivery) has something, and insert the batches as they fill.
 */
static void
run_lanes(Retrieval *r, Lane *lanes)
{
	PacsAssoc  *pas[PACS_MAX_PARALLEL];
	TimestampTz idle[PACS_MAX_PARALLEL];

	for (int i = 0; i < r->nlanes; i++)
	{
		idle[i] = GetCurrentTimestamp();
		lane_start_next(r, &lanes[i]);
	}
	for (;;)
	{
		int			active = 0;
		int			ready;

		for (int i = 0; i < r->nlanes; i++)
			if ((pas[i] = lanes[i].pa) != NULL)
				active++;
		if (active == 0)
			break;
		ready = pacs_wait_any(pas, idle, r->nlanes, r->use_move ? pacs_mail_offered : NULL, NULL);
		if (ready < 0)
			take_delivery(r);
		else
			lane_event(r, &lanes[ready]);
		if (batch_full(r))
		{
			flush_pending(r);
			/* the PACS was not read while the batch was inserted: that time is not its silence */
			for (int i = 0; i < r->nlanes; i++)
				idle[i] = GetCurrentTimestamp();
		}
	}
	flush_pending(r);
}

static bool
has_wildcard(const char *value)
{
	return strpbrk(value, "*?") != NULL;
}

/* One C-GET/C-MOVE request: the unique keys of what it retrieves, at a level. */
struct RetrieveItem
{
	int			level;
	List	   *keys;			/* PacsQueryKey */
};

static pgs_net_query *
item_query(RetrieveItem *item, pgs_qr_model model)
{
	return pacs_build_query(item->level, item->keys, false, model);
}

/* An instance as an IMAGE-level C-FIND lists it. */
typedef struct ProbedInstance
{
	char	   *patient_id;
	char	   *study;
	char	   *series;
	char	   *sop;
	char	   *sop_class;
	char	   *transfer_syntax;	/* NULL when the PACS does not say */
} ProbedInstance;

typedef struct RetrievePlan
{
	List	   *items;			/* RetrieveItem */
	List	   *storage;		/* pgs_net_storage, distinct (class, syntax) pairs, for a C-GET */
	bool		listing_incomplete; /* some item's instances could not be listed: propose the defaults */
	int64		expected;
	int64		excluded;
	List	   *excluded_classes;	/* char *, distinct */
	int			empty;			/* items the PACS lists no instance for */
	List	   *requested;		/* ProbedInstance: what per-instance requests ask for (parallel, resume) */
	int64		present;		/* listed instances the table holds already (resume) */
	bool		classes_unknown;	/* some instances were listed by UID alone: propose the defaults */
} RetrievePlan;

static RetrieveItem *
make_item(int level, List *keys)
{
	RetrieveItem *item = palloc(sizeof(RetrieveItem));

	item->level = level;
	item->keys = keys;
	return item;
}

static List *
add_key(List *keys, const char *key, const char *value)
{
	PacsQueryKey *k = palloc(sizeof(PacsQueryKey));

	k->key = pstrdup(key);
	k->value = value ? pstrdup(value) : NULL;
	return lappend(keys, k);
}

/*
 * The level a query retrieves directly, or -1 when it holds anything but unique keys (then the matches of a
 * C-FIND are retrieved one by one).
 */
static int
direct_level(List *keys)
{
	int			level = -1;
	ListCell   *lc;

	foreach(lc, keys)
	{
		PacsQueryKey *k = lfirst(lc);
		int			key_level;

		if (k->value == NULL || *k->value == '\0' || has_wildcard(k->value))
			return -1;
		if (strcmp(k->key, "PatientID") == 0)
			key_level = PGS_QR_PATIENT;
		else if (strcmp(k->key, "StudyInstanceUID") == 0)
			key_level = PGS_QR_STUDY;
		else if (strcmp(k->key, "SeriesInstanceUID") == 0)
			key_level = PGS_QR_SERIES;
		else if (strcmp(k->key, "SOPInstanceUID") == 0)
			key_level = PGS_QR_IMAGE;
		else
			return -1;
		level = Max(level, key_level);
	}
	return level;
}

/* The unique keys that retrieve one match (or probed instance) at a level, in the chosen model. */
static List *
unique_keys(int level, pgs_qr_model model, const char *patient_id, const char *study, const char *series,
			const char *sop)
{
	List	   *keys = NIL;

	if (model == PGS_QR_MODEL_PATIENT || level == PGS_QR_PATIENT)
		keys = add_key(keys, "PatientID", patient_id);
	if (level >= PGS_QR_STUDY)
		keys = add_key(keys, "StudyInstanceUID", study);
	if (level >= PGS_QR_SERIES)
		keys = add_key(keys, "SeriesInstanceUID", series);
	if (level >= PGS_QR_IMAGE)
		keys = add_key(keys, "SOPInstanceUID", sop);
	return keys;
}

typedef struct MatchList
{
	int			level;
	pgs_qr_model model;
	List	   *items;
	MemoryContext context;
	int			unusable;
} MatchList;

static void
collect_match(pgs_net_event *ev, void *arg)
{
	MatchList  *m = arg;
	MemoryContext old = MemoryContextSwitchTo(m->context);
	pgs_net_uids *u = &ev->uids;
	bool		ok = u->study_instance_uid[0] != '\0' || m->level == PGS_QR_PATIENT;

	if (m->model == PGS_QR_MODEL_PATIENT || m->level == PGS_QR_PATIENT)
		ok &= u->patient_id[0] != '\0';
	if (m->level >= PGS_QR_SERIES)
		ok &= u->series_instance_uid[0] != '\0';
	if (m->level >= PGS_QR_IMAGE)
		ok &= u->sop_instance_uid[0] != '\0';
	if (ok)
		m->items = lappend(m->items, make_item(m->level, unique_keys(m->level, m->model, u->patient_id,
																	 u->study_instance_uid,
																	 u->series_instance_uid,
																	 u->sop_instance_uid)));
	else
		m->unusable++;
	MemoryContextSwitchTo(old);
}

/* What to retrieve: the query itself when it names unique keys only, else the matches of a C-FIND. */
static List *
query_items(const char *host, int port, const char *called_aet, PacsOptions *opts, List *keys)
{
	int			level = direct_level(keys);
	MatchList	m;
	PacsOptions find_opts;

	if (opts->level >= 0 && level >= 0 && opts->level != level)
		level = -1;				/* retrieve at another level than the keys name: find first */
	if (level == PGS_QR_PATIENT || (level < 0 && opts->level == PGS_QR_PATIENT))
	{
		if (opts->model_given && opts->model == PGS_QR_MODEL_STUDY)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the study-root model has no PATIENT level"),
					 errhint("Retrieve by StudyInstanceUID, or use options {\"model\": \"patient\"}.")));
		opts->model = PGS_QR_MODEL_PATIENT;
	}
	if (level >= 0)
	{
		opts->level = level;
		return list_make1(make_item(level, keys));
	}
	if (list_length(keys) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pacs_retrieve needs a query"),
				 errhint("Name the studies, e.g. {\"StudyInstanceUID\": \"1.2.3\"} or {\"ModalitiesInStudy\": \"MG\", \"StudyDate\": \"20180101-20181231\"}.")));
	m.level = opts->level >= 0 ? opts->level : PGS_QR_STUDY;
	m.model = opts->model;
	m.items = NIL;
	m.context = CurrentMemoryContext;
	m.unusable = 0;
	opts->level = m.level;
	find_opts = *opts;
	find_opts.model_given = true;
	if (pacs_run_find(host, port, called_aet, &find_opts, m.level, list_copy(keys), true, collect_match, &m))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("pacs_retrieve retrieves the first %lld matches of the query; %s:%d has more",
						(long long) opts->limit, host, port),
				 errhint("Narrow the query, or raise options.limit or pgscreen.pacs_find_limit.")));
	if (m.unusable > 0)
		ereport(WARNING,
				(errmsg("%d matches of the query lack the unique keys needed to retrieve them", m.unusable)));
	return m.items;
}

typedef struct ProbeCall
{
	const char *host;
	int			port;
	const char *called_aet;
	PacsOptions opts;
	List	   *keys;
	List	   *instances;
	MemoryContext context;
	bool		uids_only;		/* ask for the UIDs alone: a PACS answers that from its index */
} ProbeCall;

static void
collect_instance(pgs_net_event *ev, void *arg)
{
	ProbeCall  *p = arg;
	MemoryContext old = MemoryContextSwitchTo(p->context);
	ProbedInstance *inst = palloc(sizeof(ProbedInstance));

	inst->patient_id = pstrdup(ev->uids.patient_id);
	inst->study = pstrdup(ev->uids.study_instance_uid);
	inst->series = pstrdup(ev->uids.series_instance_uid);
	inst->sop = pstrdup(ev->uids.sop_instance_uid);
	inst->sop_class = pstrdup(ev->uids.sop_class_uid);
	inst->transfer_syntax = ev->uids.transfer_syntax_uid[0] ? pstrdup(ev->uids.transfer_syntax_uid) : NULL;
	p->instances = lappend(p->instances, inst);
	MemoryContextSwitchTo(old);
}

static void
probe_call(void *arg)
{
	ProbeCall  *p = arg;

	pacs_run_find(p->host, p->port, p->called_aet, &p->opts, PGS_QR_IMAGE, p->keys, !p->uids_only, collect_instance,
				  p);
}

/* How much an IMAGE-level listing asks for. */
typedef enum Listing
{
	LISTING_NONE,
	LISTING_UIDS,				/* SOP Instance UIDs, to name instances in requests */
	LISTING_FULL				/* and their SOP classes and transfer syntaxes, to negotiate for them */
} Listing;

static bool
has_key(List *keys, const char *name)
{
	ListCell   *lc;

	foreach(lc, keys)
		if (strcmp(((PacsQueryKey *) lfirst(lc))->key, name) == 0)
			return true;
	return false;
}

/*
 * List the instances an item retrieves with an IMAGE-level C-FIND. A PACS that refuses such a query (a
 * strictly hierarchical one may) is not an error: the retrieval then goes ahead without the list, and
 * *listed is false.
 */
static List *
probe_item(const char *host, int port, const char *called_aet, const PacsOptions *opts, RetrieveItem *item,
		   Listing listing, bool *listed)
{
	ProbeCall	p = {host, port, called_aet, *opts, NIL, NIL, CurrentMemoryContext, listing == LISTING_UIDS};
	ErrorData  *edata;
	static const char *const uid_keys[] = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"};

	p.keys = list_copy(item->keys);
	if (p.uids_only)
	{
		for (int i = 0; i < lengthof(uid_keys); i++)
			if (!has_key(p.keys, uid_keys[i]))
				p.keys = add_key(p.keys, uid_keys[i], NULL);
		if (opts->model == PGS_QR_MODEL_PATIENT && !has_key(p.keys, "PatientID"))
			p.keys = add_key(p.keys, "PatientID", NULL);
	}
	else
		p.keys = add_key(p.keys, "AvailableTransferSyntaxUID", NULL);
	p.opts.limit = INT_MAX;
	p.opts.model_given = true;
	edata = in_subtransaction(probe_call, &p, CurrentMemoryContext);
	*listed = edata == NULL;
	if (edata != NULL)
		ereport(DEBUG1, (errmsg("pacs_retrieve could not list the instances to retrieve: %s", edata->message)));
	return *listed ? p.instances : NIL;
}

static bool
wanted_class(const PacsOptions *opts, const char *sop_class)
{
	return opts->non_images || pgs_net_is_image_sop_class(sop_class);
}

static void
add_storage(RetrievePlan *plan, const char *sop_class, const char *ts)
{
	ListCell   *lc;
	pgs_net_storage *entry;

	foreach(lc, plan->storage)
	{
		pgs_net_storage *s = lfirst(lc);

		if (strcmp(s->sop_class_uid, sop_class) == 0 &&
			((s->transfer_syntax_uid == NULL && ts == NULL) ||
			 (s->transfer_syntax_uid && ts && strcmp(s->transfer_syntax_uid, ts) == 0)))
			return;
	}
	entry = palloc(sizeof(pgs_net_storage));
	entry->sop_class_uid = sop_class;
	entry->transfer_syntax_uid = ts;
	plan->storage = lappend(plan->storage, entry);
}

static void
note_excluded(RetrievePlan *plan, const char *sop_class)
{
	ListCell   *lc;

	plan->excluded++;
	foreach(lc, plan->excluded_classes)
		if (strcmp(lfirst(lc), sop_class) == 0)
			return;
	plan->excluded_classes = lappend(plan->excluded_classes, (void *) sop_class);
}

/*
 * Turn an item into requests for what should come: the item itself when every instance is wanted, else
 * whole series that hold only wanted instances and single instances of mixed series. Leaving unwanted
 * objects out of the request matters: some PACS (Orthanc among them) fail a whole C-GET or C-MOVE when
 * one sub-operation has no presentation context.
 */
static void
plan_item(RetrievePlan *plan, const PacsOptions *opts, RetrieveItem *item, List *instances)
{
	ListCell   *lc;
	bool		all_wanted = true;
	List	   *series_done = NIL;

	foreach(lc, instances)
	{
		ProbedInstance *inst = lfirst(lc);

		if (wanted_class(opts, inst->sop_class))
			add_storage(plan, inst->sop_class, inst->transfer_syntax);
		else
			all_wanted = false;
	}
	if (all_wanted)
	{
		plan->items = lappend(plan->items, item);
		plan->expected += list_length(instances);
		return;
	}
	foreach(lc, instances)
	{
		ProbedInstance *inst = lfirst(lc);
		bool		series_clean = true;
		ListCell   *lc2;
		const char *study = inst->study[0] ? inst->study : NULL;

		if (!wanted_class(opts, inst->sop_class))
		{
			note_excluded(plan, inst->sop_class);
			continue;
		}
		plan->expected++;
		foreach(lc2, instances)
		{
			ProbedInstance *other = lfirst(lc2);

			if (strcmp(other->series, inst->series) == 0 && !wanted_class(opts, other->sop_class))
				series_clean = false;
		}
		if (!series_clean || study == NULL)
		{
			plan->items = lappend(plan->items,
								  make_item(PGS_QR_IMAGE, unique_keys(PGS_QR_IMAGE, opts->model, inst->patient_id,
																	  study, inst->series, inst->sop)));
			continue;
		}
		foreach(lc2, series_done)
			if (strcmp(lfirst(lc2), inst->series) == 0)
				series_clean = false;	/* requested already */
		if (series_clean)
		{
			series_done = lappend(series_done, inst->series);
			plan->items = lappend(plan->items,
								  make_item(PGS_QR_SERIES, unique_keys(PGS_QR_SERIES, opts->model, inst->patient_id,
																	   study, inst->series, NULL)));
		}
	}
}

/* How an item is listed before it is retrieved. */
static Listing
listing_for(const PacsOptions *opts, const RetrieveItem *item, bool per_instance)
{
	if (opts->probe == PACS_PROBE_NEVER)
		return LISTING_NONE;
	/* non-image objects (SR, presentation states) hide in studies, next to the image series */
	if (opts->probe == PACS_PROBE_ALWAYS || item->level <= PGS_QR_STUDY)
		return LISTING_FULL;
	return per_instance ? LISTING_UIDS : LISTING_NONE;
}

/* Keep the wanted instances for per-instance requests; count the rest as left out. */
static void
plan_instances(RetrievePlan *plan, const PacsOptions *opts, List *instances)
{
	ListCell   *lc;

	foreach(lc, instances)
	{
		ProbedInstance *inst = lfirst(lc);

		if (inst->sop_class[0] == '\0')
			plan->classes_unknown = true;	/* listed by UID alone */
		else if (!wanted_class(opts, inst->sop_class))
		{
			note_excluded(plan, inst->sop_class);
			continue;
		}
		else
			add_storage(plan, inst->sop_class, inst->transfer_syntax);
		plan->requested = lappend(plan->requested, inst);
	}
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Drop from plan->requested the instances whose SOP Instance UID the target table holds (SPI, caller's rights). */
static void
drop_present(RetrievePlan *plan, const PacsTarget *target)
{
	int			n = list_length(plan->requested);
	Datum	   *uids;
	char	  **present;
	int			npresent;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		args[1];
	List	   *kept = NIL;
	ListCell   *lc;
	int			i = 0;
	int			ret;

	if (n == 0)
		return;
	uids = palloc(sizeof(Datum) * n);
	foreach(lc, plan->requested)
		uids[i++] = CStringGetTextDatum(((ProbedInstance *) lfirst(lc))->sop);
	args[0] = PointerGetDatum(construct_array(uids, n, TEXTOID, -1, false, TYPALIGN_INT));
	ret = SPI_execute_with_args(psprintf("SELECT sop_instance_uid::text FROM %s WHERE sop_instance_uid = ANY ($1)",
										 target->name),
								1, types, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args returned %s", SPI_result_code_string(ret));
	npresent = (int) SPI_processed;
	present = palloc(sizeof(char *) * Max(npresent, 1));
	for (i = 0; i < npresent; i++)
		present[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	qsort(present, npresent, sizeof(char *), compare_strings);
	foreach(lc, plan->requested)
	{
		ProbedInstance *inst = lfirst(lc);

		if (npresent > 0 && bsearch(&inst->sop, present, npresent, sizeof(char *), compare_strings) != NULL)
			plan->present++;
		else
			kept = lappend(kept, inst);
	}
	plan->requested = kept;
}

/* Requests of at most this many instances each: the identifier of one stays a few kilobytes. */
#define MAX_INSTANCES_PER_REQUEST 500

/*
 * Turn plan->requested into IMAGE-level requests listing the SOP Instance UIDs of one series each, about
 * `parallel` of them so that every association gets a share.
 */
static void
plan_requests(RetrievePlan *plan, const PacsOptions *opts)
{
	int			total = list_length(plan->requested);
	int			per_request = Min(Max((total + opts->parallel - 1) / opts->parallel, 1), MAX_INSTANCES_PER_REQUEST);
	List	   *left = plan->requested;

	plan->expected += total;
	while (left != NIL)
	{
		ProbedInstance *first = linitial(left);
		StringInfoData sops;
		List	   *rest = NIL;
		int			taken = 0;
		ListCell   *lc;

		initStringInfo(&sops);
		foreach(lc, left)
		{
			ProbedInstance *inst = lfirst(lc);

			if (taken < per_request && strcmp(inst->series, first->series) == 0 &&
				strcmp(inst->study, first->study) == 0)
			{
				appendStringInfo(&sops, "%s%s", taken++ ? "\\" : "", inst->sop);
			}
			else
				rest = lappend(rest, inst);
		}
		plan->items = lappend(plan->items,
							  make_item(PGS_QR_IMAGE, unique_keys(PGS_QR_IMAGE, opts->model, first->patient_id,
																  first->study[0] ? first->study : NULL,
																  first->series, sops.data)));
		left = rest;
	}
}

static RetrievePlan *
make_plan(const char *host, int port, const char *called_aet, PacsOptions *opts, List *keys,
		  const PacsTarget *target)
{
	RetrievePlan *plan = palloc0(sizeof(RetrievePlan));
	List	   *items = query_items(host, port, called_aet, opts, keys);
	/* parallel associations need more requests than the query makes; resume names instances */
	bool		per_instance = opts->resume || (opts->parallel > 1 && list_length(items) < opts->parallel);
	ListCell   *lc;

	foreach(lc, items)
	{
		RetrieveItem *item = lfirst(lc);
		bool		listed = false;
		List	   *instances = NIL;
		Listing		listing = listing_for(opts, item, per_instance);

		if (listing != LISTING_NONE)
			instances = probe_item(host, port, called_aet, opts, item, listing, &listed);
		CHECK_FOR_INTERRUPTS();
		if (!listed)
		{
			plan->listing_incomplete = true;
			plan->items = lappend(plan->items, item);
		}
		else if (instances == NIL)
			plan->empty++;		/* the PACS holds nothing for it: no request */
		else if (per_instance)
			plan_instances(plan, opts, instances);
		else
			plan_item(plan, opts, item, instances);
	}
	if (opts->resume)
		drop_present(plan, target);
	if (per_instance)
		plan_requests(plan, opts);
	if (plan->listing_incomplete)
		plan->expected = -1;
	return plan;
}

/*
 * The storage list for the C-GET association. When some item could not be listed, or the list would need
 * more presentation contexts than an association has (a class of unknown syntax takes eleven), the kernel's
 * default set is proposed instead (NULL).
 */
static pgs_net_storage *
storage_array(RetrievePlan *plan, int *n)
{
	pgs_net_storage *array;
	int			contexts = 1;
	int			i = 0;
	ListCell   *lc;

	*n = 0;
	if (plan->listing_incomplete || plan->classes_unknown || plan->storage == NIL)
		return NULL;
	foreach(lc, plan->storage)
	{
		pgs_net_storage *s = lfirst(lc);

		contexts += s->transfer_syntax_uid ? 2 : 11;
	}
	if (contexts > 128)
		return NULL;
	array = palloc(sizeof(pgs_net_storage) * list_length(plan->storage));
	foreach(lc, plan->storage)
		array[i++] = *(pgs_net_storage *) lfirst(lc);
	*n = i;
	return array;
}

static void
report_summary(Retrieval *r, RetrievePlan *plan, int requests)
{
	StringInfoData reasons;
	StringInfoData classes;
	ListCell   *lc;

	initStringInfo(&reasons);
	for (int i = 0; i < r->nreasons; i++)
		appendStringInfo(&reasons, "%s%s: %lld", i ? "; " : "", r->reasons[i], (long long) r->reason_counts[i]);
	ereport(NOTICE,
			(errmsg("pacs_retrieve: %lld stored, %lld already present, %lld quarantined, %lld skipped, %lld failed (%d %s)",
					(long long) r->counts[PACS_COUNT_STORED], (long long) r->counts[PACS_COUNT_DUPLICATES],
					(long long) r->counts[PACS_COUNT_QUARANTINED], (long long) r->skipped,
					(long long) r->counts[PACS_COUNT_FAILED], requests, requests == 1 ? "request" : "requests"),
			 r->nreasons > 0 ? errdetail("Quarantine reasons: %s.", reasons.data) : 0));
	if (plan->empty > 0)
		ereport(NOTICE,
				(errmsg("%s lists no instances for %d of the studies, series or instances asked for", r->peer,
						plan->empty)));
	if (plan->excluded > 0)
	{
		initStringInfo(&classes);
		foreach(lc, plan->excluded_classes)
			appendStringInfo(&classes, "%s%s", classes.len ? ", " : "", (char *) lfirst(lc));
		ereport(NOTICE,
				(errmsg("pacs_retrieve left out %lld non-image instances", (long long) plan->excluded),
				 errdetail("SOP classes: %s.", classes.data),
				 errhint("Use options {\"non_images\": true} to retrieve them too.")));
	}
	if (r->pacs_failed > r->counts[PACS_COUNT_FAILED])
		ereport(WARNING,
				(errmsg("%s reported %lld sub-operations as failed that never reached pgscreen", r->peer,
						(long long) (r->pacs_failed - r->counts[PACS_COUNT_FAILED])),
				 errhint("Instances of SOP classes pgscreen does not negotiate (non-image objects such as SR or RT) cannot be retrieved.")));
}

/* An error or cancel ends the retrieval's activity row and route (and answers a waiting receiver). */
static void
end_activity(void *arg)
{
	pacs_activity_end();
}

/* Deal the requests out to the associations, round robin. */
static Lane *
make_lanes(Retrieval *r, RetrievePlan *plan, const PacsOptions *opts)
{
	Lane	   *lanes;
	int			i = 0;
	ListCell   *lc;

	r->nlanes = Min(opts->parallel, list_length(plan->items));
	lanes = palloc0(sizeof(Lane) * r->nlanes);
	foreach(lc, plan->items)
	{
		Lane	   *lane = &lanes[i++ % r->nlanes];

		lane->items = lappend(lane->items, lfirst(lc));
	}
	for (i = 0; i < r->nlanes; i++)
		lanes[i].model = opts->model;
	return lanes;
}

Datum
pgscreen_pacs_retrieve(PG_FUNCTION_ARGS)
{
	char	   *host = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			port = PG_GETARG_INT32(1);
	char	   *called_aet = text_to_cstring(PG_GETARG_TEXT_PP(2));
	List	   *keys = pacs_query_keys(PG_GETARG_JSONB_P(3));
	Oid			into = PG_GETARG_OID(4);
	Jsonb	   *options = PG_GETARG_JSONB_P(5);
	char	   *calling_aet = text_to_cstring(PG_GETARG_TEXT_PP(6));
	PacsOptions opts;
	Retrieval	r;
	RetrievePlan *plan;
	pgs_net_storage *storage;
	int			nstorage;
	Lane	   *lanes;
	MemoryContextCallback *activity_cleanup = palloc0(sizeof(MemoryContextCallback));

	pacs_options_parse(options, PACS_OPT_NETWORK | PACS_OPT_FIND | PACS_OPT_RETRIEVE, "screen.pacs_retrieve", &opts);
	opts.net.aet = calling_aet;
	if (opts.use_move && pacs_receivers_running() == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("C-MOVE retrieval needs pgscreen's storage receiver, which is not running"),
				 errhint("Preload pgscreen and set pgscreen.scp_port and pgscreen.scp_role; the PACS must know AE title \"%s\" at that port.",
						 scp_aet)));

	memset(&r, 0, sizeof(r));
	r.source_aet = called_aet;
	r.progress_every = opts.progress_every;
	r.next_progress = opts.progress_every;
	r.remaining = -1;
	r.use_move = opts.use_move;
	r.batch_size = opts.batch_size;
	r.pending = palloc(sizeof(PendingInstance) * opts.batch_size);
	r.instance_context = AllocSetContextCreate(CurrentMemoryContext, "pacs_retrieve instance",
											   ALLOCSET_DEFAULT_SIZES);
	r.batch_context = AllocSetContextCreate(CurrentMemoryContext, "pacs_retrieve batch", ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* everything that can be checked without the network is checked first */
	pacs_target_open(&r.target, into, opts.deidentify, opts.quarantine_table, false);
	pacs_activity_begin(PACS_ACTIVITY_RETRIEVE, NULL);
	activity_cleanup->func = end_activity;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, activity_cleanup);
	pacs_activity_state("listing instances", psprintf("%s at %s:%d", called_aet, host, port));
	plan = make_plan(host, port, called_aet, &opts, keys, &r.target);
	storage = storage_array(plan, &nstorage);
	r.expected = plan->expected;
	r.remaining = plan->expected >= 0 ? (int) Min(plan->expected, INT_MAX) : -1;
	if (plan->present > 0)
	{
		count(&r, PACS_COUNT_DUPLICATES, plan->present);
		ereport(NOTICE,
				(errmsg("pacs_retrieve resumes: %lld listed instances are in the table already, %lld to retrieve",
						(long long) plan->present, (long long) plan->expected)));
	}

	pacs_activity_remaining(r.remaining);
	r.peer = psprintf("%s at %s:%d", called_aet, host, port);
	if (plan->items == NIL)
	{
		pacs_activity_end();
		report_summary(&r, plan, 0);
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	lanes = make_lanes(&r, plan, &opts);
	for (int i = 0; i < r.nlanes; i++)
		lanes[i].pa = pacs_open(host, port, called_aet, &opts, opts.use_move ? PGS_NET_MOVE : PGS_NET_GET,
								storage, nstorage);
	pacs_activity_state(opts.use_move ? "retrieving (C-MOVE)" : "retrieving (C-GET)", lanes[0].pa->peer);
	if (opts.use_move)
		r.message_id = pacs_route_open(calling_aet);
	run_lanes(&r, lanes);
	if (opts.use_move)
		pacs_route_close();
	pacs_activity_end();
	report_summary(&r, plan, r.requests);
	SPI_finish();
	PG_RETURN_INT64(r.counts[PACS_COUNT_STORED]);
}
