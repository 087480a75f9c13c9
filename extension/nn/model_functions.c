/* SQL functions that create and change models: ensembles, untrained and imported networks, model files, operating points. */
#include "../pgscreen.h"
#include "../train/jobs.h"
#include "models.h"
#include "../options.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "../../kernels/train/stored_model.h"

PG_FUNCTION_INFO_V1(pgscreen_ensemble);
PG_FUNCTION_INFO_V1(pgscreen_create_model);
PG_FUNCTION_INFO_V1(pgscreen_import_weights);
PG_FUNCTION_INFO_V1(pgscreen_export_weights);
PG_FUNCTION_INFO_V1(pgscreen_import_model_file);
PG_FUNCTION_INFO_V1(pgscreen_export_model_file);
PG_FUNCTION_INFO_V1(pgscreen_set_operating_point);

/* The published recipe's ensemble: the plain mean of the sigmoid outputs of independently trained networks. */
Datum
pgscreen_ensemble(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(pgscreen_required_text(fcinfo, 0, "name"));
	char	   *name;
	Oid			owner = pgscreen_model_new_owner(spec, &name);
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int64	   *members;
	StringInfoData recipe;
	ModelRecord record = {0};

	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("members must not be NULL")));
	array = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an ensemble needs at least two members")));
	members = palloc(sizeof(int64) * n);
	initStringInfo(&recipe);
	appendStringInfoString(&recipe, "{\"combine\": \"mean of the members' sigmoid outputs\", \"members\": [");
	for (int i = 0; i < n; i++)
	{
		ModelRef   *m;

		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ensemble members must not be NULL")));
		m = pgscreen_model_resolve(TextDatumGetCString(elems[i]));
		if (m->kind != MODEL_NETWORK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ensemble member \"%s\" is itself an ensemble", TextDatumGetCString(elems[i])),
					 errhint("List the networks of that ensemble instead.")));
		for (int j = 0; j < i; j++)
			if (members[j] == m->id)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("model \"%s:%d\" is listed twice", m->name, m->version)));
		members[i] = m->id;
		appendStringInfo(&recipe, "%s{\"id\": " INT64_FORMAT ", \"name\": ", i ? ", " : "", m->id);
		escape_json(&recipe, m->name);
		appendStringInfo(&recipe, ", \"version\": %d}", m->version);
	}
	appendStringInfoString(&recipe, "]}");
	record.name = name;
	record.owner = owner;
	record.kind = MODEL_ENSEMBLE;
	record.recipe_json = recipe.data;
	record.n_members = n;
	record.members = members;
	PG_RETURN_INT64(pgscreen_model_insert(&record, NULL, 0));
}

/* Store a network made by create_model or import_weights as the next version of `name` of `owner`. */
static int64
store_network(Oid owner, const char *name, const ResolvedRecipe *resolved, const uint8_t *weights, size_t len,
			  const char *metrics)
{
	const pgs_recipe *r = &resolved->recipe;
	ModelRecord record = {0};

	record.name = name;
	record.owner = owner;
	record.kind = MODEL_NETWORK;
	record.architecture = r->architecture;
	record.input_height = record.input_width = r->input_size;
	record.input_channels = 3;
	record.preprocess = r->preprocess;
	record.preprocess_diameter = r->preprocess_diameter ? r->preprocess_diameter : r->input_size;
	record.normalization = r->normalization;
	record.recipe_json = pgscreen_recipe_to_json(resolved);
	record.device = "cpu";
	record.metrics_json = metrics;
	return pgscreen_model_insert(&record, weights, len);
}

/* An untrained network, its weights drawn from the seed exactly as train() would start: a baseline. */
Datum
pgscreen_create_model(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(pgscreen_required_text(fcinfo, 0, "name"));
	char	   *name;
	Oid			owner = pgscreen_model_new_owner(spec, &name);
	ResolvedRecipe resolved;
	PgscreenAllocator allocator;
	pgs_scoring_recipe scoring;
	uint8_t    *weights;
	size_t		len;
	pgs_error	err;
	const pgs_recipe *r;

	pgscreen_recipe_from_options(pgscreen_options_or_empty(fcinfo, 1), "screen.create_model", &resolved);
	r = &resolved.recipe;
	pgs_scoring_recipe_of(r, &scoring);
	pgscreen_allocator_init(&allocator, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_stored_model_initial(r->architecture, r->input_size, r->input_size, 3, r->seed, &scoring,
											&allocator.base, &weights, &len, &err), &err,
				   "could not initialise the network");
	PG_RETURN_INT64(store_network(owner, name, &resolved, weights, len, "{\"untrained\": true}"));
}

/*
 * Weights from an .npz with torchvision's names (a PyTorch state_dict saved with numpy.savez, or
 * export_weights) into the network the options describe. A classifier of another shape (ImageNet's 1000
 * classes) keeps its initial values from the seed: such a model is a starting point for train(pretrained).
 */
Datum
pgscreen_import_weights(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(pgscreen_required_text(fcinfo, 0, "name"));
	char	   *name;
	Oid			owner = pgscreen_model_new_owner(spec, &name);
	bytea	   *npz;
	ResolvedRecipe resolved;
	PgscreenAllocator allocator;
	pgs_scoring_recipe scoring;
	uint8_t    *weights;
	size_t		len;
	pgs_error	err;
	const pgs_recipe *r;

	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("weights must not be NULL")));
	npz = PG_GETARG_BYTEA_PP(1);
	pgscreen_recipe_from_options(pgscreen_options_or_empty(fcinfo, 2), "screen.import_weights", &resolved);
	r = &resolved.recipe;
	pgs_scoring_recipe_of(r, &scoring);
	pgscreen_allocator_init(&allocator, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_stored_model_from_npz(r->architecture, r->input_size, &scoring,
											 (const uint8 *) VARDATA_ANY(npz), VARSIZE_ANY_EXHDR(npz), r->seed,
											 &allocator.base, &weights, &len, &err), &err,
				   "could not import the weights");
	PG_RETURN_INT64(store_network(owner, name, &resolved, weights, len, "{\"imported\": true}"));
}

