/* Reading jsonb options objects: known keys only, typed values, errors that name the option. */
#ifndef PGSCREEN_OPTIONS_H
#define PGSCREEN_OPTIONS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "../kernels/train/recipe.h"

/* `what` names the options in messages, e.g. "training option". */
typedef struct OptionsReader
{
	JsonbContainer *container;
	const char *what;
	const char *prefix;			/* "" or "augmentation." for nested objects */
} OptionsReader;

/* Errors unless jsonb is an object whose keys are all in `allowed` (NULL-terminated). */
extern void options_begin(OptionsReader *reader, JsonbContainer *container, const char *what, const char *prefix,
						  const char *const *allowed);

/* Each returns false when the key is absent (or JSON null); errors on a value of the wrong type. */
extern bool options_get_double(OptionsReader *reader, const char *key, double *out);
extern bool options_get_int(OptionsReader *reader, const char *key, int *out);
extern bool options_get_int64(OptionsReader *reader, const char *key, int64 *out);
extern bool options_get_bool(OptionsReader *reader, const char *key, bool *out);
extern bool options_get_string(OptionsReader *reader, const char *key, char **out);
extern bool options_get_range(OptionsReader *reader, const char *key, double *low, double *high);
/* The raw value, for keys that take several types; its type is checked by the caller. */
extern JsonbValue *options_get_value(OptionsReader *reader, const char *key);
extern void options_wrong_type(OptionsReader *reader, const char *key, const char *expected) pg_attribute_noreturn();

/* Argument `arg` as text, or an error naming it when it is NULL. */
extern text *pgscreen_required_text(FunctionCallInfo fcinfo, int arg, const char *name);
/* Argument `arg` as jsonb, '{}' when it is NULL. */
extern Jsonb *pgscreen_options_or_empty(FunctionCallInfo fcinfo, int arg);

/* Training recipes (extension/train/recipe_options.c). */
#define PGSCREEN_MAX_REPLICAS 16

/* Several devices for one job (extension/train/replica_options.c): data-parallel replicas. */
typedef struct ReplicaSettings
{
	int			replicas;		/* 1: one device, the recipe's; 0: every GPU ("cuda:all"), counted at start */
	bool		on_gpus;		/* "devices": GPUs, else "cpu_replicas": CPU replicas */
	int			gpus[PGSCREEN_MAX_REPLICAS];	/* "devices": replica r runs on cuda:gpus[r] */
	bool		sync_batchnorm; /* batch-norm statistics over the global batch */
} ReplicaSettings;

typedef struct ResolvedRecipe
{
	pgs_recipe	recipe;
	int64		pretrained_model_id;	/* 0: none */
	ReplicaSettings replicas;
} ResolvedRecipe;

/* options → recipe: preset first, then each option; defaults for the device (pgscreen.device) and seed. */
extern void pgscreen_recipe_from_options(Jsonb *options, ResolvedRecipe *resolved);
/* "devices", "cpu_replicas" and "sync_batchnorm" into resolved (after "device" and "batch_size" are read). */
extern void pgscreen_replicas_from_options(OptionsReader *reader, ResolvedRecipe *resolved, bool device_given);
/* The same keys appended to a recipe's JSON object text (nothing for one device). */
extern void pgscreen_replicas_to_json(StringInfo buf, const ReplicaSettings *settings);

/* The recipe as a JSON object text with every setting, which pgscreen_recipe_from_options reads back exactly. */
extern char *pgscreen_recipe_to_json(const ResolvedRecipe *resolved);

#endif
