/* pacs_retrieve: C-GET (or C-MOVE through pgscreen's receiver) into a table, de-identifying and de-duplicating on the way in. */
#include "pacs.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/shm_mq.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include <limits.h>

PG_FUNCTION_INFO_V1(pgscreen_pacs_retrieve);

#define MAX_REASONS 8

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
	PacsOutcome outcome;
	char	   *reason;

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
	outcome = call.outcome;
	reason = call.reason;
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

static void
run_get(Retrieval *r, PacsAssoc *pa, pgs_net_query *q)
{
	pgs_error	err;
	pgs_net_event ev;
	TimestampTz idle = GetCurrentTimestamp();
	MemoryContext old;

	pgs_error_clear(&err);
	pacs_check(pgs_net_get_start(pa->assoc, q, &err), &err, "could not send the C-GET request");
	for (;;)
	{
		uint16		status;
		char		comment[64];

		pacs_wait(pa, &idle, NULL, NULL);
		MemoryContextReset(r->instance_context);
		old = MemoryContextSwitchTo(r->instance_context);
		pacs_next(pa, &ev, "C-GET failed");
		MemoryContextSwitchTo(old);
		if (ev.kind == PGS_NET_EVENT_DONE)
			break;
		if (ev.kind == PGS_NET_EVENT_PROGRESS)
		{
			if (r->expected < 0)
			{
				r->remaining = ev.remaining;
				pacs_activity_remaining(ev.remaining);
			}
			continue;
		}
		if (ev.kind != PGS_NET_EVENT_INSTANCE)
			continue;
		comment[0] = '\0';
		if (ev.data == NULL)
			status = refuse_instance(r, &ev);
		else
			status = store_instance(r, pacs_bytea_result(ev.data, ev.len), &ev.uids, comment, sizeof(comment));
		pacs_check(pgs_net_store_reply(pa->assoc, status, comment[0] ? comment : ev.refused_reason, &err), &err,
				   "could not answer a C-STORE sub-operation");
	}
	check_final_status(r, &ev, "C-GET");
}

/* A receiver worker offered an instance of our C-MOVE: take it through the shm_mq, store it, answer. */
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
	dcm = MemoryContextAlloc(r->instance_context, nbytes + VARHDRSZ);
	SET_VARSIZE(dcm, nbytes + VARHDRSZ);
	memcpy(VARDATA(dcm), (char *) data + sizeof(uids), nbytes);
	dsm_detach(segment);
	status = store_instance(r, dcm, &uids, comment, sizeof(comment));
	pacs_mail_answer(status, comment);
}

static void
run_move(Retrieval *r, PacsAssoc *pa, pgs_net_query *q, const char *calling_aet)
{
	pgs_error	err;
	pgs_net_event ev;
	TimestampTz idle = GetCurrentTimestamp();
	uint16		message_id = pacs_route_open(calling_aet);

	pgs_error_clear(&err);
	pacs_check(pgs_net_move_start(pa->assoc, q, scp_aet, message_id, &err), &err, "could not send the C-MOVE request");
	for (;;)
	{
		if (!pacs_wait(pa, &idle, pacs_mail_offered, NULL))
		{
			take_delivery(r);
			continue;
		}
		pacs_next(pa, &ev, "C-MOVE failed");
		if (ev.kind == PGS_NET_EVENT_DONE)
			break;
		if (ev.kind == PGS_NET_EVENT_PROGRESS && r->expected < 0)
		{
			r->remaining = ev.remaining;
			pacs_activity_remaining(ev.remaining);
		}
	}
	pacs_route_close();
	check_final_status(r, &ev, "C-MOVE");
}

static bool
has_wildcard(const char *value)
{
	return strpbrk(value, "*?") != NULL;
}

