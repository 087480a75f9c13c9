/* Training recipes: the pgscreen_default preset, the published presets, validation and names. */
#include "recipe.h"

#include <math.h>
#include <string.h>

static const char *const architecture_names[] = {"inception_v3", "small_cnn"};
static const char *const optimizer_names[] = {"sgd", "rmsprop", "adam", "adamw"};
static const char *const schedule_names[] = {"constant", "step", "cosine"};
static const char *const rmsprop_style_names[] = {"tensorflow", "pytorch"};
static const char *const preprocess_names[] = {"none", "voets2018", "graham"};
static const char *const preset_names[] = {"none", "pgscreen_default", "voets2019_plos", "voets2018_thesis",
"gulshan2016"};
static const char *const balance_names[] = {"none", "oversample"};

static int
parse_name(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

#define NAME_FUNCTIONS(kind, type, table, count) \
	const char *pgs_recipe_##kind##_name(type v) \
	{ return (int) v >= 0 && (int) v < (count) ? table[v] : "unknown"; } \
	int pgs_recipe_##kind##_parse(const char *name) { return parse_name(name, table, (count)); }

NAME_FUNCTIONS(arch, pgs_recipe_arch, architecture_names, PGS_RECIPE_ARCH_N)
NAME_FUNCTIONS(optimizer, pgs_recipe_optimizer, optimizer_names, PGS_RECIPE_OPTIMIZER_N)
NAME_FUNCTIONS(schedule, pgs_recipe_schedule, schedule_names, PGS_RECIPE_LR_N)
NAME_FUNCTIONS(rmsprop_style, pgs_recipe_rmsprop_style, rmsprop_style_names, PGS_RECIPE_RMSPROP_STYLE_N)
NAME_FUNCTIONS(preprocess, pgs_recipe_preprocess, preprocess_names, PGS_RECIPE_PREPROCESS_N)
NAME_FUNCTIONS(preset, pgs_recipe_preset, preset_names, PGS_PRESET_N)
NAME_FUNCTIONS(balance, pgs_recipe_balance, balance_names, PGS_RECIPE_BALANCE_N)

int
pgs_recipe_normalization_parse(const char *name)
{
	pgs_normalization n;
	pgs_error	err;

	return pgs_normalization_parse(name, &n, &err) == PGS_OK ? (int) n : -1;
}

int
pgs_recipe_default_input(pgs_recipe_arch architecture)
{
	return architecture == PGS_RECIPE_INCEPTION_V3 ? 299 : 64;
}

/*
 * Geometry and a little light: the published ranges of hue (±0.2 of a turn) and saturation (×0.5–1.5) wash out
 * the colour that tells a yellow exudate from a red vessel, and contrast ×0.5 hides faint small lesions
 * (test/bench/learn: colour_only and photo_lesions).
 */
void
pgs_recipe_augmentation_mild(pgs_augment_recipe *aug)
{
	aug->enabled = true;
	aug->flip = true;
	aug->brightness = 0.05;
	aug->saturation_lo = aug->saturation_hi = 1.0;
	aug->hue = 0;
	aug->contrast_lo = 0.9;
	aug->contrast_hi = 1.1;
	aug->random_order = true;
}

void
pgs_recipe_augmentation_of_preset(pgs_recipe_preset preset, pgs_augment_recipe *aug)
{
	if (preset == PGS_PRESET_PGSCREEN_DEFAULT)
		pgs_recipe_augmentation_mild(aug);
	else
		pgs_augment_recipe_published(aug);
}

/*
 * An optimiser's own defaults, the engine's (kernels/nn/optimizer.h): SGD with Nesterov momentum 0.9 and
 * learning rate 3e-3 (the thesis); RMSProp in TensorFlow's flavour with decay 0.9, momentum 0.9, epsilon 1.0
 * and learning rate 1e-3 (TF-slim's Inception-v3 settings, which the published replication trained with);
 * Adam with β = (0.9, 0.999), epsilon 1e-8, learning rate 1e-3. Changing the optimiser resets these, so an
 * RMSProp epsilon never leaks into Adam.
 */
void
pgs_recipe_optimizer_defaults(pgs_recipe *r, pgs_recipe_optimizer optimizer)
{
	r->optimizer = optimizer;
	r->momentum = 0;
	r->nesterov = false;
	r->rho = 0.9;
	r->beta1 = 0.9;
	r->beta2 = 0.999;
	r->epsilon = 1e-8;
	r->learning_rate = 1e-3;
	switch (optimizer)
	{
		case PGS_RECIPE_SGD:
			r->learning_rate = 3e-3;
			r->momentum = 0.9;
			r->nesterov = true;
			break;
		case PGS_RECIPE_RMSPROP:
			r->momentum = 0.9;
			r->epsilon = 1.0;
			break;
		case PGS_RECIPE_ADAM:
		case PGS_RECIPE_ADAMW:
		case PGS_RECIPE_OPTIMIZER_N:
			break;
	}
}

/*
 * The default, for networks trained from scratch or fine-tuned on a few hundred to a few hundred thousand
 * images (docs/training.md, "Default recipe", has the measurements behind each choice): AdamW with a constant
 * learning rate of 3e-3 and decoupled weight decay 0.01, batch 32, per-image standardisation, flips with mild
 * brightness and contrast changes and no hue or saturation jitter, epochs that draw both classes equally
 * when one is rare, and early stopping that keeps any epoch gaining 0.001 validation AUC (patience 10, at
 * most 200 epochs). The engine's networks start from torchvision's Inception initialisation, whose weights
 * are larger than PyTorch's default ones behind batch norm, so the same step moves them less: 1e-3, or a
 * warm-up and cosine decay within a short budget, left photo_lesions near chance where PyTorch reached 0.99.
 */
static void
apply_default(pgs_recipe *r)
{
	pgs_recipe_optimizer_defaults(r, PGS_RECIPE_ADAMW);
	r->learning_rate = 3e-3;
	r->weight_decay = 0.01;
	r->batch_size = 32;
	r->normalization = PGS_NORM_STANDARDIZE;
	r->balance = PGS_RECIPE_BALANCE_OVERSAMPLE;
	/* A network that reaches 0.995 early must still be able to keep its 1.000 epoch. */
	r->min_auc_gain = 0.001;
}

/*
 * docs/study.md, "Training recipe". The published replication (Voets et al., PLOS ONE 2019): Inception-v3 at 299 px, RMSProp
 * with learning rate 1e-3, batch 32, weight decay 4e-5, [−1,1] inputs, the published augmentation. Gulshan
 * et al. (JAMA 2016) did not print their hyper-parameters; the ones published afterwards, which the 2019
 * replication adopted, are the same, so gulshan2016 differs only in its name (both expect ImageNet weights
 * through "pretrained"). The thesis (2018) trained with SGD, Nesterov momentum 0.9, learning rate 3e-3,
 * batch 64; its better variant standardised each image. All stopped early: a checkpoint must gain 0.01
 * validation AUC, patience 10, at most 200 epochs.
 */
void
pgs_recipe_apply_preset(pgs_recipe *r, pgs_recipe_preset preset)
{
	r->preset = preset;
	if (preset == PGS_PRESET_NONE)
		return;
	r->architecture = PGS_RECIPE_INCEPTION_V3;
	r->input_size = pgs_recipe_default_input(r->architecture);
	r->max_epochs = 200;
	r->min_auc_gain = 0.01;
	r->patience = 10;
	r->schedule = PGS_RECIPE_LR_CONSTANT;
	r->warmup_epochs = 0;
	r->clip_norm = 0;
	r->balance = PGS_RECIPE_BALANCE_NONE;
	pgs_recipe_augmentation_of_preset(preset, &r->augmentation);
	switch (preset)
	{
		case PGS_PRESET_PGSCREEN_DEFAULT:
			apply_default(r);
			break;
		case PGS_PRESET_VOETS2019_PLOS:
		case PGS_PRESET_GULSHAN2016:
			pgs_recipe_optimizer_defaults(r, PGS_RECIPE_RMSPROP);
			r->weight_decay = 4e-5;
			r->batch_size = 32;
			r->normalization = PGS_NORM_SYMMETRIC;
			break;
		case PGS_PRESET_VOETS2018_THESIS:
			pgs_recipe_optimizer_defaults(r, PGS_RECIPE_SGD);
			r->weight_decay = 0;
			r->batch_size = 64;
			r->normalization = PGS_NORM_STANDARDIZE;
			break;
		case PGS_PRESET_NONE:
		case PGS_PRESET_N:
			break;
	}
}

void
pgs_recipe_init(pgs_recipe *r)
{
	memset(r, 0, sizeof(*r));
	pgs_recipe_apply_preset(r, PGS_PRESET_PGSCREEN_DEFAULT);
	r->step_epochs = 30;
	r->gamma = 0.1;
	/* What the engine did before these were options: TF-slim's RMSProp, no warm-up, torchvision's dropout. */
	r->rmsprop_style = PGS_RECIPE_RMSPROP_TENSORFLOW;
	r->warmup_epochs = 0;
	r->dropout = 0.5;
	r->preprocess = PGS_RECIPE_PREPROCESS_NONE;
	strcpy(r->device, "auto");
}

static pgs_status
out_of_range(pgs_error *err, const char *option, const char *range)
{
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "option \"%s\" must be %s", option, range);
}

pgs_status
pgs_recipe_validate(const pgs_recipe *r, pgs_error *err)
{
	pgs_status	st;

	if (r->input_size < 16 || r->input_size > 4096)
		return out_of_range(err, "input_size", "between 16 and 4096");
	if (r->architecture == PGS_RECIPE_INCEPTION_V3 && r->input_size < 75)
		return out_of_range(err, "input_size", "at least 75 for inception_v3");
	if (!(r->learning_rate > 0) || !isfinite(r->learning_rate))
		return out_of_range(err, "learning_rate", "a positive number");
	if (!(r->momentum >= 0 && r->momentum < 1))
		return out_of_range(err, "momentum", "in [0, 1)");
	if (r->nesterov && (r->optimizer != PGS_RECIPE_SGD || r->momentum == 0))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "option \"nesterov\" needs optimizer \"sgd\" with a momentum above 0");
	if (!(r->rho > 0 && r->rho < 1))
		return out_of_range(err, "rho", "in (0, 1)");
	if (!(r->epsilon > 0 && r->epsilon <= 1))
		return out_of_range(err, "epsilon", "in (0, 1]");
	if (!(r->beta1 >= 0 && r->beta1 < 1))
		return out_of_range(err, "beta1", "in [0, 1)");
	if (!(r->beta2 >= 0 && r->beta2 < 1))
		return out_of_range(err, "beta2", "in [0, 1)");
	if (!(r->weight_decay >= 0 && r->weight_decay < 1))
		return out_of_range(err, "weight_decay", "in [0, 1)");
	if (r->warmup_epochs < 0 || r->warmup_epochs > r->max_epochs)
		return out_of_range(err, "warmup_epochs", "between 0 and max_epochs");
	if (r->step_epochs < 1)
		return out_of_range(err, "step_epochs", "at least 1");
	if (!(r->gamma > 0 && r->gamma <= 1))
		return out_of_range(err, "gamma", "in (0, 1]");
	if ((int) r->rmsprop_style < 0 || r->rmsprop_style >= PGS_RECIPE_RMSPROP_STYLE_N)
		return out_of_range(err, "rmsprop_style", "\"tensorflow\" or \"pytorch\"");
	if (!(r->dropout >= 0 && r->dropout < 1))
		return out_of_range(err, "dropout", "in [0, 1)");
	if (!(r->clip_norm >= 0) || !isfinite(r->clip_norm))
		return out_of_range(err, "clip_norm", "0 (off) or positive");
	if (r->batch_size < 1 || r->batch_size > 4096)
		return out_of_range(err, "batch_size", "between 1 and 4096");
	if ((int) r->balance < 0 || r->balance >= PGS_RECIPE_BALANCE_N)
		return out_of_range(err, "balance", "none or oversample");
	if (r->max_epochs < 1 || r->max_epochs > 100000)
		return out_of_range(err, "max_epochs", "between 1 and 100000");
	if (!(r->min_auc_gain >= 0 && r->min_auc_gain < 1))
		return out_of_range(err, "min_auc_gain", "in [0, 1)");
	if (r->patience < 1)
		return out_of_range(err, "patience", "at least 1");
	if ((st = pgs_augment_recipe_check(&r->augmentation, err)) != PGS_OK)
		return st;
	if (r->preprocess != PGS_RECIPE_PREPROCESS_NONE && r->preprocess_diameter != 0 &&
		r->preprocess_diameter != r->input_size)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"preprocessing diameter %d differs from the input size %d", r->preprocess_diameter,
						r->input_size);
	return PGS_OK;
}

double
pgs_recipe_learning_rate(const pgs_recipe *r, int epoch)
{
	switch (r->schedule)
	{
		case PGS_RECIPE_LR_STEP:
			return r->learning_rate * pow(r->gamma, epoch / r->step_epochs);
		case PGS_RECIPE_LR_COSINE:
			return r->learning_rate * 0.5 * (1 + cos(M_PI * (double) epoch / r->max_epochs));
		case PGS_RECIPE_LR_CONSTANT:
		case PGS_RECIPE_LR_N:
			break;
	}
	return r->learning_rate;
}
