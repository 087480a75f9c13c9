/* Training options (jsonb) to a resolved recipe, and the recipe to the JSON recorded with jobs and models. */
#include "../pgscreen.h"
#include "../options.h"
#include "../nn/models.h"

#include <math.h>

#include "common/pg_prng.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

static const char *const training_keys[] = {
	"recipe", "architecture", "input_size", "pretrained", "optimizer", "learning_rate", "momentum",
	"nesterov", "rho", "rmsprop_style", "epsilon", "beta1", "beta2", "weight_decay", "schedule", "warmup_epochs",
	"step_epochs", "gamma", "clip_norm", "dropout", "batch_size", "balance", "max_epochs", "min_auc_gain", "patience",
	"augmentation", "normalization", "preprocess", "seed", "device", "pretrained_model_id", "devices",
	"cpu_replicas", "sync_batchnorm", NULL
};

static const char *const preprocess_keys[] = {"method", "diameter", NULL};

#define NAMES(kind, count) options_names((const char *(*) (int)) pgs_recipe_##kind##_name, (count))

/* "augmentation": true (the preset's own), false (none) or an object changing the preset's own. */
static void
read_augmentation(OptionsReader *reader, pgs_recipe_preset preset, pgs_augment_recipe *aug)
{
	JsonbValue *v = options_get_value(reader, "augmentation");
	OptionsReader nested;

	if (v == NULL)
		return;
	pgs_augment_recipe_published(aug);
	if (v->type == jbvBool)
	{
		if (v->val.boolean)
			pgs_recipe_augmentation_of_preset(preset, aug);
		else
			aug->enabled = false;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		options_wrong_type(reader, "augmentation", "true, false or an object");
	pgs_recipe_augmentation_of_preset(preset, aug);
	(void) options_get_object(reader, "augmentation", options_augmentation_keys, &nested);
	options_read_augmentation(&nested, aug);
}

static void
read_preprocess(OptionsReader *reader, pgs_recipe *r)
{
	const char *const *methods = NAMES(preprocess, PGS_RECIPE_PREPROCESS_N);
	JsonbValue *v = options_get_value(reader, "preprocess");
	OptionsReader nested;
	int			method;

	if (v == NULL)
		return;
	if (v->type == jbvString)
	{
		(void) options_get_enum(reader, "preprocess", methods, &method);
		r->preprocess = method;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		options_wrong_type(reader, "preprocess", "a method name or an object {\"method\": ..., \"diameter\": ...}");
	(void) options_get_object(reader, "preprocess", preprocess_keys, &nested);
	if (!options_get_enum(&nested, "method", methods, &method))
		options_wrong_type(reader, "preprocess", "an object with a \"method\"");
	r->preprocess = method;
	(void) options_get_int(&nested, "diameter", 0, 4096, &r->preprocess_diameter);
}

void
pgscreen_recipe_from_options(Jsonb *options, const char *function, ResolvedRecipe *resolved)
{
	pgs_recipe *r = &resolved->recipe;
	OptionsReader reader;
	int			choice;
	bool		normalization_given;
	char	   *text;
	int64		seed;
	bool		device_given;
	pgs_error	err;

	pgs_recipe_init(r);
	resolved->pretrained_model_id = 0;
	options_begin_jsonb(&reader, options, function, training_keys);

	/* The preset first, so that every other option overrides it; then the architecture's input size. */
	if (options_get_enum(&reader, "recipe", NAMES(preset, PGS_PRESET_N), &choice))
		pgs_recipe_apply_preset(r, choice);
	if (options_get_enum(&reader, "architecture", NAMES(arch, PGS_RECIPE_ARCH_N), &choice))
	{
		r->architecture = choice;
		r->input_size = pgs_recipe_default_input(r->architecture);
	}
	(void) options_get_int(&reader, "input_size", PG_INT32_MIN, PG_INT32_MAX, &r->input_size);
	if (options_get_enum(&reader, "optimizer", NAMES(optimizer, PGS_RECIPE_OPTIMIZER_N), &choice) &&
		choice != (int) r->optimizer)
		pgs_recipe_optimizer_defaults(r, choice);
	(void) options_get_double(&reader, "learning_rate", -INFINITY, INFINITY, &r->learning_rate);
	(void) options_get_double(&reader, "momentum", -INFINITY, INFINITY, &r->momentum);
	(void) options_get_bool(&reader, "nesterov", &r->nesterov);
	(void) options_get_double(&reader, "rho", -INFINITY, INFINITY, &r->rho);
	if (options_get_enum(&reader, "rmsprop_style", NAMES(rmsprop_style, PGS_RECIPE_RMSPROP_STYLE_N), &choice))
		r->rmsprop_style = choice;
	(void) options_get_double(&reader, "epsilon", -INFINITY, INFINITY, &r->epsilon);
	(void) options_get_double(&reader, "beta1", -INFINITY, INFINITY, &r->beta1);
	(void) options_get_double(&reader, "beta2", -INFINITY, INFINITY, &r->beta2);
	(void) options_get_double(&reader, "weight_decay", -INFINITY, INFINITY, &r->weight_decay);
	if (options_get_enum(&reader, "schedule", NAMES(schedule, PGS_RECIPE_LR_N), &choice))
		r->schedule = choice;
	(void) options_get_int(&reader, "warmup_epochs", PG_INT32_MIN, PG_INT32_MAX, &r->warmup_epochs);
	(void) options_get_int(&reader, "step_epochs", PG_INT32_MIN, PG_INT32_MAX, &r->step_epochs);
	(void) options_get_double(&reader, "gamma", -INFINITY, INFINITY, &r->gamma);
	(void) options_get_double(&reader, "clip_norm", -INFINITY, INFINITY, &r->clip_norm);
	(void) options_get_double(&reader, "dropout", -INFINITY, INFINITY, &r->dropout);
	(void) options_get_int(&reader, "batch_size", PG_INT32_MIN, PG_INT32_MAX, &r->batch_size);
	if (options_get_enum(&reader, "balance", NAMES(balance, PGS_RECIPE_BALANCE_N), &choice))
		r->balance = choice;
	(void) options_get_int(&reader, "max_epochs", PG_INT32_MIN, PG_INT32_MAX, &r->max_epochs);
	(void) options_get_double(&reader, "min_auc_gain", -INFINITY, INFINITY, &r->min_auc_gain);
	(void) options_get_int(&reader, "patience", PG_INT32_MIN, PG_INT32_MAX, &r->patience);
	read_augmentation(&reader, r->preset, &r->augmentation);
	normalization_given = options_get_enum(&reader, "normalization",
										   options_names((const char *(*) (int)) pgs_normalization_name, PGS_NORM_N),
										   &choice);
	if (normalization_given)
		r->normalization = choice;
	read_preprocess(&reader, r);

	/* An unseeded run gets a random seed, recorded like every other setting. */
	if (options_get_int64(&reader, "seed", 0, PG_INT64_MAX, &seed))
		r->seed = (uint64) seed;
	else
	{
		pg_prng_state prng;

		pg_prng_seed(&prng, (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32));
		r->seed = pg_prng_uint64(&prng) >> 1;	/* keep it a positive bigint in JSON */
	}

	text = pgscreen_device;
	device_given = options_get_text(&reader, "device", &text);
	{
		char	   *detail = NULL;

		if (!pgscreen_device_check_setting(text, NULL, &detail))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"device\" of %s has unknown value \"%s\"", function, text),
					 errdetail("%s", detail)));
	}
	strlcpy(r->device, text, sizeof(r->device));
	pgscreen_replicas_from_options(&reader, resolved, device_given);

	/* A recorded recipe names the exact model it started from; new options name it by name[:version]. */
	if (options_get_text(&reader, "pretrained", &text))
	{
		if (strlen(text) >= sizeof(r->pretrained))
			options_wrong_type(&reader, "pretrained", "a model name shorter than 64 bytes");
		strlcpy(r->pretrained, text, sizeof(r->pretrained));
		if (!options_get_int64(&reader, "pretrained_model_id", 1, PG_INT64_MAX, &resolved->pretrained_model_id))
		{
			ModelRef   *start = pgscreen_model_resolve(text);

			resolved->pretrained_model_id = start->id;
			/*
			 * Pretrained weights expect the inputs they were trained on (imported ImageNet weights: "imagenet",
			 * or "symmetric" for torchvision's Inception-v3), not the standardization the default uses from
			 * scratch. A recorded recipe already holds the result.
			 */
			if (r->preset == PGS_PRESET_PGSCREEN_DEFAULT && !normalization_given)
				r->normalization = start->normalization;
		}
	}

	pgs_error_clear(&err);
	pgscreen_check(pgs_recipe_validate(r, &err), &err, psprintf("invalid options for %s", function));
}

