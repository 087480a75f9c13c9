/* What pacs_retrieve asks for: the requests a query turns into, and the IMAGE-level listing behind them. */
#include "pacs.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include <limits.h>

static bool
has_wildcard(const char *value)
{
	return strpbrk(value, "*?") != NULL;
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
	edata = pacs_in_subtransaction(probe_call, &p, CurrentMemoryContext);
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
				appendStringInfo(&sops, "%s%s", taken++ ? "\\" : "", inst->sop);
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

RetrievePlan *
pacs_make_plan(const char *host, int port, const char *called_aet, PacsOptions *opts, List *keys,
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
pgs_net_storage *
pacs_plan_storage(RetrievePlan *plan, int *n)
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
