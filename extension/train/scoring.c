/* Scoring in SQL: predict() per row, score() in batches through the device, classify() and thresholds. */
#include "../pgscreen.h"
#include "../nn/model_cache.h"
#include "../options.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(pgscreen_predict);
PG_FUNCTION_INFO_V1(pgscreen_score);
PG_FUNCTION_INFO_V1(pgscreen_classify);
PG_FUNCTION_INFO_V1(pgscreen_threshold);

/* The networks a model's score averages: itself, or an ensemble's members (ids copied, the entry may go). */
typedef struct ScoringPlan
{
	char	   *label;			/* "name:version" for messages */
	int			n;
	int64	   *networks;
} ScoringPlan;

static void
plan_scoring(const char *spec, ScoringPlan *plan)
{
	CachedModel *m = pgscreen_model_cache_get(spec);

	plan->label = psprintf("%s:%d", m->ref->name, m->ref->version);
	if (m->ref->kind == MODEL_ENSEMBLE)
	{
		plan->n = m->ref->n_members;
		plan->networks = palloc(sizeof(int64) * plan->n);
		memcpy(plan->networks, m->ref->members, sizeof(int64) * plan->n);
	}
	else
	{
		plan->n = 1;
		plan->networks = palloc(sizeof(int64));
		plan->networks[0] = m->ref->id;
	}
}

static void
prepare_input(CachedModel *m, bytea *input, uint8 *dst, const char *label, const char *row)
{
	pgs_error	err;

	pgs_error_clear(&err);
	if (pgs_input_prepare((const uint8 *) VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), &m->input, dst, &err)
		!= PGS_OK)
		pgscreen_raise(&err, row ? psprintf("could not prepare %s for model \"%s\"", row, label) :
					   psprintf("could not prepare the input for model \"%s\"", label));
}

static size_t
input_bytes(const CachedModel *m)
{
	return (size_t) m->input.height * m->input.width * m->input.channels;
}

/*
 * Scores of n inputs (NULL ones skipped) averaged over the plan's networks: each network prepares the inputs
 * its own way (preprocessing, size) and normalises them as it was trained to.
 */
static void
score_inputs(const ScoringPlan *plan, int n, bytea **inputs, const int64 *ids, double *scores)
{
	for (int i = 0; i < n; i++)
		scores[i] = 0;
	for (int k = 0; k < plan->n; k++)
	{
		CachedModel *m = pgscreen_model_cache_get_id(plan->networks[k]);
		size_t		bytes = input_bytes(m);
		uint8	   *images = palloc(bytes * Max(n, 1));
		double	   *probabilities = palloc(sizeof(double) * Max(n, 1));
		int			used = 0;
		pgs_error	err;

		if (m->predictor == NULL)
			elog(ERROR, "model " INT64_FORMAT " of \"%s\" is not a network", plan->networks[k], plan->label);
		for (int i = 0; i < n; i++)
			if (inputs[i] != NULL)
				prepare_input(m, inputs[i], images + bytes * used++, plan->label,
							  ids ? psprintf("the row with id " INT64_FORMAT, ids[i]) : NULL);
		pgs_error_clear(&err);
		if (used > 0 && pgs_predictor_run(m->predictor, used, images, probabilities, &err) != PGS_OK)
			pgscreen_raise(&err, psprintf("could not score with model \"%s\"", plan->label));
		for (int i = 0, j = 0; i < n; i++)
			if (inputs[i] != NULL)
				scores[i] += probabilities[j++] / plan->n;
		pfree(images);
		pfree(probabilities);
	}
}

Datum
pgscreen_predict(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *input = PG_GETARG_BYTEA_PP(1);
	ScoringPlan plan;
	double		score;

	plan_scoring(spec, &plan);
	score_inputs(&plan, 1, &input, NULL, &score);
	PG_RETURN_FLOAT8(score);
}

Datum
pgscreen_classify(PG_FUNCTION_ARGS)
{
	char	   *spec;
	char	   *point;
	bytea	   *input;
	ScoringPlan plan;
	double		score;
	double		threshold;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	input = PG_GETARG_BYTEA_PP(1);
	point = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	threshold = pgscreen_model_threshold(pgscreen_model_cache_get(spec), point);
	plan_scoring(spec, &plan);
	score_inputs(&plan, 1, &input, NULL, &score);
	/* As screen.confusion counts them: a case is positive when its score reaches the threshold. */
	PG_RETURN_BOOL(score >= threshold);
}

