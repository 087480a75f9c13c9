/* Early stopping on validation AUC with a minimum gain and a patience. */
#include "early_stopping.h"

#include <math.h>

void
pgs_early_stopping_init(pgs_early_stopping *es, double min_gain, int patience)
{
	es->min_gain = min_gain;
	es->patience = patience;
	es->has_best = false;
	es->best_auc = 0;
	es->best_loss = INFINITY;
	es->best_epoch = 0;
	es->epochs_without_gain = 0;
}

bool
pgs_early_stopping_update(pgs_early_stopping *es, int epoch, double auc, double loss)
{
	/* Compare in a way a rounding error cannot flip: 0.80 + 0.01 must count as a gain of 0.01. */
	if (!isnan(auc) && (!es->has_best || auc - es->best_auc >= es->min_gain - 1e-12))
	{
		es->has_best = true;
		es->best_auc = auc;
		es->best_loss = loss;
		es->best_epoch = epoch;
		es->epochs_without_gain = 0;
		return true;
	}
	es->epochs_without_gain++;
	if (!isnan(auc) && fabs(auc - es->best_auc) <= 1e-12 && loss < es->best_loss)
	{
		es->best_loss = loss;
		es->best_epoch = epoch;
		return true;
	}
	return false;
}

bool
pgs_early_stopping_should_stop(const pgs_early_stopping *es)
{
	return es->epochs_without_gain >= es->patience;
}
