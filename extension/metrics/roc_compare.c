/* The screen.roc_compare aggregate: the paired DeLong test of two models' scores on the same cases. */
#include "roc_sql.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#include "../../kernels/metrics/distributions.h"

PG_FUNCTION_INFO_V1(pgscreen_roc_compare_transition);
PG_FUNCTION_INFO_V1(pgscreen_roc_compare_combine);
PG_FUNCTION_INFO_V1(pgscreen_roc_compare_serialize);
PG_FUNCTION_INFO_V1(pgscreen_roc_compare_deserialize);
PG_FUNCTION_INFO_V1(pgscreen_roc_compare_final);

#define DEFAULT_LEVEL 0.95

/* level is NaN until the first row that gives one has been seen. */
typedef struct CompareState
{
	PgscreenAllocator allocator;
	pgs_roc_pairs *pairs;
	double		level;
} CompareState;

static CompareState *
compare_state_create(MemoryContext context)
{
	CompareState *state = MemoryContextAllocZero(context, sizeof(CompareState));
	pgs_error	err;

	pgscreen_allocator_init_in(&state->allocator, context);
	state->level = NAN;
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_pairs_create(&state->allocator.base, &state->pairs, &err), &err);
	return state;
}

/* Like string_agg's delimiter, the level is an argument of every row and must not change. */
static void
merge_level(CompareState *state, double level)
{
	if (isnan(state->level))
	{
		pgscreen_roc_check_level(level);
		state->level = level;
	}
	else if (level != state->level)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be the same for every row of roc_compare, got %g and %g", state->level, level)));
}

/* Arguments: state, score_a, score_b, label [, level]. */
Datum
pgscreen_roc_compare_transition(PG_FUNCTION_ARGS)
{
	CompareState *state = PG_ARGISNULL(0) ?
		compare_state_create(pgscreen_aggregate_context(fcinfo, "roc_compare_transition")) :
		(CompareState *) PG_GETARG_POINTER(0);

	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("level of roc_compare must not be NULL")));
		merge_level(state, PG_GETARG_FLOAT8(4));
	}
	else if (isnan(state->level))
		state->level = DEFAULT_LEVEL;
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		pgs_roc_pairs_skip(state->pairs, 1);
	else
	{
		pgs_error	err;

		if (pgs_roc_pairs_add(state->pairs, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_BOOL(3),
							  &err) != PGS_OK)
			pgscreen_roc_raise_score(&err);
	}
	PG_RETURN_POINTER(state);
}

Datum
pgscreen_roc_compare_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = pgscreen_aggregate_context(fcinfo, "roc_compare_combine");
	CompareState *state = PG_ARGISNULL(0) ? NULL : (CompareState *) PG_GETARG_POINTER(0);
	CompareState *other = PG_ARGISNULL(1) ? NULL : (CompareState *) PG_GETARG_POINTER(1);
	pgs_error	err;

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = compare_state_create(context);
	if (!isnan(other->level))
		merge_level(state, other->level);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_pairs_absorb(state->pairs, other->pairs, &err), &err);
	PG_RETURN_POINTER(state);
}

/* Serial form: the level as a float8, then the kernel's pairs form, in one bytea. */
Datum
pgscreen_roc_compare_serialize(PG_FUNCTION_ARGS)
{
	CompareState *state = (CompareState *) PG_GETARG_POINTER(0);
	PgscreenAllocator out;
	uint8_t    *data = NULL;
	size_t		len = 0;
	pgs_error	err;
	pgs_status	st;

	pgscreen_aggregate_context(fcinfo, "roc_compare_serialize");
	pgscreen_allocator_init(&out, true);
	pgs_error_clear(&err);
	st = pgs_roc_pairs_serialize(state->pairs, sizeof(double), &out.base, &data, &len, &err);
	if (st == PGS_OK)
		memcpy(data, &state->level, sizeof(double));
	return pgscreen_roc_varlena_result(&out, st, &err, data, len);
}