Datum
pgscreen_threshold(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *point = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_FLOAT8(pgscreen_model_threshold(pgscreen_model_cache_get(spec), point));
}

static const char *const score_keys[] = {"batch_size", "progress", NULL};

static void
check_score_columns(TupleDesc desc)
{
	Oid			id = desc->natts >= 1 ? SPI_gettypeid(desc, 1) : InvalidOid;

	if (desc->natts != 2 || !(id == INT2OID || id == INT4OID || id == INT8OID) ||
		SPI_gettypeid(desc, 2) != BYTEAOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the scoring query must return two columns (id integer or bigint, input bytea)")));
}

static int64
id_value(Datum d, Oid type)
{
	return type == INT2OID ? DatumGetInt16(d) : type == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d);
}

static void
report_progress(int64 rows, TimestampTz started, bool final)
{
	long		secs;
	int			usecs;
	double		seconds;

	TimestampDifference(started, GetCurrentTimestamp(), &secs, &usecs);
	seconds = secs + usecs / 1e6;
	ereport(NOTICE,
			(errmsg("%s " INT64_FORMAT " rows in %.1f s (%.1f images/s)", final ? "scored" : "scoring:",
					rows, seconds, seconds > 0 ? rows / seconds : 0.0)));
}

/*
 * The query's rows are read through a cursor batch by batch, each batch prepared on the host and run
 * through the device in one forward pass: the fast path on a GPU. Results go to the caller as they are
 * computed into a tuplestore (which spills to disk for large results).
 */
Datum
pgscreen_score(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *spec;
	char	   *query;
	OptionsReader reader;
	int			batch_size = 32;
	double		progress_s = 10;
	ScoringPlan plan;
	SPIParseOpenOptions open_options = {0};
	Portal		portal;
	int			read_only;
	MemoryContext batch_context;
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz last_notice = started;
	int64		rows = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("model and query must not be NULL")));
	spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	options_begin_jsonb(&reader, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), "screen.score", score_keys);
	(void) options_get_int(&reader, "batch_size", 1, 4096, &batch_size);
	(void) options_get_double(&reader, "progress", 0, INFINITY, &progress_s);
	pgscreen_check_select_query(query, "query");
	InitMaterializedSRF(fcinfo, 0);
	plan_scoring(spec, &plan);

	batch_context = AllocSetContextCreate(CurrentMemoryContext, "pgscreen score batch", ALLOCSET_DEFAULT_SIZES);
	read_only = pgscreen_read_only_begin();
	SPI_connect();
	portal = SPI_cursor_parse_open(NULL, query, &open_options);
	for (;;)
	{
		MemoryContext old;
		bytea	  **inputs;
		int64	   *ids;
		double	   *scores;
		int			n;
		Oid			id_type;

		SPI_cursor_fetch(portal, true, batch_size);
		check_score_columns(SPI_tuptable->tupdesc);
		n = (int) SPI_processed;
		if (n == 0)
			break;
		id_type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
		old = MemoryContextSwitchTo(batch_context);
		inputs = palloc(sizeof(bytea *) * n);
		ids = palloc(sizeof(int64) * n);
		scores = palloc(sizeof(double) * n);
		for (int i = 0; i < n; i++)
		{
			bool		id_null,
						input_null;
			Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &id_null);
			Datum		input = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &input_null);

			if (id_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the scoring query returned a NULL id")));
			ids[i] = id_value(id, id_type);
			inputs[i] = input_null ? NULL : DatumGetByteaPP(input);
		}
		score_inputs(&plan, n, inputs, ids, scores);
		MemoryContextSwitchTo(old);
		for (int i = 0; i < n; i++)
		{
			Datum		values[2] = {Int64GetDatum(ids[i]), Float8GetDatum(scores[i])};
			bool		nulls[2] = {false, inputs[i] == NULL};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		rows += n;
		MemoryContextReset(batch_context);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
		if (progress_s > 0 && TimestampDifferenceExceeds(last_notice, GetCurrentTimestamp(), (int) (progress_s * 1000)))
		{
			last_notice = GetCurrentTimestamp();
			report_progress(rows, started, false);
		}
	}
	SPI_cursor_close(portal);
	SPI_finish();
	pgscreen_read_only_end(read_only);
	if (progress_s > 0)
		report_progress(rows, started, true);
	return (Datum) 0;
}
