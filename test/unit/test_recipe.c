/* Unit tests of training recipes: presets, defaults, validation messages and learning-rate schedules. */
#include "unit.h"

#include <math.h>

#include "../../kernels/train/recipe.h"

static void
test_default_is_published_recipe(void)
{
	pgs_recipe r;
	pgs_error	err;

	pgs_recipe_init(&r);
	CHECK(r.preset == PGS_PRESET_VOETS2019_PLOS);
	CHECK(r.architecture == PGS_RECIPE_INCEPTION_V3 && r.input_size == 299);
	CHECK(r.optimizer == PGS_RECIPE_RMSPROP && r.learning_rate == 1e-3 && r.batch_size == 32);
	CHECK(r.weight_decay == 4e-5);
	CHECK(r.normalisation == PGS_RECIPE_NORM_SYMMETRIC);
	CHECK(r.min_auc_gain == 0.01 && r.patience == 10 && r.max_epochs == 200);
	CHECK(r.augmentation.enabled && r.augmentation.flip && r.augmentation.brightness == 0.125);
	CHECK(r.augmentation.saturation_low == 0.5 && r.augmentation.saturation_high == 1.5);
	CHECK(r.augmentation.hue == 0.2);
	CHECK(r.augmentation.contrast_low == 0.5 && r.augmentation.contrast_high == 1.5);
	CHECK_OK(pgs_recipe_validate(&r, &err), &err);
}

static void
test_thesis_preset(void)
{
	pgs_recipe r;
	pgs_error	err;

	pgs_recipe_init(&r);
	pgs_recipe_apply_preset(&r, PGS_PRESET_VOETS2018_THESIS);
	CHECK(r.optimizer == PGS_RECIPE_SGD && r.nesterov && r.momentum == 0.9);
	CHECK(r.learning_rate == 3e-3 && r.batch_size == 64);
	CHECK(r.normalisation == PGS_RECIPE_NORM_STANDARDIZE);
	CHECK_OK(pgs_recipe_validate(&r, &err), &err);
}

static void
test_validation_messages(void)
{
	pgs_recipe r;
	pgs_error	err;

	pgs_recipe_init(&r);
	r.learning_rate = -1;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strcmp(err.message, "option \"learning_rate\" must be a positive number") == 0, "%s", err.message);

	pgs_recipe_init(&r);
	r.nesterov = true;			/* RMSProp has no Nesterov momentum */
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "nesterov") != NULL);

	pgs_recipe_init(&r);
	r.input_size = 64;			/* too small for Inception-v3's stem */
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	r.architecture = PGS_RECIPE_SMALL_CNN;
	CHECK_OK(pgs_recipe_validate(&r, &err), &err);

	pgs_recipe_init(&r);
	r.augmentation.saturation_low = 2;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "augmentation.saturation") != NULL);

	/* A warm-up longer than the run, and dropout that would drop everything. */
	pgs_recipe_init(&r);
	CHECK(r.rmsprop_style == PGS_RECIPE_RMSPROP_TENSORFLOW && r.warmup_epochs == 0 && r.dropout == 0.5);
	r.warmup_epochs = r.max_epochs + 1;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "warmup_epochs") != NULL);
	pgs_recipe_init(&r);
	r.dropout = 1;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "dropout") != NULL);
}

static void
test_names_round_trip(void)
{
	for (int i = 0; i < PGS_RECIPE_ARCH_N; i++)
		CHECK(pgs_recipe_arch_parse(pgs_recipe_arch_name(i)) == i);
	for (int i = 0; i < PGS_RECIPE_OPTIMIZER_N; i++)
		CHECK(pgs_recipe_optimizer_parse(pgs_recipe_optimizer_name(i)) == i);
	for (int i = 0; i < PGS_RECIPE_RMSPROP_STYLE_N; i++)
		CHECK(pgs_recipe_rmsprop_style_parse(pgs_recipe_rmsprop_style_name(i)) == i);
	for (int i = 0; i < PGS_RECIPE_NORM_N; i++)
		CHECK(pgs_recipe_normalisation_parse(pgs_recipe_normalisation_name(i)) == i);
	for (int i = 0; i < PGS_PRESET_N; i++)
		CHECK(pgs_recipe_preset_parse(pgs_recipe_preset_name(i)) == i);
	CHECK(pgs_recipe_normalisation_parse("normalize") < 0);
}

static void
test_schedules(void)
{
	pgs_recipe r;

	pgs_recipe_init(&r);
	CHECK(pgs_recipe_learning_rate(&r, 57) == 1e-3);
	r.schedule = PGS_RECIPE_LR_STEP;
	r.step_epochs = 10;
	r.gamma = 0.5;
	CHECK(pgs_recipe_learning_rate(&r, 9) == 1e-3);
	CHECK(fabs(pgs_recipe_learning_rate(&r, 10) - 5e-4) < 1e-18);
	CHECK(fabs(pgs_recipe_learning_rate(&r, 25) - 2.5e-4) < 1e-18);
	r.schedule = PGS_RECIPE_LR_COSINE;
	r.max_epochs = 100;
	CHECK(pgs_recipe_learning_rate(&r, 0) == 1e-3);
	CHECK(fabs(pgs_recipe_learning_rate(&r, 50) - 5e-4) < 1e-15);
}

int
main(void)
{
	RUN(test_default_is_published_recipe);
	RUN(test_thesis_preset);
	RUN(test_validation_messages);
	RUN(test_names_round_trip);
	RUN(test_schedules);
	return unit_done();
}
