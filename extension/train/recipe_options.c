/* Training options (jsonb) to a resolved recipe, and the recipe to the JSON recorded with jobs and models. */
#include "../pgscreen.h"
#include "../options.h"
#include "../nn/models.h"

#include "common/pg_prng.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

static const char *const training_keys[] = {
	"recipe", "architecture", "input_size", "pretrained", "optimizer", "learning_rate", "momentum",
	"nesterov", "rho", "rmsprop_style", "epsilon", "beta1", "beta2", "weight_decay", "schedule", "step_epochs", "gamma",
	"warmup_epochs", "clip_norm", "dropout", "batch_size", "max_epochs", "min_auc_gain", "patience", "augmentation", "normalisation",
	"preprocess", "seed", "device", "pretrained_model_id", NULL
};

static const char *const augmentation_keys[] = {
	"enabled", "flip", "brightness", "saturation", "hue", "contrast", NULL
};

static const char *const preprocess_keys[] = {"method", "diameter", NULL};

/* A named choice: parse with the kernel's parser, or list the valid names. */
static int
get_choice(OptionsReader *reader, const char *key, int (*parse) (const char *), const char *valid, int *out)
{
	char	   *name;
	int			v;

	if (!options_get_string(reader, key, &name))
		return false;
	v = parse(name);
	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" has unknown value \"%s\"", reader->what, key, name),
				 errhint("Valid values are %s.", valid)));
	*out = v;
	return true;
}