Datum
pgscreen_roc_compare_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(bytes);
	CompareState *state;
	pgs_error	err;

	pgscreen_aggregate_context(fcinfo, "roc_compare_deserialize");
	state = compare_state_create(CurrentMemoryContext);
	if (len < sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("corrupt paired-score state")));
	memcpy(&state->level, VARDATA_ANY(bytes), sizeof(double));
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_pairs_add_serialized(state->pairs, (const uint8_t *) VARDATA_ANY(bytes) + sizeof(double),
													len - sizeof(double), &err), &err);
	PG_RETURN_POINTER(state);
}

enum
{
	COL_AUC_A, COL_AUC_B, COL_DIFFERENCE, COL_LOWER, COL_UPPER, COL_SE, COL_Z, COL_P, COL_CORRELATION,
	COL_N, COL_POSITIVES, COL_SKIPPED, NCOLUMNS
};

/* Fill the test's columns from the kernel's AUCs, variances and covariance; NULLs where undefined. */
static void
fill_test(const pgs_roc_comparison *c, double level, Datum *values, bool *nulls)
{
	double		difference,
				variance,
				se,
				lower,
				upper;

	if (!pgscreen_roc_auc_defined(c->positives, c->negatives))
		return;
	difference = c->auc_a - c->auc_b;
	values[COL_AUC_A] = Float8GetDatum(c->auc_a);
	values[COL_AUC_B] = Float8GetDatum(c->auc_b);
	values[COL_DIFFERENCE] = Float8GetDatum(difference);
	nulls[COL_AUC_A] = nulls[COL_AUC_B] = nulls[COL_DIFFERENCE] = false;
	if (!pgscreen_roc_variance_defined(c->positives, c->negatives))
		return;
	variance = c->variance_a + c->variance_b - 2.0 * c->covariance;
	if (c->variance_a > 0.0 && c->variance_b > 0.0)
	{
		values[COL_CORRELATION] = Float8GetDatum(c->covariance / sqrt(c->variance_a * c->variance_b));
		nulls[COL_CORRELATION] = false;
	}
	if (!(variance > 0.0))
	{
		ereport(NOTICE,
				(errmsg("the difference of the AUCs has zero variance: the models order the cases alike, so there is no test")));
		values[COL_SE] = Float8GetDatum(0.0);
		nulls[COL_SE] = false;
		return;
	}
	se = sqrt(variance);
	pgs_wald_interval(difference, se, level, -1.0, 1.0, &lower, &upper);
	values[COL_LOWER] = Float8GetDatum(lower);
	values[COL_UPPER] = Float8GetDatum(upper);
	values[COL_SE] = Float8GetDatum(se);
	values[COL_Z] = Float8GetDatum(difference / se);
	values[COL_P] = Float8GetDatum(erfc(fabs(difference / se) / M_SQRT2));
	nulls[COL_LOWER] = nulls[COL_UPPER] = nulls[COL_SE] = nulls[COL_Z] = nulls[COL_P] = false;
}

Datum
pgscreen_roc_compare_final(PG_FUNCTION_ARGS)
{
	CompareState *state = PG_ARGISNULL(0) ? NULL : (CompareState *) PG_GETARG_POINTER(0);
	pgs_roc_comparison c;
	TupleDesc	tupdesc;
	Datum		values[NCOLUMNS];
	bool		nulls[NCOLUMNS];
	pgs_error	err;

	pgscreen_aggregate_context(fcinfo, "roc_compare_final");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "roc_compare must return a composite type");
	if (state == NULL)
		state = compare_state_create(CurrentMemoryContext);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_pairs_compare(state->pairs, &c, &err), &err);
	for (int i = 0; i < NCOLUMNS; i++)
		nulls[i] = true;
	fill_test(&c, isnan(state->level) ? DEFAULT_LEVEL : state->level, values, nulls);
	values[COL_N] = Int64GetDatum(c.positives + c.negatives);
	values[COL_POSITIVES] = Int64GetDatum(c.positives);
	values[COL_SKIPPED] = Int64GetDatum(c.skipped);
	nulls[COL_N] = nulls[COL_POSITIVES] = nulls[COL_SKIPPED] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