void
pgscreen_recipe_from_record(Jsonb *record, ResolvedRecipe *resolved)
{
	JsonbValue *legacy = getKeyJsonValueFromContainer(&record->root, "normalisation", strlen("normalisation"), NULL);

	/* Recipes recorded by pgscreen 0.1.0 spelt "normalisation"; read them with today's key. */
	if (legacy != NULL)
	{
		JsonbParseState *state = NULL;
		JsonbValue	key = {.type = jbvString, .val.string = {strlen("normalization"), "normalization"}};
		Jsonb	   *renamed;

		(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		(void) pushJsonbValue(&state, WJB_KEY, &key);
		(void) pushJsonbValue(&state, WJB_VALUE, legacy);
		renamed = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		record = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
													DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(record),
																		CStringGetTextDatum("normalisation")),
													JsonbPGetDatum(renamed)));
	}
	pgscreen_recipe_from_options(record, "screen.train", resolved);
}

/* The shortest decimal that reads back as exactly v: 0.9, not 0.90000000000000002. */
static char *
shortest(double v)
{
	char	   *s = palloc(DOUBLE_SHORTEST_DECIMAL_LEN);

	double_to_shortest_decimal_buf(v, s);
	return s;
}

static void
append_double(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": %s", key, shortest(v));
}

