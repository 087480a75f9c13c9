/* Unit tests of training diagnoses: diverging, flat and at-chance runs, each with the causes the recipe suggests. */
#include "unit.h"

#include <math.h>

#include "../../kernels/train/diagnosis.h"

static pgs_training_history
healthy(void)
{
	pgs_training_history h = {.epoch = 4, .first_loss = 0.69, .lowest_loss = 0.30, .loss = 0.30, .auc = 0.90,
	.auc_lower = 0.82, .auc_upper = 0.98, .learning_rate = 1e-3, .training_prevalence = 0.33};

	return h;
}

static void
test_healthy_run_has_no_note(void)
{
	pgs_recipe	r;
	pgs_training_history h = healthy();
	char		note[512];

	pgs_recipe_init(&r);
	CHECK(!pgs_diagnose(&r, &h, note, sizeof(note)));
	CHECK(note[0] == '\0');
	/* Too early to call a wide interval a failure. */
	h.epoch = 2;
	h.auc = 0.55;
	h.auc_lower = 0.40;
	CHECK(!pgs_diagnose(&r, &h, note, sizeof(note)));
}

static void
test_diverging(void)
{
	pgs_recipe	r;
	pgs_training_history h = healthy();
	char		note[512];

	pgs_recipe_init(&r);
	r.learning_rate = 1e-3;
	h.loss = 2.5;
	CHECK(pgs_diagnose(&r, &h, note, sizeof(note)));
	CHECKF(strstr(note, "diverging") && strstr(note, "learning rate 0.001 is too high"), "%s", note);
}

static void
test_flat_under_published_rmsprop(void)
{
	pgs_recipe	r;
	pgs_training_history h = healthy();
	char		note[512];

	pgs_recipe_init(&r);
	pgs_recipe_apply_preset(&r, PGS_PRESET_VOETS2019_PLOS);
	h.loss = h.lowest_loss = 0.688;
	CHECK(pgs_diagnose(&r, &h, note, sizeof(note)));
	CHECKF(strstr(note, "flat") && strstr(note, "rmsprop with epsilon 1"), "%s", note);
}

static void
test_at_chance_names_causes(void)
{
	pgs_recipe	r;
	pgs_training_history h = healthy();
	char		note[1024];

	pgs_recipe_init(&r);
	pgs_recipe_apply_preset(&r, PGS_PRESET_VOETS2019_PLOS);
	h.auc = 0.52;
	h.auc_lower = 0.38;
	h.auc_upper = 0.66;
	h.training_prevalence = 0.05;
	CHECK(pgs_diagnose(&r, &h, note, sizeof(note)));
	CHECKF(strstr(note, "still contains 0.5"), "%s", note);
	CHECKF(strstr(note, "only 5.0 % of the training rows are positive"), "%s", note);
	CHECKF(strstr(note, "normalization \"symmetric\""), "%s", note);
	CHECKF(strstr(note, "hue and saturation"), "%s", note);
	CHECKF(strstr(note, "try \"optimizer\": \"adamw\""), "%s", note);

	/* The default recipe has none of those causes: what is left is the data. */
	pgs_recipe_init(&r);
	CHECK(pgs_diagnose(&r, &h, note, sizeof(note)));
	CHECKF(strstr(note, "without a validation signal") && !strstr(note, "balance"), "%s", note);

	/* A short buffer still gets a terminated note. */
	CHECK(pgs_diagnose(&r, &h, note, 16));
	CHECK(strlen(note) == 15);
}

int
main(void)
{
	RUN(test_healthy_run_has_no_note);
	RUN(test_diverging);
	RUN(test_flat_under_published_rmsprop);
	RUN(test_at_chance_names_causes);
	return unit_done();
}
