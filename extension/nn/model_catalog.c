/* Looking up models in screen.models by [owner.]name[:version] or id, as the calling role sees them. */
#include "../pgscreen.h"
#include "models.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define MODEL_COLUMNS \
	"id, name, version, kind, architecture, input_height, input_width, input_channels, " \
	"preprocess->>'method', (preprocess->>'diameter')::int, normalization, members"

void
pgscreen_model_check_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= 64 || strchr(name, ':') != NULL || strchr(name, '.') != NULL ||
		isspace((unsigned char) name[0]) || isspace((unsigned char) name[len - 1]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to 63 bytes, no colon or dot, and no blanks at either end; \"owner.name:version\" picks an owner and a version.")));
}

/*
 * Split "[owner.]name[:version]". The owner is everything before the last dot (role names may hold dots;
 * model names may not), in double quotes when it needs them as regrole's output writes it.
 */
static void
parse_spec(const char *spec, char **owner, char **name, int *version)
{
	char	   *copy = pstrdup(spec);
	char	   *colon = strrchr(copy, ':');
	char	   *dot;

	*owner = NULL;
	*version = 0;
	if (colon != NULL)
	{
		char	   *end;
		long		v = strtol(colon + 1, &end, 10);

		if (*end != '\0' || colon[1] == '\0' || v <= 0 || v > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid model version in \"%s\"", spec),
					 errhint("Name a model as \"name\" for its latest version or \"name:version\".")));
		*colon = '\0';
		*version = (int) v;
	}
	dot = strrchr(copy, '.');
	*name = dot ? dot + 1 : copy;
	if (dot == NULL)
		return;
	*dot = '\0';
	if (copy[0] == '"' && dot - copy >= 2 && dot[-1] == '"')
	{
		StringInfoData role;

		initStringInfo(&role);
		for (const char *p = copy + 1; p < dot - 1; p++)
		{
			appendStringInfoChar(&role, *p);
			if (*p == '"' && p[1] == '"')
				p++;
		}
		*owner = role.data;
	}
	else
		*owner = copy;
	if (**owner == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model owner in \"%s\"", spec),
				 errhint("Qualify a model name as \"owner.name\".")));
}

Oid
pgscreen_model_new_owner(const char *spec, char **name)
{
	char	   *owner_name;
	int			version;
	Oid			owner;

	/* pgscreen numbers the versions: a new model's name has none. */
	if (strchr(spec, ':') != NULL)
		pgscreen_model_check_name(spec);
	parse_spec(spec, &owner_name, name, &version);
	pgscreen_model_check_name(*name);
	if (owner_name == NULL)
		return GetUserId();
	owner = get_role_oid(owner_name, false);
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create models owned by role \"%s\"", owner_name),
				 errdetail("Only roles with the privileges of a model's owner may add versions to its models.")));
	return owner;
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

/*
 * The owner an unqualified name means: the caller's own model of that name if it has one, else the one
 * owner among those whose models of that name the caller can see. Never a guess between owners: a name
 * another role created must not silently replace the model a caller (or a superuser's job) meant.
 */
static Oid
owner_of_unqualified(const char *spec, const char *name)
{
	Oid			me = GetUserId();
	Oid			found = InvalidOid;
	int			owners;
	bool		mine = false;

	SPI_connect();
	if (SPI_execute_with_args("SELECT DISTINCT owner::oid FROM screen.models WHERE name = $1", 1,
							  (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(name)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up a model");
	owners = (int) SPI_processed;
	for (int i = 0; i < owners; i++)
	{
		bool		isnull;
		Oid			owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		mine |= owner == me;
		found = owner;
	}
	SPI_finish();
	if (mine)
		return me;
	if (owners > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_ALIAS),
				 errmsg("model name \"%s\" is ambiguous", spec),
				 errdetail("Models of that name belong to %d roles, none of them the current one.", owners),
				 errhint("Qualify the name with its owner, as \"owner.%s\".", spec)));
	return found;
}

ModelRef *
pgscreen_model_resolve(const char *spec)
{
	char	   *owner_name;
	char	   *name;
	int			version;
	Oid			owner;
	ModelRef   *m = NULL;

	parse_spec(spec, &owner_name, &name, &version);
	owner = owner_name ? get_role_oid(owner_name, true) : owner_of_unqualified(spec, name);
	if (OidIsValid(owner) && version == 0)
		m = lookup("SELECT " MODEL_COLUMNS " FROM screen.models WHERE owner = $1::regrole AND name = $2 "
				   "ORDER BY version DESC LIMIT 1",
				   2, (Oid[]) {OIDOID, TEXTOID}, (Datum[]) {ObjectIdGetDatum(owner), CStringGetTextDatum(name)});
	else if (OidIsValid(owner))
		m = lookup("SELECT " MODEL_COLUMNS " FROM screen.models WHERE owner = $1::regrole AND name = $2 "
				   "AND version = $3",
				   3, (Oid[]) {OIDOID, TEXTOID, INT4OID},
				   (Datum[]) {ObjectIdGetDatum(owner), CStringGetTextDatum(name), Int32GetDatum(version)});
	if (m == NULL && OidIsValid(owner) && version != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" version %d does not exist on this server",
						owner_name ? psprintf("%s.%s", owner_name, name) : name, version),
				 errhint("Import it from a server that has it: screen.import_model() of screen.export_model('%s', %d) there, or screen.distribute_model() there.",
						 name, version)));
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
