/* The screen.roc type: its text summary, binary send/receive, the bytea cast, roc_info, shared helpers. */
#include "roc_sql.h"

#include <math.h>

#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pgscreen_roc_in);
PG_FUNCTION_INFO_V1(pgscreen_roc_out);
PG_FUNCTION_INFO_V1(pgscreen_roc_recv);
PG_FUNCTION_INFO_V1(pgscreen_roc_send);
PG_FUNCTION_INFO_V1(pgscreen_roc_from_bytea);
PG_FUNCTION_INFO_V1(pgscreen_roc_info);

void
pgscreen_roc_raise(const pgs_error *err)
{
	/* stopped for an interrupt: reported as PostgreSQL reports it (cancel, statement timeout) */
	if (err->code == PGS_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(pgscreen_sqlstate(err->code)),
			 errmsg("%s", err->message[0] ? err->message : pgs_strerror(err->code))));
	pg_unreachable();
}

MemoryContext
pgscreen_aggregate_context(FunctionCallInfo fcinfo, const char *function)
{
	MemoryContext context;

	if (!AggCheckCallContext(fcinfo, &context))
		elog(ERROR, "%s called in non-aggregate context", function);
	return context;
}

void
pgscreen_roc_raise_score(const pgs_error *err)
{
	ereport(ERROR,
			(errcode(pgscreen_sqlstate(err->code)),
			 errmsg("%s", err->message),
			 err->code == PGS_ERR_INVALID_ARGUMENT ?
			 errhint("Leave such rows out, e.g. with WHERE score NOT IN ('NaN', 'Infinity', '-Infinity').") : 0));
	pg_unreachable();
}

void
pgscreen_roc_open(Datum datum, pgs_roc_view *view)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(datum);
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_open((const uint8_t *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), view, &err),
					   &err);
}

void
pgscreen_roc_check_level(double level)
{
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_check_level(level, &err), &err);
}

bool
pgscreen_roc_auc_defined(int64 positives, int64 negatives)
{
	if (positives > 0 && negatives > 0)
		return true;
	ereport(NOTICE,
			(errmsg("AUC is undefined: %s",
					positives + negatives == 0 ? "there are no cases" :
					positives == 0 ? "there are no positive cases" : "there are no negative cases")));
	return false;
}

bool
pgscreen_roc_variance_defined(int64 positives, int64 negatives)
{
	if (positives >= 2 && negatives >= 2)
		return true;
	ereport(NOTICE,
			(errmsg("the confidence interval is undefined with fewer than 2 %s cases",
					positives < 2 ? "positive" : "negative")));
	return false;
}

Datum
pgscreen_roc_varlena_result(PgscreenAllocator *allocator, pgs_status st, const pgs_error *err,
							uint8_t *data, size_t len)
{
	pgscreen_raise_if_too_large(allocator, st);
	pgscreen_roc_check(st, err);
	return PointerGetDatum(pgscreen_bytea_result(allocator, data, len));
}

/* A roc value is built by the aggregate, so its text form is a summary that cannot be read back. */
Datum
pgscreen_roc_in(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("screen.roc values cannot be read from text"),
			 errhint("Build them with the aggregate screen.roc(score, label), or cast a bytea holding their binary form.")));
	PG_RETURN_NULL();
}

/* "n=1000 positives=188 auc=0.792327", with " skipped=K" when NULL rows were skipped. */
Datum
pgscreen_roc_out(PG_FUNCTION_ARGS)
{
	pgs_roc_view view;
	pgs_roc_auc auc;
	pgs_error	err;
	StringInfoData out;

	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_delong(&view, false, &auc, &err), &err);
	initStringInfo(&out);
	appendStringInfo(&out, "n=" INT64_FORMAT " positives=" INT64_FORMAT, view.positives + view.negatives,
					 view.positives);
	if (isnan(auc.auc))
		appendStringInfoString(&out, " auc=undefined");
	else
		appendStringInfo(&out, " auc=%.6f", auc.auc);
	if (view.skipped > 0)
		appendStringInfo(&out, " skipped=" INT64_FORMAT, view.skipped);
	PG_RETURN_CSTRING(out.data);
}

static Datum
roc_from_bytes(const char *bytes, int len)
{
	bytea	   *result = palloc(len + VARHDRSZ);
	pgs_error	err;

	memcpy(VARDATA(result), bytes, len);
	SET_VARSIZE(result, len + VARHDRSZ);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_validate((const uint8_t *) VARDATA(result), len, &err), &err);
	PG_RETURN_POINTER(result);
}

Datum
pgscreen_roc_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	Datum		result = roc_from_bytes(pq_getmsgbytes(buf, len), len);

	return result;
}

Datum
pgscreen_roc_send(PG_FUNCTION_ARGS)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
pgscreen_roc_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);

	return roc_from_bytes(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
}

Datum
pgscreen_roc_info(PG_FUNCTION_ARGS)
{
	pgs_roc_view view;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "roc_info must return a composite type");
	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	values[0] = Int64GetDatum(view.positives + view.negatives);
	values[1] = Int64GetDatum(view.positives);
	values[2] = Int64GetDatum(view.negatives);
	values[3] = Int64GetDatum(view.distinct);
	values[4] = Int64GetDatum(view.skipped);
	values[5] = Int64GetDatum((int64) view.bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
