/* SQL functions over model files and .npz weights: model_init, model_info, model_from_npz, model_to_npz. */
#include "../pgscreen.h"

#include "access/parallel.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "../../kernels/nn/model_file.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/npz.h"

PG_FUNCTION_INFO_V1(pgscreen_model_init);
PG_FUNCTION_INFO_V1(pgscreen_model_info);
PG_FUNCTION_INFO_V1(pgscreen_model_from_npz);
PG_FUNCTION_INFO_V1(pgscreen_model_to_npz);

/*
 * Device settings from the GUCs. A parallel worker uses one thread: its parallelism is the query's, and
 * several workers each running a full pool would only fight over the cores.
 */
void
pgscreen_configure_device(const pgs_ops *ops)
{
	pgs_device_options options = {IsParallelWorker() ? 1 : pgscreen_cpu_threads, (size_t) 1 << 30, false, true};
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_check(ops->configure(ops->ctx, &options, &err), &err, "could not configure the device");
}

/* What model_init and model_from_npz accept in their options argument. */
typedef struct ModelOptions
{
	pgs_net_config config;
	pgs_model_recipe recipe;
	bool		pretrained;
} ModelOptions;

static const char *const option_names =
"head, outputs, aux_logits, input_channels, input_height, input_width, dropout, bn_eps, bn_momentum, recipe";

static char *
jsonb_scalar_text(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

static void
bad_option(const char *key, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("model option \"%s\" must be %s", key, expected)));
}

static int
int_option(const char *key, const JsonbValue *v, int lo, int hi)
{
	char	   *text = v->type == jbvNumeric ? jsonb_scalar_text(v) : NULL;
	char	   *end;
	long		n;

	if (text == NULL)
		bad_option(key, "a number");
	n = strtol(text, &end, 10);
	if (*end != '\0' || n < lo || n > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model option \"%s\" must be an integer from %d to %d", key, lo, hi)));
	return (int) n;
}

static float
float_option(const char *key, const JsonbValue *v)
{
	if (v->type != jbvNumeric)
		bad_option(key, "a number");
	return (float) DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static bool
bool_option(const char *key, const JsonbValue *v)
{
	if (v->type != jbvBool)
		bad_option(key, "true or false");
	return v->val.boolean;
}

/* "recipe": {"key": "value", …} — how inputs are preprocessed and normalised, stored with the model. */
static void
parse_recipe(const JsonbValue *v, pgs_model_recipe *recipe)
{
	JsonbIterator *it;
	JsonbValue	kv;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_option("recipe", "an object of strings");
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(kv.val.string.val, kv.val.string.len);
		else if (tok == WJB_VALUE)
		{
			char	   *value = jsonb_scalar_text(&kv);
			pgs_error	err;

			if (value == NULL)
				bad_option("recipe", "an object of strings");
			pgs_error_clear(&err);
			pgscreen_check(pgs_model_recipe_set(recipe, key, value, &err), &err, "invalid model recipe");
		}
	}
}

static void
parse_model_options(Jsonb *options, bool allow_pretrained, ModelOptions *out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(options) || JB_ROOT_IS_SCALAR(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model options must be a JSON object")));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		pgs_net_config *c = &out->config;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (strcmp(key, "head") == 0)
		{
			char	   *text = v.type == jbvString ? jsonb_scalar_text(&v) : NULL;
			pgs_error	err;

			pgs_error_clear(&err);
			if (text == NULL)
				bad_option(key, "\"sigmoid\" or \"softmax\"");
			pgscreen_check(pgs_head_parse(text, &c->head, &err), &err, "invalid model option");
		}
		else if (strcmp(key, "outputs") == 0)
			c->outputs = int_option(key, &v, 1, 100000);
		else if (strcmp(key, "aux_logits") == 0)
			c->aux_logits = bool_option(key, &v);
		else if (strcmp(key, "input_channels") == 0)
			c->in_channels = int_option(key, &v, 1, 64);
		else if (strcmp(key, "input_height") == 0)
			c->in_height = int_option(key, &v, 1, 8192);
		else if (strcmp(key, "input_width") == 0)
			c->in_width = int_option(key, &v, 1, 8192);
		else if (strcmp(key, "dropout") == 0)
			c->dropout = float_option(key, &v);
		else if (strcmp(key, "bn_eps") == 0)
			c->bn_eps = float_option(key, &v);
		else if (strcmp(key, "bn_momentum") == 0)
			c->bn_momentum = float_option(key, &v);
		else if (strcmp(key, "recipe") == 0)
			parse_recipe(&v, &out->recipe);
		else if (strcmp(key, "pretrained") == 0 && allow_pretrained)
			out->pretrained = bool_option(key, &v);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown model option \"%s\"", key),
					 errhint("Valid options are %s%s.", option_names, allow_pretrained ? ", pretrained" : "")));
	}
}

/* The architecture argument and options into a checked configuration. */
static void
model_options(text *architecture, Jsonb *options, bool allow_pretrained, ModelOptions *out)
{
	pgs_arch	arch;
	pgs_error	err;

	memset(out, 0, sizeof(*out));
	pgs_error_clear(&err);
	pgscreen_check(pgs_arch_parse(text_to_cstring(architecture), &arch, &err), &err, "invalid architecture");
	pgs_net_config_defaults(&out->config, arch);
	parse_model_options(options, allow_pretrained, out);
	pgscreen_check(pgs_net_config_check(&out->config, &err), &err, "invalid model options");
}

