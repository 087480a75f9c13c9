/* pacs_echo and pacs_find: verification and queries at every level, in the study- and patient-root models. */
#include "pacs.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(pgscreen_pacs_echo);
PG_FUNCTION_INFO_V1(pgscreen_pacs_find);

static Jsonb *
options_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_NARGS() > n ? PG_GETARG_JSONB_P(n) : NULL;
}

Datum
pgscreen_pacs_echo(PG_FUNCTION_ARGS)
{
	char	   *host = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			port = PG_GETARG_INT32(1);
	char	   *called_aet = text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *calling_aet = text_to_cstring(PG_GETARG_TEXT_PP(3));
	PacsOptions opts;
	PacsAssoc  *pa;
	pgs_net_event ev;
	pgs_error	err;
	TimestampTz sent,
				idle;
	Interval   *rtt = palloc0(sizeof(Interval));

	pacs_options_parse(options_arg(fcinfo, 4), PACS_OPT_NETWORK, "screen.pacs_echo", &opts);
	opts.net.aet = calling_aet;
	pa = pacs_open(host, port, called_aet, &opts, PGS_NET_ECHO, NULL, 0);
	pgs_error_clear(&err);
	sent = idle = GetCurrentTimestamp();
	pacs_check(pgs_net_echo_start(pa->assoc, &err), &err, "could not send the C-ECHO request");
	pacs_wait(pa, &idle, NULL, NULL);
	pacs_next(pa, &ev, "could not read the C-ECHO response");
	rtt->time = GetCurrentTimestamp() - sent;
	pacs_close(pa);
	if (ev.status != PGS_DIMSE_SUCCESS)
	{
		char		status[80];

		pgs_net_status_text(ev.status, status, sizeof(status));
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("C-ECHO to %s failed with status %s", pa->peer, status)));
	}
	PG_RETURN_INTERVAL_P(rtt);
}

/* The model a level is queried in: the patient level exists only in the patient-root model. */
static pgs_qr_model
choose_model(const PacsOptions *opts, int level)
{
	if (!opts->model_given)
		return level == PGS_QR_PATIENT ? PGS_QR_MODEL_PATIENT : PGS_QR_MODEL_STUDY;
	if (opts->model == PGS_QR_MODEL_STUDY && level == PGS_QR_PATIENT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the study-root model has no PATIENT level"),
				 errhint("Use options {\"model\": \"patient\"} or another level.")));
	return opts->model;
}

/* Build the identifier of a query object; errors name the offending key. */
static pgs_net_query *
build_query(int level, List *keys, bool return_keys, pgs_qr_model model)
{
	pgs_net_query *q;
	pgs_error	err;
	ListCell   *lc;

	pgs_error_clear(&err);
	pgscreen_check(pgs_net_query_create((pgs_qr_level) level, &q, &err), &err, "could not build the query");
	foreach(lc, keys)
	{
		PacsQueryKey *k = lfirst(lc);

		if (pgs_net_query_add(q, k->key, k->value, &err) != PGS_OK)
		{
			pgs_net_query_free(q);
			pgscreen_raise(&err, "invalid query");
		}
	}
	if (return_keys && pgs_net_query_add_return_keys(q, model, &err) != PGS_OK)
	{
		pgs_net_query_free(q);
		pgscreen_raise(&err, "could not build the query");
	}
	return q;
}

/* Free the kernel query with the memory context it was built in, whatever happens. */
static void
free_query_on_reset(void *arg)
{
	pgs_net_query_free(arg);
}

pgs_net_query *
pacs_build_query(int level, List *keys, bool return_keys, pgs_qr_model model)
{
	pgs_net_query *q = build_query(level, keys, return_keys, model);
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	cb->func = free_query_on_reset;
	cb->arg = q;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return q;
}

/*
 * Run a C-FIND and hand each match to on_match (at most limit of them). Returns true when the PACS had
 * more matches than the limit: one more is asked for to know, then the query is cancelled.
 */
bool
pacs_run_find(const char *host, int port, const char *called_aet, const PacsOptions *opts, int level,
			  List *keys, bool return_keys, void (*on_match) (pgs_net_event *, void *), void *arg)
{
	PacsOptions find_opts = *opts;
	pgs_net_query *q;
	PacsAssoc  *pa;
	pgs_net_event ev;
	pgs_error	err;
	TimestampTz idle;
	int64		matches = 0;
	bool		more = false;
	MemoryContext match_context = AllocSetContextCreate(CurrentMemoryContext, "pacs_find match",
														ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;

	find_opts.model = choose_model(opts, level);
	q = pacs_build_query(level, keys, return_keys, find_opts.model);
	pa = pacs_open(host, port, called_aet, &find_opts, PGS_NET_FIND, NULL, 0);
	pgs_error_clear(&err);
	pacs_check(pgs_net_find_start(pa->assoc, q, &err), &err, "could not send the C-FIND request");
	idle = GetCurrentTimestamp();
	for (;;)
	{
		pacs_wait(pa, &idle, NULL, NULL);
		MemoryContextReset(match_context);
		old = MemoryContextSwitchTo(match_context);
		pacs_next(pa, &ev, "could not read a C-FIND response");
		MemoryContextSwitchTo(old);
		if (ev.kind == PGS_NET_EVENT_DONE)
			break;
		if (ev.kind != PGS_NET_EVENT_MATCH)
			continue;
		if (matches < opts->limit)
		{
			old = MemoryContextSwitchTo(match_context);
			on_match(&ev, arg);
			MemoryContextSwitchTo(old);
		}
		else if (!more)
		{
			more = true;
			pacs_check(pgs_net_cancel(pa->assoc, &err), &err, "could not cancel the C-FIND");
		}
		matches++;
	}
	pacs_close(pa);
	MemoryContextDelete(match_context);
	if (ev.status != PGS_DIMSE_SUCCESS && !(more && ev.status == PGS_DIMSE_CANCELLED))
	{
		char		status[80];

		pgs_net_status_text(ev.status, status, sizeof(status));
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("C-FIND at %s failed with status %s", pa->peer, status),
				 ev.error_comment[0] ? errdetail("The PACS says: %s", ev.error_comment) : 0));
	}
	return more;
}

static void
put_match(pgs_net_event *ev, void *arg)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(ev->json));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/* Materialize mode for a set of a scalar type (InitMaterializedSRF wants a row type). */
static void
init_jsonb_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pacs_find must be called where a set of rows is allowed")));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTemplateTupleDesc(1);
	TupleDescInitEntry(desc, (AttrNumber) 1, "pacs_find", JSONBOID, -1, 0);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(old);
}

Datum
pgscreen_pacs_find(PG_FUNCTION_ARGS)
{
	char	   *host = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			port = PG_GETARG_INT32(1);
	char	   *called_aet = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int			level = pacs_parse_level(text_to_cstring(PG_GETARG_TEXT_PP(3)));
	List	   *keys = pacs_query_keys(PG_GETARG_JSONB_P(4));
	char	   *calling_aet = text_to_cstring(PG_GETARG_TEXT_PP(5));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PacsOptions opts;

	pacs_options_parse(options_arg(fcinfo, 6), PACS_OPT_NETWORK | PACS_OPT_FIND, "screen.pacs_find", &opts);
	opts.net.aet = calling_aet;
	init_jsonb_srf(fcinfo);
	if (pacs_run_find(host, port, called_aet, &opts, level, keys, true, put_match, rsinfo))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("pacs_find returned the first %lld matches; %s:%d has more", (long long) opts.limit,
						host, port),
				 errhint("Narrow the query, or raise options.limit or pgscreen.pacs_find_limit.")));
	return (Datum) 0;
}
