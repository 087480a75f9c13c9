/* Diagnosis of a training run from its epochs: diverging, flat or at chance, and what in the recipe may cause it. */
#include "diagnosis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A loss this far above its lowest has diverged; one within this fraction of epoch 1's has not moved. */
#define DIVERGED_FACTOR 1.5
#define FLAT_FRACTION 0.02
/* Below this share of positives, a batch of 32 often holds none. */
#define RARE_PREVALENCE 0.1

static void
vappend(char *out, size_t size, const char *fmt, va_list ap)
{
	size_t		used = strlen(out);

	if (used + 1 < size)
		vsnprintf(out + used, size - used, fmt, ap);
}

static void
append(char *out, size_t size, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vappend(out, size, fmt, ap);
	va_end(ap);
}

/* One more likely cause, after "likely causes: " for the first. */
static void
cause(char *out, size_t size, int *found, const char *fmt, ...)
{
	va_list		ap;

	append(out, size, (*found)++ ? "; " : "; likely causes: ");
	va_start(ap, fmt);
	vappend(out, size, fmt, ap);
	va_end(ap);
}

static bool
colour_jitter(const pgs_augment_recipe *a)
{
	return a->enabled && (a->hue > 0 || a->saturation_lo != 1 || a->saturation_hi != 1);
}

/* The RMSProp of TensorFlow with epsilon near 1 divides by about 1: its steps are lr·g, tiny from scratch. */
static bool
rmsprop_large_epsilon(const pgs_recipe *r)
{
	return r->optimizer == PGS_RECIPE_RMSPROP && r->epsilon >= 0.1;
}

static void
causes_of_slow_learning(const pgs_recipe *r, char *out, size_t size)
{
	append(out, size, "; likely cause: the learning rate %g is too low for this optimiser", r->learning_rate);
	if (rmsprop_large_epsilon(r))
		append(out, size, " (rmsprop with epsilon %g takes steps of about learning_rate times the gradient; "
			   "adamw, the default recipe's optimiser, adapts its steps)", r->epsilon);
}

static void
causes_at_chance(const pgs_recipe *r, const pgs_training_history *h, char *out, size_t size)
{
	int			found = 0;

	if (h->training_prevalence < RARE_PREVALENCE && r->balance == PGS_RECIPE_BALANCE_NONE)
		cause(out, size, &found, "the label balance: only %.1f %% of the training rows are positive (try "
			  "\"balance\": \"oversample\")", 100 * h->training_prevalence);
	if (r->normalization != PGS_NORM_STANDARDIZE && !r->pretrained[0])
		cause(out, size, &found, "the normalization \"%s\" (per-image \"standardize\" trains better from scratch)",
			  pgs_normalization_name(r->normalization));
	if (colour_jitter(&r->augmentation))
		cause(out, size, &found, "the augmentation's hue and saturation changes, which can erase colour cues (try "
			  "\"augmentation\": {\"hue\": 0, \"saturation\": [1, 1]})");
	if (rmsprop_large_epsilon(r))
		cause(out, size, &found, "the learning rate: rmsprop with epsilon %g steps by about %g times the gradient "
			  "(try \"optimizer\": \"adamw\")", r->epsilon, r->learning_rate);
	if (found == 0 && h->loss < (1 - FLAT_FRACTION) * h->first_loss)
		cause(out, size, &found, "the training loss falls (%.4f to %.4f) without a validation signal: the training "
			  "rows may not resemble the validation rows, or they are too few", h->first_loss, h->loss);
	if (found == 0)
		cause(out, size, &found, "the learning rate %g", r->learning_rate);
}

bool
pgs_diagnose(const pgs_recipe *r, const pgs_training_history *h, char *out, size_t size)
{
	if (size == 0)
		return false;
	out[0] = '\0';
	if (h->epoch >= 2 && isfinite(h->loss) && h->loss > DIVERGED_FACTOR * h->lowest_loss)
	{
		append(out, size, "the training loss is diverging (%.4f, up from %.4f); likely cause: the learning rate "
			   "%g is too high (lower it, or set clip_norm)", h->loss, h->lowest_loss, r->learning_rate);
		return true;
	}
	if (h->epoch >= PGS_DIAGNOSIS_AFTER_EPOCHS && h->loss >= (1 - FLAT_FRACTION) * h->first_loss)
	{
		append(out, size, "the training loss is flat (%.4f in epoch 1, %.4f in epoch %d)", h->first_loss, h->loss,
			   h->epoch);
		causes_of_slow_learning(r, out, size);
		return true;
	}
	if (h->epoch >= PGS_DIAGNOSIS_AFTER_EPOCHS && isfinite(h->auc_lower) && h->auc_lower <= 0.5 &&
		h->auc_upper >= 0.5)
	{
		append(out, size, "after %d epochs the validation AUC %.3f has a 95 %% interval (%.3f to %.3f) that "
			   "still contains 0.5", h->epoch, h->auc, h->auc_lower, h->auc_upper);
		causes_at_chance(r, h, out, size);
		return true;
	}
	return false;
}
