/* What a training run's epochs say about it: a note naming the likely cause when it is not learning. */
#ifndef PGS_DIAGNOSIS_H
#define PGS_DIAGNOSIS_H

#include <stdbool.h>
#include <stddef.h>

#include "recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Epochs trained before a validation AUC whose interval still contains 0.5 counts as "not learning". */
#define PGS_DIAGNOSIS_AFTER_EPOCHS 3

typedef struct pgs_training_history
{
	int			epoch;			/* the epoch just finished, 1-based */
	double		first_loss;		/* mean training loss of epoch 1 */
	double		lowest_loss;	/* lowest epoch mean so far, this epoch included */
	double		loss;			/* this epoch's mean training loss */
	double		auc;			/* this epoch's validation AUC and its 95 % interval (NaN: undefined) */
	double		auc_lower;
	double		auc_upper;
	double		learning_rate;
	double		training_prevalence;	/* positives / training rows */
} pgs_training_history;

/*
 * Write a note into out (always NUL-terminated) and return true when the run looks stuck: a training loss
 * that rises well above its lowest (diverging), one that has not moved since epoch 1 (flat), or a validation
 * AUC whose 95 % interval still contains 0.5 after PGS_DIAGNOSIS_AFTER_EPOCHS epochs. The note names the
 * finding with its numbers and the likely causes in the recipe (learning rate, optimiser, normalisation,
 * colour augmentation, class balance). Returns false with out empty when nothing is wrong.
 */
bool		pgs_diagnose(const pgs_recipe *recipe, const pgs_training_history *h, char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif
