/* Unit tests of training recipes: presets, defaults, validation messages and learning-rate schedules. */
#include "unit.h"

#include <math.h>

#include "../../kernels/train/recipe.h"

static void
test_default_recipe(void)
{
	pgs_recipe r;
	pgs_error	err;

	pgs_recipe_init(&r);
	CHECK(r.preset == PGS_PRESET_PGSCREEN_DEFAULT);
	CHECK(strcmp(pgs_recipe_preset_name(r.preset), "pgscreen_default") == 0);
	CHECK(r.architecture == PGS_RECIPE_INCEPTION_V3 && r.input_size == 299);
	CHECK(r.optimizer == PGS_RECIPE_ADAMW && r.learning_rate == 3e-3 && r.epsilon == 1e-8);
	CHECK(r.weight_decay == 0.01 && r.batch_size == 32);
	CHECK(r.schedule == PGS_RECIPE_LR_CONSTANT && r.warmup_epochs == 0);
	CHECK(r.normalization == PGS_NORM_STANDARDIZE);
	CHECK(r.balance == PGS_RECIPE_BALANCE_OVERSAMPLE);
	CHECK(r.min_auc_gain == 0.001 && r.patience == 10 && r.max_epochs == 200);
	/* Colour stays: no hue or saturation change, only flips and mild light. */
	CHECK(r.augmentation.enabled && r.augmentation.flip && r.augmentation.brightness == 0.05);
	CHECK(r.augmentation.hue == 0 && r.augmentation.saturation_lo == 1 && r.augmentation.saturation_hi == 1);
	CHECK(r.augmentation.contrast_lo == 0.9 && r.augmentation.contrast_hi == 1.1);
	CHECK_OK(pgs_recipe_validate(&r, &err), &err);
}

static void
test_published_presets(void)
{
	pgs_recipe_preset presets[] = {PGS_PRESET_VOETS2019_PLOS, PGS_PRESET_GULSHAN2016};

	for (int i = 0; i < 2; i++)
	{
		pgs_recipe	r;
		pgs_error	err;

		pgs_recipe_init(&r);
		pgs_recipe_apply_preset(&r, presets[i]);
		CHECK(r.preset == presets[i]);
		CHECK(r.architecture == PGS_RECIPE_INCEPTION_V3 && r.input_size == 299);
		CHECK(r.optimizer == PGS_RECIPE_RMSPROP && r.learning_rate == 1e-3 && r.batch_size == 32);
		CHECK(r.epsilon == 1.0 && r.rho == 0.9 && r.momentum == 0.9 && r.weight_decay == 4e-5);
		CHECK(r.schedule == PGS_RECIPE_LR_CONSTANT && r.warmup_epochs == 0);
		CHECK(r.balance == PGS_RECIPE_BALANCE_NONE);
		CHECK(r.normalization == PGS_NORM_SYMMETRIC);
		CHECK(r.min_auc_gain == 0.01 && r.patience == 10 && r.max_epochs == 200);
		CHECK(r.augmentation.enabled && r.augmentation.flip && r.augmentation.brightness == 0.125);
		CHECK(r.augmentation.saturation_lo == 0.5 && r.augmentation.saturation_hi == 1.5);
		CHECK(r.augmentation.hue == 0.2);
		CHECK(r.augmentation.contrast_lo == 0.5 && r.augmentation.contrast_hi == 1.5);
		CHECK_OK(pgs_recipe_validate(&r, &err), &err);
	}
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
	CHECK(r.normalization == PGS_NORM_STANDARDIZE);
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
	r.nesterov = true;			/* AdamW has no Nesterov momentum */
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "nesterov") != NULL);

	pgs_recipe_init(&r);
	r.input_size = 64;			/* too small for Inception-v3's stem */
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	r.architecture = PGS_RECIPE_SMALL_CNN;
	CHECK_OK(pgs_recipe_validate(&r, &err), &err);

	pgs_recipe_init(&r);
	r.augmentation.saturation_lo = 2;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(strstr(err.message, "saturation") != NULL);

	pgs_recipe_init(&r);
	r.max_epochs = 3;
	r.warmup_epochs = 4;
	CHECK_FAILS(pgs_recipe_validate(&r, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strcmp(err.message, "option \"warmup_epochs\" must be between 0 and max_epochs") == 0, "%s", err.message);

	/* Dropout that would drop everything. */
	pgs_recipe_init(&r);
	CHECK(r.rmsprop_style == PGS_RECIPE_RMSPROP_TENSORFLOW && r.warmup_epochs == 0 && r.dropout == 0.5);
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
	for (int i = 0; i < PGS_NORM_N; i++)
		CHECK(pgs_recipe_normalization_parse(pgs_normalization_name(i)) == i);
	for (int i = 0; i < PGS_RECIPE_RMSPROP_STYLE_N; i++)
		CHECK(pgs_recipe_rmsprop_style_parse(pgs_recipe_rmsprop_style_name(i)) == i);
	for (int i = 0; i < PGS_PRESET_N; i++)
		CHECK(pgs_recipe_preset_parse(pgs_recipe_preset_name(i)) == i);
	for (int i = 0; i < PGS_RECIPE_BALANCE_N; i++)
		CHECK(pgs_recipe_balance_parse(pgs_recipe_balance_name(i)) == i);
	CHECK(pgs_recipe_preset_parse("gulshan2016") == PGS_PRESET_GULSHAN2016);
	CHECK(pgs_recipe_normalization_parse("normalize") < 0);
}

static void
test_schedules(void)
{
	pgs_recipe r;

	pgs_recipe_init(&r);
	r.schedule = PGS_RECIPE_LR_CONSTANT;
	r.learning_rate = 1e-3;
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
	RUN(test_default_recipe);
	RUN(test_published_presets);
	RUN(test_thesis_preset);
	RUN(test_validation_messages);
	RUN(test_names_round_trip);
	RUN(test_schedules);
	return unit_done();
}
