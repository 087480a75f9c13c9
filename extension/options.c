/* Typed access to jsonb options objects, rejecting unknown keys so a misspelt option is never ignored. */
#include "pgscreen.h"
#include "options.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

/* Keys whose spelling changed: the old one is rejected with a hint naming the new one. */
static const struct
{
	const char *old_key;
	const char *new_key;
}			renamed_keys[] = {
	{"normalisation", "normalization"},
};

static char *
joined(const char *const *names)
{
	StringInfoData s;

	initStringInfo(&s);
	for (const char *const *n = names; *n != NULL; n++)
		appendStringInfo(&s, "%s%s", n == names ? "" : ", ", *n);
	return s.data;
}

void
options_wrong_type(OptionsReader *reader, const char *key, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s%s\" of %s must be %s", reader->prefix, key, reader->function, expected)));
	pg_unreachable();
}

void
options_unknown_value(OptionsReader *reader, const char *key, const char *value, const char *const *names)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s%s\" of %s has unknown value \"%s\"", reader->prefix, key, reader->function, value),
			 errdetail("Valid values: %s.", joined(names))));
	pg_unreachable();
}

static void
unknown_key(OptionsReader *reader, const char *key, const char *const *allowed)
{
	const char *renamed = NULL;

	for (int i = 0; i < lengthof(renamed_keys); i++)
		if (strcmp(key, renamed_keys[i].old_key) == 0)
			renamed = renamed_keys[i].new_key;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown option \"%s%s\" for %s", reader->prefix, key, reader->function),
			 errdetail("Valid options: %s.", joined(allowed)),
			 renamed ? errhint("Did you mean \"%s\"?", renamed) : 0));
}

void
options_begin(OptionsReader *reader, JsonbContainer *container, const char *function, const char *prefix,
			  const char *const *allowed)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	reader->container = container;
	reader->function = function;
	reader->prefix = prefix;
	if (!JsonContainerIsObject(container) || JsonContainerIsScalar(container))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of %s must be a JSON object", function),
				 errdetail("Valid options: %s.", joined(allowed))));
	it = JsonbIteratorInit(container);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = false;

		if (token != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (const char *const *a = allowed; *a != NULL && !known; a++)
			known = strcmp(key, *a) == 0;
		if (!known)
			unknown_key(reader, key, allowed);
	}
}

void
options_begin_jsonb(OptionsReader *reader, Jsonb *options, const char *function, const char *const *allowed)
{
	if (options == NULL)
		options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	options_begin(reader, &options->root, function, "", allowed);
}

bool
options_get_object(OptionsReader *reader, const char *key, const char *const *allowed, OptionsReader *nested)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return false;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		options_wrong_type(reader, key, "an object");
	options_begin(nested, v->val.binary.data, reader->function, psprintf("%s%s.", reader->prefix, key), allowed);
	return true;
}

JsonbValue *
options_get_value(OptionsReader *reader, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(reader->container, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	return v;
}

bool
options_get_bool(OptionsReader *reader, const char *key, bool *out)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return false;
	if (v->type != jbvBool)
		options_wrong_type(reader, key, "true or false");
	*out = v->val.boolean;
	return true;
}

static double
number_value(OptionsReader *reader, const char *key, const JsonbValue *v, const char *expected)
{
	double		d;

	if (v->type != jbvNumeric)
		options_wrong_type(reader, key, expected);
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		options_wrong_type(reader, key, expected);
	return d;
}

bool
options_get_double(OptionsReader *reader, const char *key, double min, double max, double *out)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return false;
	*out = number_value(reader, key, v, "a number");
	if (*out < min || *out > max)
	{
		if (isinf(max))
			options_wrong_type(reader, key, psprintf("a number of at least %g", min));
		if (isinf(min))
			options_wrong_type(reader, key, psprintf("a number of at most %g", max));
		options_wrong_type(reader, key, psprintf("a number from %g to %g", min, max));
	}
	return true;
}

bool
options_get_int64(OptionsReader *reader, const char *key, int64 min, int64 max, int64 *out)
{
	JsonbValue *v = options_get_value(reader, key);
	const char *expected = psprintf("an integer from " INT64_FORMAT " to " INT64_FORMAT, min, max);
	Numeric		n;

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric)
		options_wrong_type(reader, key, "a number");
	n = v->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) > 0)
		options_wrong_type(reader, key, expected);
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
	if (*out < min || *out > max)
		options_wrong_type(reader, key, expected);
	return true;
}