/*
 * Build a network on the CPU (weight files never need a GPU), initialise it from the seed, optionally load
 * .npz weights over it, and serialise it. Kernel memory is malloc'd: every path frees it before raising.
 */
static bytea *
build_model(const ModelOptions *o, int64 seed, const uint8_t *npz, size_t npz_len)
{
	const pgs_ops *ops = pgs_cpu_ops();
	PgscreenAllocator file;
	pgs_net    *net = NULL;
	pgs_npz_report report;
	pgs_error	err;
	pgs_status	st;
	uint8_t    *out = NULL;
	size_t		len = 0;
	const char *what = "could not build the network";

	pgscreen_configure_device(ops);
	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_net_create(ops, &o->config, &net, &err);
	if (st == PGS_OK)
		st = pgs_net_init_weights(net, (uint64_t) seed, &err);
	if (st == PGS_OK && npz != NULL)
	{
		what = "could not import weights";
		st = pgs_npz_import(net, npz, npz_len, o->pretrained ? PGS_NPZ_PRETRAINED : PGS_NPZ_EXACT, &report, &err);
	}
	if (st == PGS_OK)
	{
		what = "could not write the model";
		st = pgs_model_write(net, &o->recipe, NULL, &file.base, &out, &len, &err);
	}
	pgs_net_free(net);
	if (file.too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("result would exceed the 1 GB limit of a bytea value")));
	pgscreen_check(st, &err, what);
	if (npz != NULL && report.skipped > 0)
		ereport(NOTICE,
				(errmsg("%d tensors of the weights were not used, starting with \"%s\"", report.skipped,
						report.first_skipped),
				 errdetail("With \"pretrained\", classifier tensors of another shape and an auxiliary head this network does not have are left out; the network's own classifier keeps its seeded initial values.")));
	return pgscreen_bytea_result(&file, out, len);
}

Datum
pgscreen_model_init(PG_FUNCTION_ARGS)
{
	ModelOptions o;

	model_options(PG_GETARG_TEXT_PP(0), PG_GETARG_JSONB_P(1), false, &o);
	PG_RETURN_BYTEA_P(build_model(&o, PG_GETARG_INT64(2), NULL, 0));
}

Datum
pgscreen_model_from_npz(PG_FUNCTION_ARGS)
{
	bytea	   *npz = PG_GETARG_BYTEA_PP(0);
	ModelOptions o;

	model_options(PG_GETARG_TEXT_PP(1), PG_GETARG_JSONB_P(2), true, &o);
	PG_RETURN_BYTEA_P(build_model(&o, PG_GETARG_INT64(3), (const uint8_t *) VARDATA_ANY(npz),
								  VARSIZE_ANY_EXHDR(npz)));
}

Datum
pgscreen_model_to_npz(PG_FUNCTION_ARGS)
{
	bytea	   *model = PG_GETARG_BYTEA_PP(0);
	bool		deflate = PG_GETARG_BOOL(1);
	const pgs_ops *ops = pgs_cpu_ops();
	PgscreenAllocator file;
	pgs_net    *net = NULL;
	pgs_error	err;
	pgs_status	st;
	uint8_t    *out = NULL;
	size_t		len = 0;

	pgscreen_configure_device(ops);
	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_model_load(ops, (const uint8_t *) VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &net, NULL, &err);
	pgscreen_check(st, &err, "could not read the model");
	st = pgs_npz_export(net, deflate, &file.base, &out, &len, &err);
	pgs_net_free(net);
	if (file.too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("result would exceed the 1 GB limit of a bytea value")));
	pgscreen_check(st, &err, "could not export weights");
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, out, len));
}

static Datum
recipe_jsonb(const pgs_model_recipe *recipe)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (int i = 0; i < recipe->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&json, ", ");
		escape_json(&json, recipe->items[i].key);
		appendStringInfoString(&json, ": ");
		escape_json(&json, recipe->items[i].value);
	}
	appendStringInfoChar(&json, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data));
}

#define MODEL_INFO_COLUMNS 14

Datum
pgscreen_model_info(PG_FUNCTION_ARGS)
{
	bytea	   *model = PG_GETARG_BYTEA_PP(0);
	pgs_model_info *info = palloc(sizeof(pgs_model_info));
	pgs_error	err;
	TupleDesc	tupdesc;
	Datum		values[MODEL_INFO_COLUMNS];
	bool		nulls[MODEL_INFO_COLUMNS] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "model_info must return a composite type");
	pgs_error_clear(&err);
	pgscreen_check(pgs_model_read_info((const uint8_t *) VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), info, &err),
				   &err, "invalid model");
	values[0] = CStringGetTextDatum(pgs_arch_name(info->config.arch));
	values[1] = CStringGetTextDatum(pgs_head_name(info->config.head));
	values[2] = Int32GetDatum(info->config.outputs);
	values[3] = BoolGetDatum(info->config.aux_logits);
	values[4] = Int32GetDatum(info->config.in_channels);
	values[5] = Int32GetDatum(info->config.in_height);
	values[6] = Int32GetDatum(info->config.in_width);
	values[7] = Int64GetDatum((int64) info->parameters);
	values[8] = Int32GetDatum(info->tensors);
	values[9] = Int64GetDatum(info->batches_tracked);
	values[10] = recipe_jsonb(&info->recipe);
	nulls[11] = nulls[12] = !info->has_optimizer;
	values[11] = info->has_optimizer ? CStringGetTextDatum(pgs_optimizer_kind_name(info->optimizer)) : (Datum) 0;
	values[12] = Int64GetDatum(info->optimizer_steps);
	values[13] = Int32GetDatum(info->format_version);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
