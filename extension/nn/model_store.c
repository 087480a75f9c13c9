/* Storing models in screen.models and screen.model_weights, and reading their weights back. */
#include "../pgscreen.h"
#include "../train/jobs.h"
#include "models.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

/* Rows of at most 64 MB keep every value far below the 1 GB bytea limit and toast in bounded pieces. */
#define WEIGHT_CHUNK_BYTES ((size_t) 64 << 20)

static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static char *
preprocess_json(const ModelRecord *m)
{
	if (m->kind != MODEL_NETWORK || m->preprocess == PGS_RECIPE_PREPROCESS_NONE)
		return NULL;
	return psprintf("{\"method\": \"%s\", \"diameter\": %d}", pgs_recipe_preprocess_name(m->preprocess),
					m->preprocess_diameter > 0 ? m->preprocess_diameter : m->input_height);
}

void
pgscreen_model_insert_weights(int64 id, const uint8 *weights, size_t weights_len)
{
	for (size_t offset = 0, chunk = 0; offset < weights_len; offset += WEIGHT_CHUNK_BYTES, chunk++)
	{
		size_t		n = Min(WEIGHT_CHUNK_BYTES, weights_len - offset);
		bytea	   *part = palloc(VARHDRSZ + n);

		SET_VARSIZE(part, VARHDRSZ + n);
		memcpy(VARDATA(part), weights + offset, n);
		if (SPI_execute_with_args("INSERT INTO screen.model_weights (model_id, chunk, data) VALUES ($1, $2, $3)",
								  3, (Oid[]) {INT8OID, INT4OID, BYTEAOID},
								  (Datum[]) {Int64GetDatum(id), Int32GetDatum((int32) chunk), PointerGetDatum(part)},
								  NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store the weights of model " INT64_FORMAT, id);
		pfree(part);
	}
}

int64
pgscreen_model_insert(const ModelRecord *m, const uint8 *weights, size_t weights_len)
{
	CatalogAccess access;
	Oid			types[19] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8ARRAYOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[19];
	char		nulls[20] = "                   ";
	bool		network = m->kind == MODEL_NETWORK;
	bool		isnull;
	int64		id;

	values[0] = CStringGetTextDatum(m->name);
	values[1] = ObjectIdGetDatum(m->owner);
	values[2] = CStringGetTextDatum(network ? "network" : "ensemble");
	values[3] = text_or_null(network ? pgs_recipe_arch_name(m->architecture) : NULL, &nulls[3]);
	values[4] = Int32GetDatum(m->input_height);
	values[5] = Int32GetDatum(m->input_width);
	values[6] = Int32GetDatum(m->input_channels);
	nulls[4] = nulls[5] = nulls[6] = network ? ' ' : 'n';
	values[7] = text_or_null(preprocess_json(m), &nulls[7]);
	values[8] = text_or_null(network ? pgs_normalization_name(m->normalization) : NULL, &nulls[8]);
	values[9] = CStringGetTextDatum(m->recipe_json ? m->recipe_json : "{}");
	values[10] = text_or_null(m->training_query, &nulls[10]);
	values[11] = Int64GetDatum(m->training_rows);
	nulls[11] = m->training_query ? ' ' : 'n';
	values[12] = text_or_null(m->validation_query, &nulls[12]);
	values[13] = Int64GetDatum(m->validation_rows);
	nulls[13] = m->validation_query ? ' ' : 'n';
	values[14] = Int64GetDatum(m->job_id);
	nulls[14] = m->job_id ? ' ' : 'n';
	if (m->n_members > 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * m->n_members);

		for (int i = 0; i < m->n_members; i++)
			elems[i] = Int64GetDatum(m->members[i]);
		values[15] = PointerGetDatum(construct_array(elems, m->n_members, INT8OID, 8, FLOAT8PASSBYVAL,
													 TYPALIGN_DOUBLE));
	}
	else
		nulls[15] = 'n';
	values[16] = text_or_null(m->metrics_json, &nulls[16]);
	values[17] = Int64GetDatum((int64) weights_len);
	nulls[17] = weights ? ' ' : 'n';
	values[18] = text_or_null(m->device, &nulls[18]);

	pgscreen_catalog_enter(&access);
	SPI_connect();
	/*
	 * Versions are numbered per owner and name, so another role's models neither take nor reveal numbers;
	 * the lock makes two jobs finishing together take 1 and 2, not 1 twice.
	 */
	if (SPI_execute_with_args("SELECT pg_advisory_xact_lock(hashtext('pgscreen model ' || $2::oid || '.' || $1))", 2,
							  (Oid[]) {TEXTOID, OIDOID}, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the model name");
	if (SPI_execute_with_args(
							  "INSERT INTO screen.models (name, version, owner, kind, architecture, input_height, "
							  "input_width, input_channels, preprocess, normalization, recipe, training_query, training_rows, "
							  "validation_query, validation_rows, job_id, members, metrics, weights_bytes) "
							  "SELECT $1, coalesce((SELECT max(version) FROM screen.models WHERE name = $1 AND owner = $2::regrole), 0) + 1, "
							  "$2::regrole, $3, $4, $5, $6, $7, $8::jsonb, $9, "
							  "$10::jsonb || jsonb_build_object('software', jsonb_build_object("
							  "'pgscreen', (SELECT extversion FROM pg_extension WHERE extname = 'pgscreen'), "
							  "'postgresql', current_setting('server_version'), 'device', $19)), "
							  "$11, $12, $13, $14, $15, $16, $17::jsonb, $18 RETURNING id",
							  19, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert the model");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (weights != NULL)
		pgscreen_model_insert_weights(id, weights, weights_len);
	SPI_finish();
	pgscreen_catalog_leave(&access);
	return id;
}

bytea *
pgscreen_model_weights(int64 id)
{
	MemoryContext caller = CurrentMemoryContext;
	bytea	   *result = NULL;
	size_t		total = 0,
				offset = 0;

	SPI_connect();
	if (SPI_execute_with_args("SELECT data FROM screen.model_weights WHERE model_id = $1 ORDER BY chunk", 1,
							  (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the weights of model " INT64_FORMAT, id);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *part = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		total += VARSIZE_ANY_EXHDR(part);
	}
	if (SPI_processed == 0 || total > MaxAllocHugeSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model " INT64_FORMAT " has no weights", id)));
	result = MemoryContextAllocHuge(caller, VARHDRSZ + total);
	SET_VARSIZE(result, VARHDRSZ + total);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *part = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		memcpy(VARDATA(result) + offset, VARDATA_ANY(part), VARSIZE_ANY_EXHDR(part));
		offset += VARSIZE_ANY_EXHDR(part);
	}
	SPI_finish();
	return result;
}
