/* Unit tests of early stopping: minimum gain, patience, NaN, the first epoch. */
#include "unit.h"

#include <math.h>

#include "../../kernels/train/early_stopping.h"

static void
test_first_epoch_is_best(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.01, 10);
	CHECK(pgs_early_stopping_update(&es, 1, 0.55, 0.5));
	CHECK(es.best_epoch == 1 && es.best_auc == 0.55);
}

static void
test_min_gain(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.01, 10);
	pgs_early_stopping_update(&es, 1, 0.80, 0.5);
	CHECK(!pgs_early_stopping_update(&es, 2, 0.805, 0.5));	/* a gain below 0.01 is not a checkpoint */
	CHECK(es.best_epoch == 1 && es.epochs_without_gain == 1);
	CHECK(pgs_early_stopping_update(&es, 3, 0.81, 0.5));	/* exactly 0.01, despite 0.81 − 0.80 < 0.01 in binary */
	CHECK(es.best_epoch == 3 && es.epochs_without_gain == 0);
	CHECK(!pgs_early_stopping_update(&es, 4, 0.70, 0.5));
	CHECK(es.best_auc == 0.81);
}

static void
test_patience(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.01, 3);
	pgs_early_stopping_update(&es, 1, 0.9, 0.5);
	for (int e = 2; e <= 3; e++)
	{
		pgs_early_stopping_update(&es, e, 0.905, 0.5);
		CHECK(!pgs_early_stopping_should_stop(&es));
	}
	pgs_early_stopping_update(&es, 4, 0.905, 0.5);
	CHECK(pgs_early_stopping_should_stop(&es));
}

static void
test_nan_never_improves(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.0, 2);
	CHECK(!pgs_early_stopping_update(&es, 1, NAN, 0.5));
	CHECK(!es.has_best);
	CHECK(pgs_early_stopping_update(&es, 2, 0.5, 0.5));
	CHECK(!pgs_early_stopping_update(&es, 3, NAN, 0.5));
	CHECK(es.best_epoch == 2);
}

static void
test_zero_gain_takes_ties(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.0, 5);
	pgs_early_stopping_update(&es, 1, 0.7, 0.5);
	CHECK(pgs_early_stopping_update(&es, 2, 0.7, 0.5));
	CHECK(es.best_epoch == 2);
}

/* A saturated AUC: a later epoch with the same AUC and a lower loss takes the checkpoint, patience runs on. */
static void
test_ties_go_to_the_lower_loss(void)
{
	pgs_early_stopping es;

	pgs_early_stopping_init(&es, 0.01, 3);
	CHECK(pgs_early_stopping_update(&es, 1, 1.0, 0.40));
	CHECK(pgs_early_stopping_update(&es, 2, 1.0, 0.30));
	CHECK(es.best_epoch == 2 && es.best_loss == 0.30 && es.epochs_without_gain == 1);
	CHECK(!pgs_early_stopping_update(&es, 3, 1.0, 0.35));
	CHECK(!pgs_early_stopping_update(&es, 4, 0.99, 0.10));
	CHECK(es.best_epoch == 2 && pgs_early_stopping_should_stop(&es));
}

int
main(void)
{
	RUN(test_first_epoch_is_best);
	RUN(test_min_gain);
	RUN(test_patience);
	RUN(test_nan_never_improves);
	RUN(test_zero_gain_takes_ties);
	RUN(test_ties_go_to_the_lower_loss);
	return unit_done();
}