/* One C-GET/C-MOVE request: the unique keys of what it retrieves, at a level. */
typedef struct RetrieveItem
{
	int			level;
	List	   *keys;			/* PacsQueryKey */
} RetrieveItem;

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
	if (pacs_run_find(host, port, called_aet, &find_opts, m.level, list_copy(keys), collect_match, &m))
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

	pacs_run_find(p->host, p->port, p->called_aet, &p->opts, PGS_QR_IMAGE, p->keys, collect_instance, p);
}

/*
 * List the instances an item retrieves with an IMAGE-level C-FIND. A PACS that refuses such a query (a
 * strictly hierarchical one may) is not an error: the retrieval then goes ahead without the list, and
 * *listed is false.
 */
static List *
probe_item(const char *host, int port, const char *called_aet, const PacsOptions *opts, RetrieveItem *item,
		   bool *listed)
{
	ProbeCall	p = {host, port, called_aet, *opts, NIL, NIL, CurrentMemoryContext};
	ErrorData  *edata;

	p.keys = add_key(list_copy(item->keys), "AvailableTransferSyntaxUID", NULL);
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

static RetrievePlan *
make_plan(const char *host, int port, const char *called_aet, PacsOptions *opts, List *keys)
{
	RetrievePlan *plan = palloc0(sizeof(RetrievePlan));
	List	   *items = query_items(host, port, called_aet, opts, keys);
	ListCell   *lc;

	foreach(lc, items)
	{
		RetrieveItem *item = lfirst(lc);
		bool		listed = false;
		List	   *instances = opts->probe ? probe_item(host, port, called_aet, opts, item, &listed) : NIL;

		CHECK_FOR_INTERRUPTS();
		if (!listed)
		{
			plan->listing_incomplete = true;
			plan->items = lappend(plan->items, item);
		}
		else if (instances == NIL)
			plan->empty++;		/* the PACS holds nothing for it: no request */
		else
			plan_item(plan, opts, item, instances);
	}
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
	if (plan->listing_incomplete || plan->storage == NIL)
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
	ListCell   *lc;
	PacsAssoc  *pa;
	int			requests = 0;
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
	r.instance_context = AllocSetContextCreate(CurrentMemoryContext, "pacs_retrieve instance",
											   ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* everything that can be checked without the network is checked first */
	pacs_target_open(&r.target, into, opts.deidentify, opts.quarantine_table, false);
	pacs_activity_begin(PACS_ACTIVITY_RETRIEVE, NULL);
	activity_cleanup->func = end_activity;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, activity_cleanup);
	pacs_activity_state("listing instances", psprintf("%s at %s:%d", called_aet, host, port));
	plan = make_plan(host, port, called_aet, &opts, keys);
	storage = storage_array(plan, &nstorage);
	r.expected = plan->expected;
	r.remaining = plan->expected >= 0 ? (int) Min(plan->expected, INT_MAX) : -1;

	pacs_activity_remaining(r.remaining);
	r.peer = psprintf("%s at %s:%d", called_aet, host, port);
	if (plan->items == NIL)
	{
		pacs_activity_end();
		report_summary(&r, plan, 0);
		SPI_finish();
		PG_RETURN_INT64(0);
	}
	pa = pacs_open(host, port, called_aet, &opts, opts.use_move ? PGS_NET_MOVE : PGS_NET_GET, storage, nstorage);
	pacs_activity_state(opts.use_move ? "retrieving (C-MOVE)" : "retrieving (C-GET)", pa->peer);
	foreach(lc, plan->items)
	{
		RetrieveItem *item = lfirst(lc);
		pgs_net_query *q = pacs_build_query(item->level, item->keys, false, opts.model);

		if (opts.use_move)
			run_move(&r, pa, q, calling_aet);
		else
			run_get(&r, pa, q);
		requests++;
		CHECK_FOR_INTERRUPTS();
	}
	pacs_close(pa);
	pacs_activity_end();
	report_summary(&r, plan, requests);
	SPI_finish();
	PG_RETURN_INT64(r.counts[PACS_COUNT_STORED]);
}
