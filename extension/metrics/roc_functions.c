/* SQL functions on screen.roc: auc, auc_ci, roc_curve, operating_point, confusion, and clopper_pearson. */
#include "roc_sql.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#include "../../kernels/metrics/distributions.h"

PG_FUNCTION_INFO_V1(pgscreen_auc);
PG_FUNCTION_INFO_V1(pgscreen_auc_ci);
PG_FUNCTION_INFO_V1(pgscreen_roc_curve);
PG_FUNCTION_INFO_V1(pgscreen_operating_point);
PG_FUNCTION_INFO_V1(pgscreen_confusion);
PG_FUNCTION_INFO_V1(pgscreen_clopper_pearson);

#define MIN_RESAMPLES 100
#define MAX_RESAMPLES 1000000
/* Replicates computed between two checks for cancellation. */

static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo, const char *function)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "%s must return a composite type", function);
	return BlessTupleDesc(tupdesc);
}

static inline void
set_float(Datum *values, bool *nulls, int column, double value)
{
	nulls[column] = isnan(value);
	values[column] = Float8GetDatum(value);
}

/* k/n, or NaN (NULL in SQL) when n is 0. */
static inline double
ratio(int64 k, int64 n)
{
	return n > 0 ? (double) k / (double) n : NAN;
}

Datum
pgscreen_auc(PG_FUNCTION_ARGS)
{
	pgs_roc_view view;
	pgs_roc_auc auc;
	pgs_error	err;

	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	if (!pgscreen_roc_auc_defined(view.positives, view.negatives))
		PG_RETURN_NULL();
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_delong(&view, false, &auc, &err), &err);
	PG_RETURN_FLOAT8(auc.auc);
}

/* Percentile interval and standard deviation of `resamples` stratified bootstrap replicates. */
static void
bootstrap_interval(const pgs_roc_view *view, int resamples, int64 seed, double level,
				   double *lower, double *upper, double *se)
{
	PgscreenAllocator allocator;
	pgs_roc_bootstrap *bootstrap;
	double	   *aucs = palloc(sizeof(double) * resamples);
	pgs_error	err;

	pgscreen_allocator_init(&allocator, false);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_bootstrap_create(view, (uint64_t) seed, &allocator.base, &bootstrap, &err), &err);
	/* the bootstrap's memory is the allocator's (this call's context): a cancel frees it with the rest */
	pgscreen_roc_check(pgs_roc_bootstrap_run(bootstrap, resamples, aucs, &err), &err);
	pgs_bootstrap_summary(aucs, resamples, level, lower, upper, se);
	pgs_roc_bootstrap_free(bootstrap);
	pfree(aucs);
}

