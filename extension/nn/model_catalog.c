/* Looking up models in screen.models by name, name:version or id, as the calling role sees them. */
#include "../pgscreen.h"
#include "models.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define MODEL_COLUMNS \
	"id, name, version, kind, architecture, input_height, input_width, input_channels, " \
	"preprocess->>'method', (preprocess->>'diameter')::int, normalization, members"

void
pgscreen_model_check_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= 64 || strchr(name, ':') != NULL ||
		isspace((unsigned char) name[0]) || isspace((unsigned char) name[len - 1]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to 63 bytes, no colon, and no blanks at either end; \"name:version\" picks a version.")));
}

static int
parse_enum(const char *value, int (*parse) (const char *), const char *what, int64 id)
{
	int			v = value ? parse(value) : -1;

	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model " INT64_FORMAT " has an unknown %s \"%s\"", id, what, value ? value : "")));
	return v;
}

/* Build a ModelRef from row 0 of SPI_tuptable, allocated in `target`. */
static ModelRef *
model_from_row(MemoryContext target)
{
	HeapTuple	t = SPI_tuptable->vals[0];
	TupleDesc	d = SPI_tuptable->tupdesc;
	MemoryContext old = MemoryContextSwitchTo(target);
	ModelRef   *m = palloc0(sizeof(ModelRef));
	bool		isnull;
	char	   *kind;
	Datum		members;

	m->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	m->name = SPI_getvalue(t, d, 2);
	m->version = DatumGetInt32(SPI_getbinval(t, d, 3, &isnull));
	kind = SPI_getvalue(t, d, 4);
	m->kind = strcmp(kind, "ensemble") == 0 ? MODEL_ENSEMBLE : MODEL_NETWORK;
	if (m->kind == MODEL_NETWORK)
	{
		char	   *method = SPI_getvalue(t, d, 9);

		m->architecture = parse_enum(SPI_getvalue(t, d, 5), pgs_recipe_arch_parse, "architecture", m->id);
		m->input_height = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		m->input_width = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
		m->input_channels = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
		m->preprocess = method ? parse_enum(method, pgs_recipe_preprocess_parse, "preprocessing", m->id)
			: PGS_RECIPE_PREPROCESS_NONE;
		m->preprocess_diameter = DatumGetInt32(SPI_getbinval(t, d, 10, &isnull));
		if (isnull)
			m->preprocess_diameter = m->input_height;
		m->normalization = parse_enum(SPI_getvalue(t, d, 11), pgs_recipe_normalization_parse, "normalization", m->id);
	}
	members = SPI_getbinval(t, d, 12, &isnull);
	if (!isnull)
	{
		ArrayType  *array = DatumGetArrayTypeP(members);
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(array, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &m->n_members);
		m->members = palloc(sizeof(int64) * Max(m->n_members, 1));
		for (int i = 0; i < m->n_members; i++)
			m->members[i] = DatumGetInt64(elems[i]);
	}
	MemoryContextSwitchTo(old);
	return m;
}

/* Run a lookup as the caller (row-level security applies); NULL when no row. */
static ModelRef *
lookup(const char *sql, int nargs, Oid *types, Datum *values)
{
	MemoryContext caller = CurrentMemoryContext;
	ModelRef   *m = NULL;

	SPI_connect();
	/* Read-only: predict() runs in parallel workers, where a read-write SPI query is not allowed. */
	if (SPI_execute_with_args(sql, nargs, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up a model");
	if (SPI_processed == 1)
		m = model_from_row(caller);
	SPI_finish();
	return m;
}

ModelRef *
pgscreen_model_resolve(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char	   *name = pstrdup(spec);
	int			version = 0;
	ModelRef   *m;

	if (colon != NULL)
	{
		char	   *end;
		long		v = strtol(colon + 1, &end, 10);

		if (*end != '\0' || colon[1] == '\0' || v <= 0 || v > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid model version in \"%s\"", spec),
					 errhint("Name a model as \"name\" for its latest version or \"name:version\".")));
		name[colon - spec] = '\0';
		version = (int) v;
	}
	if (version == 0)
		m = lookup("SELECT " MODEL_COLUMNS " FROM screen.models WHERE name = $1 ORDER BY version DESC LIMIT 1",
				   1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(name)});
	else
		m = lookup("SELECT " MODEL_COLUMNS " FROM screen.models WHERE name = $1 AND version = $2",
				   2, (Oid[]) {TEXTOID, INT4OID}, (Datum[]) {CStringGetTextDatum(name), Int32GetDatum(version)});
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", spec)));
	return m;
}

ModelRef *
pgscreen_model_by_id(int64 id)
{
	return lookup("SELECT " MODEL_COLUMNS " FROM screen.models WHERE id = $1",
				  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(id)});
}
