/* A training recipe: every setting of a training run, the published presets, and their validation. */
#ifndef PGS_RECIPE_H
#define PGS_RECIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/status.h"
#include "../device/augment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_recipe_arch
{
	PGS_RECIPE_INCEPTION_V3 = 0,
	PGS_RECIPE_SMALL_CNN,
	PGS_RECIPE_ARCH_N
} pgs_recipe_arch;

typedef enum pgs_recipe_optimizer
{
	PGS_RECIPE_SGD = 0,
	PGS_RECIPE_RMSPROP,
	PGS_RECIPE_ADAM,
	PGS_RECIPE_ADAMW,
	PGS_RECIPE_OPTIMIZER_N
} pgs_recipe_optimizer;

typedef enum pgs_recipe_schedule
{
	PGS_RECIPE_LR_CONSTANT = 0,
	PGS_RECIPE_LR_STEP,
	PGS_RECIPE_LR_COSINE,
	PGS_RECIPE_LR_N
} pgs_recipe_schedule;

/* RMSProp's two published flavours (kernels/device/optim_math.h has the formulas). */
typedef enum pgs_recipe_rmsprop_style
{
	PGS_RECIPE_RMSPROP_TENSORFLOW = 0,	/* ε inside the square root, mean square from 1, lr in the momentum */
	PGS_RECIPE_RMSPROP_PYTORCH,	/* torch.optim.RMSprop: ε outside, mean square from 0 */
	PGS_RECIPE_RMSPROP_STYLE_N
} pgs_recipe_rmsprop_style;

typedef enum pgs_recipe_preprocess
{
	PGS_RECIPE_PREPROCESS_NONE = 0,		/* inputs are NPY tensors, already preprocessed */
	PGS_RECIPE_PREPROCESS_VOETS2018,
	PGS_RECIPE_PREPROCESS_GRAHAM,
	PGS_RECIPE_PREPROCESS_N
} pgs_recipe_preprocess;

typedef enum pgs_recipe_preset
{
	PGS_PRESET_NONE = 0,
	PGS_PRESET_PGSCREEN_DEFAULT,	/* the default: AdamW 3e-3, standardize, mild augmentation, balanced */
	PGS_PRESET_VOETS2019_PLOS,		/* the published replication */
	PGS_PRESET_VOETS2018_THESIS,	/* the thesis's "modified preprocessing" run */
	PGS_PRESET_GULSHAN2016,			/* the original study, with its later-published hyper-parameters */
	PGS_PRESET_N
} pgs_recipe_preset;

/* How the training batches treat a rare class. */
typedef enum pgs_recipe_balance
{
	PGS_RECIPE_BALANCE_NONE = 0,	/* every image once per epoch */
	PGS_RECIPE_BALANCE_OVERSAMPLE,	/* half of each epoch from each class: the rarer repeats, the commoner is subsampled */
	PGS_RECIPE_BALANCE_N
} pgs_recipe_balance;

#define PGS_RECIPE_NAME_MAX 64

typedef struct pgs_recipe
{
	pgs_recipe_preset preset;
	pgs_recipe_arch architecture;
	int			input_size;		/* side of the square input, pixels */
	char		pretrained[PGS_RECIPE_NAME_MAX];	/* a model whose weights initialise this one, or "" */

	pgs_recipe_optimizer optimizer;
	double		learning_rate;
	double		momentum;		/* SGD, RMSProp */
	bool		nesterov;		/* SGD */
	double		rho;			/* RMSProp: decay of the squared-gradient average */
	pgs_recipe_rmsprop_style rmsprop_style;
	double		epsilon;		/* RMSProp, Adam */
	double		beta1, beta2;	/* Adam */
	double		weight_decay;	/* L2 (decoupled for AdamW) */
	pgs_recipe_schedule schedule;
	int			warmup_epochs;	/* any schedule: a linear ramp over the first warmup_epochs epochs' steps; 0 is off */
	int			step_epochs;	/* step schedule: multiply by gamma every step_epochs */
	double		gamma;
	double		clip_norm;		/* global gradient-norm clipping; 0 is off */
	double		dropout;		/* before the classifier, in training */

	int			batch_size;
	pgs_recipe_balance balance;
	int			max_epochs;
	double		min_auc_gain;	/* early stopping: a checkpoint must beat the best AUC by this much */
	int			patience;		/* ... and training stops after this many epochs without one */

	pgs_augment_recipe augmentation;	/* train-time, on [0,1] data (docs/study.md, "Augmentation") */
	pgs_normalization normalization;
	pgs_recipe_preprocess preprocess;
	int			preprocess_diameter;	/* 0: the input size */

	uint64_t	seed;
	char		device[PGS_RECIPE_NAME_MAX];	/* "auto", "cpu", "cuda", "cuda:N" */
} pgs_recipe;

/* The default's augmentation: flip, brightness ±0.05, contrast ×[0.9,1.1]; colour (hue, saturation) kept. */
void		pgs_recipe_augmentation_mild(pgs_augment_recipe *aug);

/* The augmentation a preset switches on ("augmentation": true): mild for pgscreen_default, else published. */
void		pgs_recipe_augmentation_of_preset(pgs_recipe_preset preset, pgs_augment_recipe *aug);

/* Defaults (the pgscreen_default preset) with the default input size of the architecture. */
void		pgs_recipe_init(pgs_recipe *recipe);

/* Set the optimiser and its own default hyper-parameters (learning rate, momentum, rho, epsilon, betas). */
void		pgs_recipe_optimizer_defaults(pgs_recipe *recipe, pgs_recipe_optimizer optimizer);

/* Apply a preset over recipe: optimiser, batch size, normalization, early stopping, architecture. */
void		pgs_recipe_apply_preset(pgs_recipe *recipe, pgs_recipe_preset preset);

/* The input size each architecture is built for (299 for Inception-v3). */
int			pgs_recipe_default_input(pgs_recipe_arch architecture);

/* Check every field's range and the combinations; the message names the option at fault. */
pgs_status	pgs_recipe_validate(const pgs_recipe *recipe, pgs_error *err);

/*
 * Names as used in options and in the recorded recipe. Parsers return -1 for an unknown name. The
 * normalization's names are augment.h's (pgs_normalization_name).
 */
const char *pgs_recipe_arch_name(pgs_recipe_arch v);
const char *pgs_recipe_optimizer_name(pgs_recipe_optimizer v);
const char *pgs_recipe_schedule_name(pgs_recipe_schedule v);
const char *pgs_recipe_rmsprop_style_name(pgs_recipe_rmsprop_style v);
const char *pgs_recipe_preprocess_name(pgs_recipe_preprocess v);
const char *pgs_recipe_preset_name(pgs_recipe_preset v);
const char *pgs_recipe_balance_name(pgs_recipe_balance v);
int			pgs_recipe_arch_parse(const char *name);
int			pgs_recipe_optimizer_parse(const char *name);
int			pgs_recipe_schedule_parse(const char *name);
int			pgs_recipe_rmsprop_style_parse(const char *name);
int			pgs_recipe_preprocess_parse(const char *name);
int			pgs_recipe_normalization_parse(const char *name);
int			pgs_recipe_preset_parse(const char *name);
int			pgs_recipe_balance_parse(const char *name);

/* The learning rate in `epoch` (0-based) under the recipe's schedule. */
double		pgs_recipe_learning_rate(const pgs_recipe *recipe, int epoch);

#ifdef __cplusplus
}
#endif

#endif