static void
append_string(StringInfo buf, const char *key, const char *v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	escape_json(buf, v);
}

char *
pgscreen_recipe_to_json(const ResolvedRecipe *resolved)
{
	const pgs_recipe *r = &resolved->recipe;
	const pgs_augment_recipe *a = &r->augmentation;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"recipe\": \"%s\"", pgs_recipe_preset_name(r->preset));
	append_string(&buf, "architecture", pgs_recipe_arch_name(r->architecture));
	appendStringInfo(&buf, ", \"input_size\": %d", r->input_size);
	if (r->pretrained[0])
	{
		append_string(&buf, "pretrained", r->pretrained);
		appendStringInfo(&buf, ", \"pretrained_model_id\": " INT64_FORMAT, resolved->pretrained_model_id);
	}
	append_string(&buf, "optimizer", pgs_recipe_optimizer_name(r->optimizer));
	append_double(&buf, "learning_rate", r->learning_rate);
	append_double(&buf, "momentum", r->momentum);
	appendStringInfo(&buf, ", \"nesterov\": %s", r->nesterov ? "true" : "false");
	append_double(&buf, "rho", r->rho);
	append_string(&buf, "rmsprop_style", pgs_recipe_rmsprop_style_name(r->rmsprop_style));
	append_double(&buf, "epsilon", r->epsilon);
	append_double(&buf, "beta1", r->beta1);
	append_double(&buf, "beta2", r->beta2);
	append_double(&buf, "weight_decay", r->weight_decay);
	append_string(&buf, "schedule", pgs_recipe_schedule_name(r->schedule));
	appendStringInfo(&buf, ", \"warmup_epochs\": %d, \"step_epochs\": %d", r->warmup_epochs, r->step_epochs);
	append_double(&buf, "gamma", r->gamma);
	append_double(&buf, "clip_norm", r->clip_norm);
	append_double(&buf, "dropout", r->dropout);
	appendStringInfo(&buf, ", \"batch_size\": %d", r->batch_size);
	append_string(&buf, "balance", pgs_recipe_balance_name(r->balance));
	appendStringInfo(&buf, ", \"max_epochs\": %d", r->max_epochs);
	append_double(&buf, "min_auc_gain", r->min_auc_gain);
	appendStringInfo(&buf, ", \"patience\": %d", r->patience);
	appendStringInfo(&buf, ", \"augmentation\": {\"enabled\": %s, \"flip\": %s, \"brightness\": %s, "
					 "\"saturation\": [%s, %s], \"hue\": %s, \"contrast\": [%s, %s], \"random_order\": %s}",
					 a->enabled ? "true" : "false", a->flip ? "true" : "false", shortest(a->brightness),
					 shortest(a->saturation_lo), shortest(a->saturation_hi), shortest(a->hue),
					 shortest(a->contrast_lo), shortest(a->contrast_hi), a->random_order ? "true" : "false");
	append_string(&buf, "normalization", pgs_normalization_name(r->normalization));
	if (r->preprocess == PGS_RECIPE_PREPROCESS_NONE)
		appendStringInfoString(&buf, ", \"preprocess\": null");
	else
		appendStringInfo(&buf, ", \"preprocess\": {\"method\": \"%s\", \"diameter\": %d}",
						 pgs_recipe_preprocess_name(r->preprocess),
						 r->preprocess_diameter ? r->preprocess_diameter : r->input_size);
	appendStringInfo(&buf, ", \"seed\": " UINT64_FORMAT, r->seed);
	append_string(&buf, "device", r->device);
	pgscreen_replicas_to_json(&buf, &resolved->replicas);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