bool
options_get_int(OptionsReader *reader, const char *key, int min, int max, int *out)
{
	int64		v;

	if (!options_get_int64(reader, key, min, max, &v))
		return false;
	*out = (int) v;
	return true;
}

bool
options_get_text(OptionsReader *reader, const char *key, char **out)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return false;
	if (v->type != jbvString)
		options_wrong_type(reader, key, "a string");
	*out = pnstrdup(v->val.string.val, v->val.string.len);
	return true;
}

bool
options_get_enum(OptionsReader *reader, const char *key, const char *const *names, int *out)
{
	char	   *value;

	if (!options_get_text(reader, key, &value))
		return false;
	for (int i = 0; names[i] != NULL; i++)
		if (pg_strcasecmp(value, names[i]) == 0)
		{
			*out = i;
			return true;
		}
	options_unknown_value(reader, key, value, names);
}

/* The elements of an array option, or an error saying it must be `expected`. */
static JsonbContainer *
array_option(OptionsReader *reader, const char *key, const char *expected)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) || JsonContainerIsScalar(v->val.binary.data))
		options_wrong_type(reader, key, expected);
	return v->val.binary.data;
}

bool
options_get_text_array(OptionsReader *reader, const char *key, List **out)
{
	JsonbContainer *array = array_option(reader, key, "an array of strings");

	if (array == NULL)
		return false;
	*out = NIL;
	for (uint32 i = 0; i < JsonContainerSize(array); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(array, i);

		if (e->type != jbvString)
			options_wrong_type(reader, key, "an array of strings");
		*out = lappend(*out, pnstrdup(e->val.string.val, e->val.string.len));
	}
	return true;
}

bool
options_get_number_array(OptionsReader *reader, const char *key, double **values, int *count)
{
	JsonbContainer *array = array_option(reader, key, "an array of numbers");

	if (array == NULL)
		return false;
	*count = (int) JsonContainerSize(array);
	*values = palloc(sizeof(double) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
		(*values)[i] = number_value(reader, key, getIthJsonbValueFromContainer(array, i), "an array of numbers");
	return true;
}

bool
options_get_range(OptionsReader *reader, const char *key, double *low, double *high)
{
	const char *expected = "an array of two numbers [low, high]";
	JsonbContainer *array = array_option(reader, key, expected);

	if (array == NULL)
		return false;
	if (JsonContainerSize(array) != 2)
		options_wrong_type(reader, key, expected);
	*low = number_value(reader, key, getIthJsonbValueFromContainer(array, 0), expected);
	*high = number_value(reader, key, getIthJsonbValueFromContainer(array, 1), expected);
	return true;
}

const char *const *
options_names(const char *(*name) (int), int count)
{
	const char **names = palloc(sizeof(char *) * (count + 1));

	for (int i = 0; i < count; i++)
		names[i] = name(i);
	names[count] = NULL;
	return names;
}

const char *
options_function_name(FunctionCallInfo fcinfo)
{
	char	   *name = fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : NULL;

	return psprintf("screen.%s", name ? name : "?");
}

/* ---- augmentation: one parser for screen.augment and train()'s "augmentation" ---- */

const char *const options_augmentation_keys[] = {
	"enabled", "flip", "brightness", "saturation", "hue", "contrast", "random_order", NULL
};

void
options_read_augmentation(OptionsReader *reader, pgs_augment_recipe *recipe)
{
	pgs_error	err;

	(void) options_get_bool(reader, "enabled", &recipe->enabled);
	(void) options_get_bool(reader, "flip", &recipe->flip);
	(void) options_get_double(reader, "brightness", 0, 1, &recipe->brightness);
	(void) options_get_range(reader, "saturation", &recipe->saturation_lo, &recipe->saturation_hi);
	(void) options_get_double(reader, "hue", 0, 0.5, &recipe->hue);
	(void) options_get_range(reader, "contrast", &recipe->contrast_lo, &recipe->contrast_hi);
	(void) options_get_bool(reader, "random_order", &recipe->random_order);
	pgs_error_clear(&err);
	if (pgs_augment_recipe_check(recipe, &err) != PGS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid augmentation options for %s: %s", reader->function, err.message)));
}

text *
pgscreen_required_text(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_TEXT_PP(arg);
}

Jsonb *
pgscreen_options_or_empty(FunctionCallInfo fcinfo, int arg)
{
	if (PG_ARGISNULL(arg))
		return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	return PG_GETARG_JSONB_P(arg);
}