/* auc_ci(r, level, method, resamples, seed) -> (auc, lower, upper, se) */
Datum
pgscreen_auc_ci(PG_FUNCTION_ARGS)
{
	double		level = PG_GETARG_FLOAT8(1);
	char	   *method = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int32		resamples = PG_GETARG_INT32(3);
	int64		seed = PG_GETARG_INT64(4);
	bool		bootstrap = pg_strcasecmp(method, "bootstrap") == 0;
	TupleDesc	tupdesc = result_tupdesc(fcinfo, "auc_ci");
	Datum		values[4];
	bool		nulls[4] = {true, true, true, true};
	pgs_roc_view view;
	pgs_roc_auc auc;
	pgs_error	err;

	pgscreen_roc_check_level(level);
	if (!bootstrap && pg_strcasecmp(method, "delong") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown method \"%s\" for auc_ci", method),
				 errhint("Use \"delong\" or \"bootstrap\".")));
	if (bootstrap && (resamples < MIN_RESAMPLES || resamples > MAX_RESAMPLES))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("resamples must be between %d and %d, got %d", MIN_RESAMPLES, MAX_RESAMPLES, resamples)));
	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	if (pgscreen_roc_auc_defined(view.positives, view.negatives))
	{
		pgs_error_clear(&err);
		pgscreen_roc_check(pgs_roc_delong(&view, !bootstrap, &auc, &err), &err);
		set_float(values, nulls, 0, auc.auc);
		if (pgscreen_roc_variance_defined(view.positives, view.negatives))
		{
			double		lower,
						upper,
						se;

			if (bootstrap)
				bootstrap_interval(&view, resamples, seed, level, &lower, &upper, &se);
			else
			{
				se = sqrt(auc.variance);
				pgs_wald_interval(auc.auc, se, level, 0.0, 1.0, &lower, &upper);
			}
			set_float(values, nulls, 1, lower);
			set_float(values, nulls, 2, upper);
			set_float(values, nulls, 3, se);
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* The curve walks the roc value lazily: one row per call, from threshold +Infinity down. */
typedef struct CurveWalk
{
	pgs_roc_view view;
	pgs_roc_curve curve;
} CurveWalk;

Datum
pgscreen_roc_curve(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CurveWalk  *walk;
	pgs_confusion point;
	int			r;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		walk = palloc(sizeof(CurveWalk));
		/* a private copy in this context, so the bytes live as long as the walk */
		pgscreen_roc_open(PointerGetDatum(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0))), &walk->view);
		pgs_roc_curve_begin(&walk->curve, &walk->view);
		funcctx->user_fctx = walk;
		funcctx->tuple_desc = result_tupdesc(fcinfo, "roc_curve");
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	walk = funcctx->user_fctx;
	r = pgs_roc_curve_next(&walk->curve, &point);
	if (r < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("corrupt roc value: malformed groups")));
	if (r == 1)
	{
		Datum		values[8];
		bool		nulls[8] = {false};

		values[0] = Float8GetDatum(point.threshold);
		set_float(values, nulls, 1, ratio(point.tp, walk->view.positives));
		set_float(values, nulls, 2, ratio(point.fp, walk->view.negatives));
		values[3] = Int64GetDatum(point.tp);
		values[4] = Int64GetDatum(point.fp);
		values[5] = Int64GetDatum(point.tn);
		values[6] = Int64GetDatum(point.fn);
		set_float(values, nulls, 7, ratio(point.tp, point.tp + point.fp));
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

/*
 * The row shared by operating_point and confusion: (threshold, sensitivity and its exact CI, specificity and
 * its exact CI, ppv, npv, tp, fp, tn, fn). Ratios with a zero denominator are NULL.
 */
static Datum
confusion_row(FunctionCallInfo fcinfo, const pgs_confusion *p, double level)
{
	TupleDesc	tupdesc = result_tupdesc(fcinfo, "confusion");
	Datum		values[13];
	bool		nulls[13] = {false};
	double		lower,
				upper;
	pgs_error	err;

	pgs_error_clear(&err);
	values[0] = Float8GetDatum(p->threshold);
	set_float(values, nulls, 1, ratio(p->tp, p->tp + p->fn));
	pgscreen_roc_check(pgs_clopper_pearson(p->tp, p->tp + p->fn, level, &lower, &upper, &err), &err);
	set_float(values, nulls, 2, lower);
	set_float(values, nulls, 3, upper);
	set_float(values, nulls, 4, ratio(p->tn, p->tn + p->fp));
	pgscreen_roc_check(pgs_clopper_pearson(p->tn, p->tn + p->fp, level, &lower, &upper, &err), &err);
	set_float(values, nulls, 5, lower);
	set_float(values, nulls, 6, upper);
	set_float(values, nulls, 7, ratio(p->tp, p->tp + p->fp));
	set_float(values, nulls, 8, ratio(p->tn, p->tn + p->fn));
	values[9] = Int64GetDatum(p->tp);
	values[10] = Int64GetDatum(p->fp);
	values[11] = Int64GetDatum(p->tn);
	values[12] = Int64GetDatum(p->fn);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* operating_point(r, sensitivity, specificity, level): exactly one of the two targets is given. */
Datum
pgscreen_operating_point(PG_FUNCTION_ARGS)
{
	bool		by_sensitivity = !PG_ARGISNULL(1);
	pgs_roc_target target = by_sensitivity ? PGS_TARGET_SENSITIVITY : PGS_TARGET_SPECIFICITY;
	pgs_roc_view view;
	pgs_confusion point;
	double		level;
	pgs_error	err;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) == PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operating_point needs exactly one of sensitivity and specificity"),
				 errhint("Write e.g. operating_point(r, sensitivity => 0.975) or operating_point(r, specificity => 0.98).")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("level must not be NULL")));
	level = PG_GETARG_FLOAT8(3);
	pgscreen_roc_check_level(level);
	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	if (by_sensitivity ? view.positives == 0 : view.negatives == 0)
	{
		double		value = PG_GETARG_FLOAT8(by_sensitivity ? 1 : 2);

		/* validate the target all the same, so that a typo is not hidden behind a NOTICE */
		if (!(value >= 0.0 && value <= 1.0))
		{
			pgs_error_clear(&err);
			pgscreen_roc_check(pgs_roc_operating_point(&view, target, value, &point, &err), &err);
		}
		ereport(NOTICE,
				(errmsg("%s is undefined: there are no %s cases", by_sensitivity ? "sensitivity" : "specificity",
						by_sensitivity ? "positive" : "negative")));
		PG_RETURN_NULL();
	}
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_operating_point(&view, target, PG_GETARG_FLOAT8(by_sensitivity ? 1 : 2), &point,
											   &err), &err);
	PG_RETURN_DATUM(confusion_row(fcinfo, &point, level));
}

Datum
pgscreen_confusion(PG_FUNCTION_ARGS)
{
	double		level = PG_GETARG_FLOAT8(2);
	pgs_roc_view view;
	pgs_confusion point;
	pgs_error	err;

	pgscreen_roc_check_level(level);
	pgscreen_roc_open(PG_GETARG_DATUM(0), &view);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_confusion(&view, PG_GETARG_FLOAT8(1), &point, &err), &err);
	PG_RETURN_DATUM(confusion_row(fcinfo, &point, level));
}

Datum
pgscreen_clopper_pearson(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc = result_tupdesc(fcinfo, "clopper_pearson");
	Datum		values[2];
	bool		nulls[2] = {false};
	double		lower,
				upper;
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_clopper_pearson(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_FLOAT8(2),
										   &lower, &upper, &err), &err);
	set_float(values, nulls, 0, lower);
	set_float(values, nulls, 1, upper);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
