/* pacs_retrieve: C-GET (or C-MOVE through pgscreen's receiver) into a table over one or more associations, in batches, de-identifying and de-duplicating on the way in. */
#include "pacs.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/shm_mq.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

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
	edata = pacs_in_subtransaction(store_call, &call, r->instance_context);
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
	if (pacs_in_subtransaction(store_batch_call, r, r->instance_context) != NULL)
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


/* Send the lane's next request, or release its association when it has none left. */
static void
lane_start_next(Retrieval *r, Lane *lane)
{
	pgs_error	err;
	RetrieveItem *item;
	pgs_net_query *q;

	if (lane->next >= list_length(lane->items))
	{
		pacs_close(lane->pa);
		lane->pa = NULL;
		return;
	}
	item = list_nth(lane->items, lane->next++);
	q = pacs_build_query(item->level, item->keys, false, lane->model);
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
	plan = pacs_make_plan(host, port, called_aet, &opts, keys, &r.target);
	storage = pacs_plan_storage(plan, &nstorage);
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
