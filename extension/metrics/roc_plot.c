/* roc_svg: SVG pictures of one ROC curve (with operating points) or of several overlaid, as text. */
#include "roc_sql.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(pgscreen_roc_svg);
PG_FUNCTION_INFO_V1(pgscreen_roc_svg_overlay);

/* A text argument as UTF-8 (the SVG writer escapes it into ASCII), or NULL. */
static const char *
utf8_argument(FunctionCallInfo fcinfo, int arg)
{
	char	   *s;

	if (PG_ARGISNULL(arg))
		return NULL;
	s = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	return (const char *) pg_server_to_any(s, strlen(s), PG_UTF8);
}

static void
require_argument(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

static void
roc_bytes(Datum datum, pgs_roc_plot_curve *curve)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(datum);

	curve->data = (const uint8_t *) VARDATA_ANY(value);
	curve->len = VARSIZE_ANY_EXHDR(value);
}

static Datum
draw(pgs_roc_plot_curve *curves, int ncurves, const pgs_roc_plot_options *options)
{
	PgscreenAllocator out;
	char	   *svg = NULL;
	size_t		len = 0;
	pgs_error	err;
	pgs_status	st;

	pgscreen_allocator_init(&out, true);
	pgs_error_clear(&err);
	st = pgs_roc_svg(curves, ncurves, options, &out.base, &svg, &len, &err);
	return pgscreen_roc_varlena_result(&out, st, &err, (uint8_t *) svg, len);
}

/* roc_svg(r, title, label, thresholds float8[], level, width, height) */
Datum
pgscreen_roc_svg(PG_FUNCTION_ARGS)
{
	pgs_roc_plot_curve curve = {0};
	pgs_roc_plot_options options;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	require_argument(fcinfo, 4, "level");
	require_argument(fcinfo, 5, "width");
	require_argument(fcinfo, 6, "height");
	roc_bytes(PG_GETARG_DATUM(0), &curve);
	curve.label = utf8_argument(fcinfo, 2);
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *thresholds = PG_GETARG_ARRAYTYPE_P(3);
		Datum	   *elements;
		bool	   *nulls;
		int			n;
		double	   *values;

		deconstruct_array(thresholds, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elements, &nulls, &n);
		values = palloc(sizeof(double) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("thresholds must not contain NULL")));
			values[i] = DatumGetFloat8(elements[i]);
		}
		curve.thresholds = values;
		curve.nthresholds = n;
	}
	options.title = utf8_argument(fcinfo, 1);
	options.level = PG_GETARG_FLOAT8(4);
	options.width = PG_GETARG_INT32(5);
	options.height = PG_GETARG_INT32(6);
	return draw(&curve, 1, &options);
}

/* roc_svg(rocs roc[], labels text[], title, level, width, height) */
Datum
pgscreen_roc_svg_overlay(PG_FUNCTION_ARGS)
{
	ArrayType  *rocs;
	Datum	   *roc_values;
	bool	   *roc_nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	pgs_roc_plot_curve *curves;
	pgs_roc_plot_options options;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	require_argument(fcinfo, 3, "level");
	require_argument(fcinfo, 4, "width");
	require_argument(fcinfo, 5, "height");
	rocs = PG_GETARG_ARRAYTYPE_P(0);
	get_typlenbyvalalign(ARR_ELEMTYPE(rocs), &typlen, &typbyval, &typalign);
	deconstruct_array(rocs, ARR_ELEMTYPE(rocs), typlen, typbyval, typalign, &roc_values, &roc_nulls, &n);
	curves = palloc0(sizeof(pgs_roc_plot_curve) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (roc_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rocs must not contain NULL")));
		roc_bytes(roc_values[i], &curves[i]);
	}
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *labels = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *label_values;
		bool	   *label_nulls;
		int			nlabels;

		deconstruct_array(labels, TEXTOID, -1, false, TYPALIGN_INT, &label_values, &label_nulls, &nlabels);
		if (nlabels != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("labels must have one element per roc: got %d labels for %d rocs", nlabels, n)));
		for (int i = 0; i < n; i++)
		{
			char	   *s;

			if (label_nulls[i])
				continue;
			s = TextDatumGetCString(label_values[i]);
			curves[i].label = (const char *) pg_server_to_any(s, strlen(s), PG_UTF8);
		}
	}
	options.title = utf8_argument(fcinfo, 2);
	options.level = PG_GETARG_FLOAT8(3);
	options.width = PG_GETARG_INT32(4);
	options.height = PG_GETARG_INT32(5);
	return draw(curves, n, &options);
}