static void
read_augmentation(OptionsReader *reader, pgs_recipe_augmentation *aug)
{
	JsonbValue *v = options_get_value(reader, "augmentation");
	OptionsReader nested;

	if (v == NULL)
		return;
	if (v->type == jbvBool)
	{
		if (v->val.boolean)
			pgs_recipe_augmentation_published(aug);
		else
			aug->enabled = false;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		options_wrong_type(reader, "augmentation", "true, false or an object");
	pgs_recipe_augmentation_published(aug);
	options_begin(&nested, v->val.binary.data, reader->what, "augmentation.", augmentation_keys);
	(void) options_get_bool(&nested, "enabled", &aug->enabled);
	(void) options_get_bool(&nested, "flip", &aug->flip);
	(void) options_get_double(&nested, "brightness", &aug->brightness);
	(void) options_get_range(&nested, "saturation", &aug->saturation_low, &aug->saturation_high);
	(void) options_get_double(&nested, "hue", &aug->hue);
	(void) options_get_range(&nested, "contrast", &aug->contrast_low, &aug->contrast_high);
}

static void
read_preprocess(OptionsReader *reader, pgs_recipe *r)
{
	JsonbValue *v = options_get_value(reader, "preprocess");
	OptionsReader nested;
	int			method;

	if (v == NULL)
		return;
	if (v->type == jbvString)
	{
		(void) get_choice(reader, "preprocess", pgs_recipe_preprocess_parse, "none, voets2018 and graham", &method);
		r->preprocess = method;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		options_wrong_type(reader, "preprocess", "a method name or an object {\"method\": ..., \"diameter\": ...}");
	options_begin(&nested, v->val.binary.data, reader->what, "preprocess.", preprocess_keys);
	if (!get_choice(&nested, "method", pgs_recipe_preprocess_parse, "none, voets2018 and graham", &method))
		options_wrong_type(reader, "preprocess", "an object with a \"method\"");
	r->preprocess = method;
	(void) options_get_int(&nested, "diameter", &r->preprocess_diameter);
}

void
pgscreen_recipe_from_options(Jsonb *options, ResolvedRecipe *resolved)
{
	pgs_recipe *r = &resolved->recipe;
	OptionsReader reader;
	int			choice;
	char	   *text;
	int64		seed;
	pgs_error	err;

	pgs_recipe_init(r);
	resolved->pretrained_model_id = 0;
	options_begin(&reader, &options->root, "training option", "", training_keys);

	/* The preset first, so that every other option overrides it; then the architecture's input size. */
	if (get_choice(&reader, "recipe", pgs_recipe_preset_parse, "voets2019_plos, voets2018_thesis and none", &choice))
		pgs_recipe_apply_preset(r, choice);
	if (get_choice(&reader, "architecture", pgs_recipe_arch_parse, "inception_v3 and small_cnn", &choice))
	{
		r->architecture = choice;
		r->input_size = pgs_recipe_default_input(r->architecture);
	}
	(void) options_get_int(&reader, "input_size", &r->input_size);
	if (get_choice(&reader, "optimizer", pgs_recipe_optimizer_parse, "sgd, rmsprop, adam and adamw", &choice) &&
		choice != (int) r->optimizer)
		pgs_recipe_optimizer_defaults(r, choice);
	(void) options_get_double(&reader, "learning_rate", &r->learning_rate);
	(void) options_get_double(&reader, "momentum", &r->momentum);
	(void) options_get_bool(&reader, "nesterov", &r->nesterov);
	(void) options_get_double(&reader, "rho", &r->rho);
	if (get_choice(&reader, "rmsprop_style", pgs_recipe_rmsprop_style_parse, "tensorflow and pytorch", &choice))
		r->rmsprop_style = choice;
	(void) options_get_double(&reader, "epsilon", &r->epsilon);
	(void) options_get_double(&reader, "beta1", &r->beta1);
	(void) options_get_double(&reader, "beta2", &r->beta2);
	(void) options_get_double(&reader, "weight_decay", &r->weight_decay);
	if (get_choice(&reader, "schedule", pgs_recipe_schedule_parse, "constant, step and cosine", &choice))
		r->schedule = choice;
	(void) options_get_int(&reader, "step_epochs", &r->step_epochs);
	(void) options_get_double(&reader, "gamma", &r->gamma);
	(void) options_get_int(&reader, "warmup_epochs", &r->warmup_epochs);
	(void) options_get_double(&reader, "clip_norm", &r->clip_norm);
	(void) options_get_double(&reader, "dropout", &r->dropout);
	(void) options_get_int(&reader, "batch_size", &r->batch_size);
	(void) options_get_int(&reader, "max_epochs", &r->max_epochs);
	(void) options_get_double(&reader, "min_auc_gain", &r->min_auc_gain);
	(void) options_get_int(&reader, "patience", &r->patience);
	read_augmentation(&reader, &r->augmentation);
	if (get_choice(&reader, "normalisation", pgs_recipe_normalisation_parse, "unit, standardize and symmetric", &choice))
		r->normalisation = choice;
	read_preprocess(&reader, r);

	/* An unseeded run gets a random seed, recorded like every other setting. */
	if (options_get_int64(&reader, "seed", &seed))
		r->seed = (uint64) seed;
	else
	{
		pg_prng_state prng;

		pg_prng_seed(&prng, (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32));
		r->seed = pg_prng_uint64(&prng) >> 1;	/* keep it a positive bigint in JSON */
	}

	text = pgscreen_device;
	(void) options_get_string(&reader, "device", &text);
	{
		char	   *detail = NULL;

		if (!pgscreen_device_check_setting(text, NULL, &detail))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("training option \"device\" has unknown value \"%s\"", text),
					 errdetail("%s", detail)));
	}
	strlcpy(r->device, text, sizeof(r->device));

	/* A recorded recipe names the exact model it started from; new options name it by name[:version]. */
	if (options_get_string(&reader, "pretrained", &text))
	{
		if (strlen(text) >= sizeof(r->pretrained))
			options_wrong_type(&reader, "pretrained", "a model name shorter than 64 bytes");
		strlcpy(r->pretrained, text, sizeof(r->pretrained));
		if (!options_get_int64(&reader, "pretrained_model_id", &resolved->pretrained_model_id))
			resolved->pretrained_model_id = pgscreen_model_resolve(text)->id;
	}

	pgs_error_clear(&err);
	pgscreen_check(pgs_recipe_validate(r, &err), &err, "invalid training options");
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
	const pgs_recipe_augmentation *a = &r->augmentation;
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
	appendStringInfo(&buf, ", \"step_epochs\": %d", r->step_epochs);
	append_double(&buf, "gamma", r->gamma);
	appendStringInfo(&buf, ", \"warmup_epochs\": %d", r->warmup_epochs);
	append_double(&buf, "clip_norm", r->clip_norm);
	append_double(&buf, "dropout", r->dropout);
	appendStringInfo(&buf, ", \"batch_size\": %d, \"max_epochs\": %d", r->batch_size, r->max_epochs);
	append_double(&buf, "min_auc_gain", r->min_auc_gain);
	appendStringInfo(&buf, ", \"patience\": %d", r->patience);
	appendStringInfo(&buf, ", \"augmentation\": {\"enabled\": %s, \"flip\": %s, \"brightness\": %s, "
					 "\"saturation\": [%s, %s], \"hue\": %s, \"contrast\": [%s, %s]}",
					 a->enabled ? "true" : "false", a->flip ? "true" : "false", shortest(a->brightness),
					 shortest(a->saturation_low), shortest(a->saturation_high), shortest(a->hue),
					 shortest(a->contrast_low), shortest(a->contrast_high));
	append_string(&buf, "normalisation", pgs_recipe_normalisation_name(r->normalisation));
	if (r->preprocess == PGS_RECIPE_PREPROCESS_NONE)
		appendStringInfoString(&buf, ", \"preprocess\": null");
	else
		appendStringInfo(&buf, ", \"preprocess\": {\"method\": \"%s\", \"diameter\": %d}",
						 pgs_recipe_preprocess_name(r->preprocess),
						 r->preprocess_diameter ? r->preprocess_diameter : r->input_size);
	appendStringInfo(&buf, ", \"seed\": " UINT64_FORMAT, r->seed);
	append_string(&buf, "device", r->device);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
