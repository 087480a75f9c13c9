/* Points of a ROC curve: the curve itself, confusion counts at a threshold, operating points for a target. */
#include "roc.h"

#include <math.h>

#include "encoding.h"

static pgs_status
corrupt(pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: malformed groups");
}

static void
set_point(pgs_confusion *point, const pgs_roc_view *view, double threshold, int64_t tp, int64_t fp)
{
	point->threshold = threshold;
	point->tp = tp;
	point->fp = fp;
	point->fn = view->positives - tp;
	point->tn = view->negatives - fp;
}

void
pgs_roc_curve_begin(pgs_roc_curve *curve, const pgs_roc_view *view)
{
	pgs_roc_cursor_init(&curve->cursor, view);
	curve->tp = 0;
	curve->fp = 0;
	curve->started = false;
}

int
pgs_roc_curve_next(pgs_roc_curve *curve, pgs_confusion *point)
{
	pgs_roc_group g;
	int			r;

	if (!curve->started)
	{
		curve->started = true;
		set_point(point, curve->cursor.view, INFINITY, 0, 0);
		return 1;
	}
	r = pgs_roc_cursor_step(&curve->cursor, &g);
	if (r != 1)
		return r;
	curve->tp += g.positives;
	curve->fp += g.negatives;
	set_point(point, curve->cursor.view, g.score, curve->tp, curve->fp);
	return 1;
}

pgs_status
pgs_roc_confusion(const pgs_roc_view *view, double threshold, pgs_confusion *result, pgs_error *err)
{
	pgs_roc_cursor cursor;
	pgs_roc_group g;
	int64_t		tp = 0,
				fp = 0;
	int			r;

	if (isnan(threshold))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "threshold must not be NaN");
	pgs_roc_cursor_init(&cursor, view);
	while ((r = pgs_roc_cursor_step(&cursor, &g)) == 1 && g.score >= threshold)
	{
		tp += g.positives;
		fp += g.negatives;
	}
	if (r < 0)
		return corrupt(err);
	set_point(result, view, threshold, tp, fp);
	return PGS_OK;
}

pgs_status
pgs_roc_operating_point(const pgs_roc_view *view, pgs_roc_target target, double value,
						pgs_confusion *result, pgs_error *err)
{
	const char *name = target == PGS_TARGET_SENSITIVITY ? "sensitivity" : "specificity";
	pgs_roc_curve curve;
	pgs_confusion point,
				best;
	int			r;

	if (isnan(value))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s must be between 0 and 1, got NaN", name);
	if (!(value >= 0.0 && value <= 1.0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s must be between 0 and 1, got %g", name, value);
	if (target == PGS_TARGET_SENSITIVITY ? view->positives == 0 : view->negatives == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s is undefined without %s cases", name,
						target == PGS_TARGET_SENSITIVITY ? "positive" : "negative");

	/*
	 * Walking down from +Infinity, sensitivity only rises and specificity only falls. For sensitivity, stop
	 * at the first point that reaches the target; for specificity, keep the last point that still does.
	 * Ratios are compared as correctly rounded quotients, so 9 of 10 meets a target of 0.9 exactly.
	 */
	pgs_roc_curve_begin(&curve, view);
	r = pgs_roc_curve_next(&curve, &best);
	while ((r = pgs_roc_curve_next(&curve, &point)) == 1)
	{
		if (target == PGS_TARGET_SENSITIVITY)
		{
			if ((double) best.tp / (double) view->positives >= value)
				break;
			best = point;
		}
		else
		{
			if (!((double) point.tn / (double) view->negatives >= value))
				break;
			best = point;
		}
	}
	if (r < 0)
		return corrupt(err);
	*result = best;
	return PGS_OK;
}