Datum
pgscreen_export_weights(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ModelRef   *m = pgscreen_model_resolve(spec);
	bytea	   *weights;
	PgscreenAllocator allocator;
	uint8_t    *npz;
	size_t		len;
	pgs_error	err;
	pgs_status	st;

	if (m->kind != MODEL_NETWORK)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s:%d\" is an ensemble and has no weights of its own", m->name, m->version),
				 errhint("Export its members.")));
	weights = pgscreen_model_weights(m->id);
	pgscreen_allocator_init(&allocator, true);
	pgs_error_clear(&err);
	st = pgs_stored_model_to_npz((const uint8 *) VARDATA(weights), VARSIZE(weights) - VARHDRSZ, &allocator.base,
								 &npz, &len, &err);
	pgscreen_check_result(&allocator, st, &err, psprintf("could not export model \"%s:%d\"", m->name, m->version));
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&allocator, npz, len));
}

/*
 * A model file (model_init, model_from_npz, export_model_file) as the next version of `name`: the file is
 * stored as it is, and its catalog row is what the file says about itself.
 */
Datum
pgscreen_import_model_file(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(pgscreen_required_text(fcinfo, 0, "name"));
	char	   *name;
	Oid			owner = pgscreen_model_new_owner(spec, &name);
	bytea	   *file;
	pgs_stored_model_description about;
	ModelRecord record = {0};
	StringInfoData recipe;
	pgs_error	err;

	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("model_file must not be NULL")));
	file = PG_GETARG_BYTEA_PP(1);
	pgs_error_clear(&err);
	if (pgs_stored_model_describe((const uint8 *) VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file), &about, &err) != PGS_OK)
		pgscreen_raise(&err, "invalid model file");
	initStringInfo(&recipe);
	appendStringInfo(&recipe, "{\"source\": \"model file\", \"architecture\": \"%s\", \"normalization\": \"%s\", "
					 "\"preprocess\": \"%s\"}",
					 pgs_recipe_arch_name(about.architecture), pgs_normalization_name(about.scoring.normalization),
					 pgs_recipe_preprocess_name(about.scoring.preprocess));
	record.name = name;
	record.owner = owner;
	record.kind = MODEL_NETWORK;
	record.architecture = about.architecture;
	record.input_height = about.height;
	record.input_width = about.width;
	record.input_channels = about.channels;
	record.preprocess = about.scoring.preprocess;
	record.preprocess_diameter = about.scoring.preprocess == PGS_RECIPE_PREPROCESS_NONE ? about.height :
		about.scoring.preprocess_diameter;
	record.normalization = about.scoring.normalization;
	record.recipe_json = recipe.data;
	record.device = "cpu";
	record.metrics_json = "{\"imported\": true}";
	PG_RETURN_INT64(pgscreen_model_insert(&record, (const uint8 *) VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file)));
}

/* The model file of a network: what the catalog stores, readable by model_info, model_to_npz, import_model_file. */
Datum
pgscreen_export_model_file(PG_FUNCTION_ARGS)
{
	ModelRef   *m = pgscreen_model_resolve(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	if (m->kind != MODEL_NETWORK)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s:%d\" is an ensemble and has no model file of its own", m->name, m->version),
				 errhint("Export its members.")));
	PG_RETURN_BYTEA_P(pgscreen_model_weights(m->id));
}

/*
 * Store a threshold chosen on a tuning set under a name (say high_sensitivity), so classify() applies
 * exactly it. Only roles with the owner's privileges may change a model.
 */
Datum
pgscreen_set_operating_point(PG_FUNCTION_ARGS)
{
	char	   *spec = text_to_cstring(pgscreen_required_text(fcinfo, 0, "model"));
	char	   *point = text_to_cstring(pgscreen_required_text(fcinfo, 1, "operating_point"));
	double		threshold;
	ModelRef   *m;
	Oid			owner;
	Oid			caller = GetUserId();
	CatalogAccess access;
	bool		isnull;

	if (PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("threshold must not be NULL")));
	threshold = PG_GETARG_FLOAT8(2);
	if (isnan(threshold))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be a number, not NaN")));
	if (point[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operating point name must not be empty")));
	m = pgscreen_model_resolve(spec);
	SPI_connect();
	if (SPI_execute_with_args("SELECT owner::oid FROM screen.models WHERE id = $1", 1, (Oid[]) {INT8OID},
							  (Datum[]) {Int64GetDatum(m->id)}, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model " INT64_FORMAT " vanished", m->id);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (!has_privs_of_role(caller, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to change model \"%s:%d\"", m->name, m->version),
				 errdetail("Only roles with the privileges of the model's owner may change it.")));
	/* set_by names the caller: inside catalog access the current user is the extension's owner. */
	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args("UPDATE screen.models SET operating_points = operating_points || "
							  "jsonb_build_object($2::text, jsonb_build_object('threshold', $3::float8, "
							  "'set_at', now(), 'set_by', $4::regrole::text)) WHERE id = $1",
							  4, (Oid[]) {INT8OID, TEXTOID, FLOAT8OID, OIDOID},
							  (Datum[]) {Int64GetDatum(m->id), CStringGetTextDatum(point), Float8GetDatum(threshold),
							  ObjectIdGetDatum(caller)}, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not store the operating point");
	SPI_finish();
	pgscreen_catalog_leave(&access);
	PG_RETURN_VOID();
}
