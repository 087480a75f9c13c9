/* Reads a job's training or validation query once, as the job's owner, into its local data cache. */
#include "../pgscreen.h"
#include "jobs.h"
#include "job_run.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#define FETCH_ROWS 64
#define REPORT_INTERVAL_MS 1000

/* A label is boolean, or a number that is exactly 0 or 1 (a grade must be turned into referable first). */
static int
label_value(Datum value, Oid type, const char *what, int64 row)
{
	double		v;

	switch (type)
	{
		case BOOLOID:
			return DatumGetBool(value) ? 1 : 0;
		case INT2OID:
			v = DatumGetInt16(value);
			break;
		case INT4OID:
			v = DatumGetInt32(value);
			break;
		case INT8OID:
			v = (double) DatumGetInt64(value);
			break;
		case FLOAT4OID:
			v = DatumGetFloat4(value);
			break;
		case FLOAT8OID:
			v = DatumGetFloat8(value);
			break;
		case NUMERICOID:
			v = DatumGetFloat8(DirectFunctionCall1(numeric_float8, value));
			break;
		default:
			elog(ERROR, "unexpected label type %u", type);
	}
	if (v != 0 && v != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s row " INT64_FORMAT ": label must be 0 or 1, not %g", what, row, v),
				 errhint("Return a boolean label such as grade >= 2 for referable retinopathy.")));
	return (int) v;
}

static void
check_columns(TupleDesc desc, const char *what)
{
	Oid			label = desc->natts >= 2 ? SPI_gettypeid(desc, 2) : InvalidOid;

	if (desc->natts != 2 || SPI_gettypeid(desc, 1) != BYTEAOID ||
		!(label == BOOLOID || label == INT2OID || label == INT4OID || label == INT8OID ||
		  label == FLOAT4OID || label == FLOAT8OID || label == NUMERICOID))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must return two columns (input bytea, label boolean or integer)", what)));
}

/*
 * One transaction for the whole read, as short as reading the rows takes: training then runs from the
 * cache with no snapshot held, however many hours it lasts. The query runs with the owner's privileges,
 * so a table the owner cannot read fails the job with PostgreSQL's own permission error.
 */
void
pgscreen_job_load(JobRun *run, const char *query, const char *what, pgs_data_cache *cache)
{
	MemoryContext row_context;
	Portal		portal;
	uint8	   *image = palloc(cache->record_bytes);
	TimestampTz last_report = 0;
	int64		row = 0;
	SPIParseOpenOptions open_options = {0};
	pgs_error	err;

	pgscreen_worker_xact_begin();
	/* Read-only to the transaction's end: the query reads the training data and nothing else (nor on resume). */
	(void) pgscreen_read_only_begin();
	SPI_connect();
	portal = SPI_cursor_parse_open(NULL, query, &open_options);
	row_context = AllocSetContextCreate(CurrentMemoryContext, "pgscreen job row", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (row == 0)
			check_columns(SPI_tuptable->tupdesc, what);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			MemoryContext old = MemoryContextSwitchTo(row_context);
			bool		input_null,
						label_null;
			Datum		input = SPI_getbinval(tuple, desc, 1, &input_null);
			Datum		label = SPI_getbinval(tuple, desc, 2, &label_null);
			bytea	   *bytes;
			int			label01;

			row++;
			CHECK_FOR_INTERRUPTS();
			if (input_null || label_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s row " INT64_FORMAT ": column \"%s\" (the %s) is null", what, row,
								SPI_fname(desc, input_null ? 1 : 2), input_null ? "input" : "label"),
						 errhint(input_null ? "Leave such rows out with WHERE ... IS NOT NULL; fundus_preprocess "
								 "with ungradable => 'null' gives NULL for ungradable photographs." :
								 "Leave rows without a label out of the query.")));
			label01 = label_value(label, SPI_gettypeid(desc, 2), what, row);
			bytes = DatumGetByteaPP(input);
			pgs_error_clear(&err);
			if (pgs_input_prepare((const uint8_t *) VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), &run->input,
								  image, &err) != PGS_OK)
				pgscreen_raise(&err, psprintf("%s row " INT64_FORMAT, what, row));
			if (pgs_data_cache_append(cache, image, label01, &err) != PGS_OK)
			{
				if (err.code == PGS_ERR_LIMIT)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("could not cache the %s: %s", what, err.message),
							 errhint("pgscreen.job_cache_limit sets the limit.")));
				pgscreen_raise(&err, "could not cache the training data");
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_context);
		}
		SPI_freetuptable(SPI_tuptable);
		if (TimestampDifferenceExceeds(last_report, GetCurrentTimestamp(), REPORT_INTERVAL_MS))
		{
			last_report = GetCurrentTimestamp();
			pgscreen_job_report(run, psprintf("loading %s: " INT64_FORMAT " rows", what, row));
			pgscreen_job_check_cancel(run);
		}
	}
	SPI_cursor_close(portal);
	SPI_finish();
	pgscreen_worker_xact_commit();
	pfree(image);
}
