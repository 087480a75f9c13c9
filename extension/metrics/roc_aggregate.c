/* The screen.roc aggregate: transition, combine, serialize and deserialize (parallel), and final functions. */
#include "roc_sql.h"

#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(pgscreen_roc_transition);
PG_FUNCTION_INFO_V1(pgscreen_roc_combine);
PG_FUNCTION_INFO_V1(pgscreen_roc_serialize);
PG_FUNCTION_INFO_V1(pgscreen_roc_deserialize);
PG_FUNCTION_INFO_V1(pgscreen_roc_final);

/*
 * The transition state: the kernel's builder and the allocator it draws from, both in one memory context
 * (the aggregate's for a running aggregate, the per-call one for a deserialized partial state).
 */
typedef struct RocState
{
	PgscreenAllocator allocator;
	pgs_roc_builder *builder;
} RocState;

static RocState *
roc_state_create(MemoryContext context)
{
	RocState   *state = MemoryContextAllocZero(context, sizeof(RocState));
	pgs_error	err;

	pgscreen_allocator_init_in(&state->allocator, context);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_builder_create(&state->allocator.base, &state->builder, &err), &err);
	return state;
}

/* Called once per row: the aggregate context is looked up only when the state is made. */
Datum
pgscreen_roc_transition(PG_FUNCTION_ARGS)
{
	RocState   *state = PG_ARGISNULL(0) ? roc_state_create(pgscreen_aggregate_context(fcinfo, "roc_transition")) :
		(RocState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		pgs_roc_builder_skip(state->builder, 1);
	else
	{
		pgs_error	err;

		if (pgs_roc_builder_add(state->builder, PG_GETARG_FLOAT8(1), PG_GETARG_BOOL(2), &err) != PGS_OK)
			pgscreen_roc_raise_score(&err);
	}
	PG_RETURN_POINTER(state);
}

/* Partial states from other processes arrive deserialized in a short-lived context: copy them in. */
Datum
pgscreen_roc_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = pgscreen_aggregate_context(fcinfo, "roc_combine");
	RocState   *state = PG_ARGISNULL(0) ? NULL : (RocState *) PG_GETARG_POINTER(0);
	RocState   *other = PG_ARGISNULL(1) ? NULL : (RocState *) PG_GETARG_POINTER(1);
	pgs_error	err;

	if (other == NULL)
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = roc_state_create(context);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_builder_absorb(state->builder, other->builder, &err), &err);
	PG_RETURN_POINTER(state);
}

/* The serial form is the roc binary form itself. */
Datum
pgscreen_roc_serialize(PG_FUNCTION_ARGS)
{
	RocState   *state = (RocState *) PG_GETARG_POINTER(0);
	PgscreenAllocator out;
	uint8_t    *data = NULL;
	size_t		len = 0;
	pgs_error	err;
	pgs_status	st;

	pgscreen_aggregate_context(fcinfo, "roc_serialize");
	pgscreen_allocator_init(&out, true);
	pgs_error_clear(&err);
	st = pgs_roc_builder_encode(state->builder, &out.base, &data, &len, &err);
	return pgscreen_roc_varlena_result(&out, st, &err, data, len);
}

Datum
pgscreen_roc_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	RocState   *state;
	pgs_error	err;

	pgscreen_aggregate_context(fcinfo, "roc_deserialize");
	state = roc_state_create(CurrentMemoryContext);
	pgs_error_clear(&err);
	pgscreen_roc_check(pgs_roc_builder_add_encoded(state->builder, (const uint8_t *) VARDATA_ANY(bytes),
												   VARSIZE_ANY_EXHDR(bytes), &err), &err);
	PG_RETURN_POINTER(state);
}

/* No rows at all give an empty roc value (n=0), not NULL: the counts of nothing are known. */
Datum
pgscreen_roc_final(PG_FUNCTION_ARGS)
{
	RocState   *state = PG_ARGISNULL(0) ? NULL : (RocState *) PG_GETARG_POINTER(0);
	PgscreenAllocator out;
	uint8_t    *data = NULL;
	size_t		len = 0;
	pgs_error	err;
	pgs_status	st;

	pgscreen_aggregate_context(fcinfo, "roc_final");
	if (state == NULL)
		state = roc_state_create(CurrentMemoryContext);
	pgscreen_allocator_init(&out, true);
	pgs_error_clear(&err);
	st = pgs_roc_builder_encode(state->builder, &out.base, &data, &len, &err);
	return pgscreen_roc_varlena_result(&out, st, &err, data, len);
}
