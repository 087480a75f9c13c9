/* Early stopping on validation AUC: keep a checkpoint only for a real gain, stop after `patience` without. */
#ifndef PGS_EARLY_STOPPING_H
#define PGS_EARLY_STOPPING_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * docs/study.md, "Training recipe": evaluate validation AUC every epoch; an epoch becomes the best checkpoint only when it beats
 * the best so far by at least min_gain (0.01); training stops after `patience` (10) epochs in a row without
 * such a gain. The first evaluated epoch is always the first best. An epoch that ties the best AUC with a
 * lower validation loss replaces the checkpoint without counting as a gain: a validation AUC that saturates
 * (1.000 on an easy task) otherwise pins the checkpoint to the first epoch that reached it. A plain struct,
 * so a checkpoint stores it.
 */
typedef struct pgs_early_stopping
{
	double		min_gain;
	int			patience;
	bool		has_best;
	double		best_auc;
	double		best_loss;		/* validation loss of the best epoch */
	int			best_epoch;		/* 1-based */
	int			epochs_without_gain;
} pgs_early_stopping;

void		pgs_early_stopping_init(pgs_early_stopping *es, double min_gain, int patience);

/*
 * Record epoch's validation AUC and loss; returns true when it is the new best (checkpoint it). A NaN AUC
 * never improves.
 */
bool		pgs_early_stopping_update(pgs_early_stopping *es, int epoch, double auc, double loss);

/* True once `patience` epochs in a row have passed without a gain. */
bool		pgs_early_stopping_should_stop(const pgs_early_stopping *es);

#ifdef __cplusplus
}
#endif

#endif
