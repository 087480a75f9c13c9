/* Typed access to jsonb options objects, rejecting unknown keys so a misspelt option is never ignored. */
#include "pgscreen.h"
#include "options.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/numeric.h"

void
options_wrong_type(OptionsReader *reader, const char *key, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s \"%s%s\" must be %s", reader->what, reader->prefix, key, expected)));
	pg_unreachable();
}

void
options_begin(OptionsReader *reader, JsonbContainer *container, const char *what, const char *prefix,
			  const char *const *allowed)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	reader->container = container;
	reader->what = what;
	reader->prefix = prefix;
	if (!JsonContainerIsObject(container))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%ss must be a JSON object", what)));
	it = JsonbIteratorInit(container);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = false;

		if (token != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (const char *const *a = allowed; *a != NULL; a++)
			known |= (strcmp(key, *a) == 0);
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown %s \"%s%s\"", what, prefix, key)));
	}
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
options_get_double(OptionsReader *reader, const char *key, double *out)
{
	JsonbValue *v = options_get_value(reader, key);

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric)
		options_wrong_type(reader, key, "a number");
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(*out))
		options_wrong_type(reader, key, "a finite number");
	return true;
}

bool
options_get_int64(OptionsReader *reader, const char *key, int64 *out)
{
	JsonbValue *v = options_get_value(reader, key);
	Numeric		n;

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric)
		options_wrong_type(reader, key, "an integer");
	n = v->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) > 0)
		options_wrong_type(reader, key, "an integer");
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
	return true;
}

bool
options_get_int(OptionsReader *reader, const char *key, int *out)
{
	int64		v;

	if (!options_get_int64(reader, key, &v))
		return false;
	if (v < PG_INT32_MIN || v > PG_INT32_MAX)
		options_wrong_type(reader, key, "an integer that fits in 32 bits");
	*out = (int) v;
	return true;
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

bool
options_get_string(OptionsReader *reader, const char *key, char **out)
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
options_get_range(OptionsReader *reader, const char *key, double *low, double *high)
{
	JsonbValue *v = options_get_value(reader, key);
	JsonbValue *a,
			   *b;

	if (v == NULL)
		return false;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) != 2)
		options_wrong_type(reader, key, "an array of two numbers [low, high]");
	a = getIthJsonbValueFromContainer(v->val.binary.data, 0);
	b = getIthJsonbValueFromContainer(v->val.binary.data, 1);
	if (a->type != jbvNumeric || b->type != jbvNumeric)
		options_wrong_type(reader, key, "an array of two numbers [low, high]");
	*low = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(a->val.numeric)));
	*high = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(b->val.numeric)));
	return true;
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
