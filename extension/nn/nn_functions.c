/* SQL functions over model files and .npz weights: model_init, model_info, model_from_npz, model_to_npz. */
#include "../pgscreen.h"
#include "../options.h"

#include <math.h>

#include "access/parallel.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "../../kernels/nn/model_file.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/npz.h"
#include "../../kernels/train/stored_model.h"

int			pgscreen_cpu_threads = 0;

/*
 * The network engine's CPU thread pool starts on first use in a backend, never here. Parallel workers
 * always use one thread (pgscreen_configure_device).
 */
void
pgscreen_nn_init(void)
{
	DefineCustomIntVariable("pgscreen.cpu_threads",
							"Threads the network engine uses on the CPU; 0 means one per core.",
							"Parallel query workers use one thread each whatever this says.",
							&pgscreen_cpu_threads,
							0,
							0, 1024,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}

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

static const char *const model_keys[] = {
	"head", "outputs", "aux_logits", "input_channels", "input_height", "input_width", "dropout", "bn_eps",
	"bn_momentum", "recipe", "pretrained", NULL
};

/* The scoring recipe a model file carries (kernels/train/stored_model.h). */
static const char *const model_keys_no_pretrained[] = {
	"head", "outputs", "aux_logits", "input_channels", "input_height", "input_width", "dropout", "bn_eps",
	"bn_momentum", "recipe", NULL
};

static const char *const recipe_keys[] = {"normalization", "preprocess", "preprocess_diameter", NULL};

static void
set_recipe(pgs_model_recipe *recipe, const char *key, const char *value)
{
	pgs_error	err;

	pgs_error_clear(&err);
	pgscreen_check(pgs_model_recipe_set(recipe, key, value, &err), &err, "invalid model recipe");
}

/* "recipe": how inputs are preprocessed and normalized, stored with the model and checked again on read. */
static void
read_recipe(OptionsReader *reader, pgs_model_recipe *recipe)
{
	OptionsReader nested;
	int			choice;
	int			diameter;
	pgs_error	err;

	if (!options_get_object(reader, "recipe", recipe_keys, &nested))
		return;
	if (options_get_enum(&nested, "normalization",
						 options_names((const char *(*) (int)) pgs_normalization_name, PGS_NORM_N), &choice))
		set_recipe(recipe, "normalization", pgs_normalization_name(choice));
	if (options_get_enum(&nested, "preprocess",
						 options_names((const char *(*) (int)) pgs_recipe_preprocess_name, PGS_RECIPE_PREPROCESS_N),
						 &choice))
		set_recipe(recipe, "preprocess", pgs_recipe_preprocess_name(choice));
	if (options_get_int(&nested, "preprocess_diameter", 0, PGS_SCORING_MAX_DIAMETER, &diameter))
		set_recipe(recipe, "preprocess_diameter", psprintf("%d", diameter));
	pgs_error_clear(&err);
	pgscreen_check(pgs_scoring_recipe_check(recipe, &err), &err, "invalid model recipe");
}

static void
parse_model_options(Jsonb *options, const char *function, bool allow_pretrained, ModelOptions *out)
{
	pgs_net_config *c = &out->config;
	OptionsReader reader;
	const char *heads[] = {pgs_head_name(PGS_HEAD_SIGMOID), pgs_head_name(PGS_HEAD_SOFTMAX), NULL};
	float8		f;
	int			head;

	options_begin(&reader, &options->root, function, "", allow_pretrained ? model_keys : model_keys_no_pretrained);
	if (options_get_enum(&reader, "head", heads, &head))
		c->head = head == 0 ? PGS_HEAD_SIGMOID : PGS_HEAD_SOFTMAX;
	(void) options_get_int(&reader, "outputs", 1, 100000, &c->outputs);
	(void) options_get_bool(&reader, "aux_logits", &c->aux_logits);
	(void) options_get_int(&reader, "input_channels", 1, 64, &c->in_channels);
	(void) options_get_int(&reader, "input_height", 1, 8192, &c->in_height);
	(void) options_get_int(&reader, "input_width", 1, 8192, &c->in_width);
	if (options_get_double(&reader, "dropout", -INFINITY, INFINITY, &f))
		c->dropout = (float) f;
	if (options_get_double(&reader, "bn_eps", -INFINITY, INFINITY, &f))
		c->bn_eps = (float) f;
	if (options_get_double(&reader, "bn_momentum", -INFINITY, INFINITY, &f))
		c->bn_momentum = (float) f;
	read_recipe(&reader, &out->recipe);
	(void) options_get_bool(&reader, "pretrained", &out->pretrained);
}

/* The architecture argument and options into a checked configuration. */
static void
model_options(text *architecture, Jsonb *options, const char *function, bool allow_pretrained, ModelOptions *out)
{
	pgs_arch	arch;
	pgs_error	err;

	memset(out, 0, sizeof(*out));
	pgs_error_clear(&err);
	pgscreen_check(pgs_arch_parse(text_to_cstring(architecture), &arch, &err), &err, "invalid architecture");
	pgs_net_config_defaults(&out->config, arch);
	parse_model_options(options, function, allow_pretrained, out);
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
	pgscreen_check_result(&file, st, &err, what);
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

	model_options(PG_GETARG_TEXT_PP(0), PG_GETARG_JSONB_P(1), "screen.model_init", false, &o);
	PG_RETURN_BYTEA_P(build_model(&o, PG_GETARG_INT64(2), NULL, 0));
}

Datum
pgscreen_model_from_npz(PG_FUNCTION_ARGS)
{
	bytea	   *npz = PG_GETARG_BYTEA_PP(0);
	ModelOptions o;

	model_options(PG_GETARG_TEXT_PP(1), PG_GETARG_JSONB_P(2), "screen.model_from_npz", true, &o);
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
	pgscreen_check_result(&file, st, &err, "could not export weights");
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
	pgscreen_check(pgs_scoring_recipe_check(&info->recipe, &err), &err, "invalid model");
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
