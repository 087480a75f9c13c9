/* Reading jsonb options objects for every SQL function: known keys only, typed values, one message format. */
#ifndef PGSCREEN_OPTIONS_H
#define PGSCREEN_OPTIONS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "../kernels/device/augment.h"
#include "../kernels/train/recipe.h"

/*
 * One options object (or a nested object under `prefix`, e.g. "augmentation.") of the SQL function named
 * in `function`, e.g. "screen.augment". Every error is SQLSTATE 22023 in one of these forms:
 *   unknown option "foo" for screen.augment          DETAIL: Valid options: flip, brightness, ...
 *   option "hue" of screen.augment must be a number
 *   option "method" of screen.pacs_retrieve has unknown value "put"   DETAIL: Valid values: get, move.
 *   options of screen.augment must be a JSON object
 */
typedef struct OptionsReader
{
	JsonbContainer *container;
	const char *function;
	const char *prefix;
} OptionsReader;

/* Errors unless `container` is an object whose keys are all in `allowed` (NULL-terminated). */
extern void options_begin(OptionsReader *reader, JsonbContainer *container, const char *function,
						  const char *prefix, const char *const *allowed);
/* Options of a whole argument; NULL jsonb reads as '{}'. */
extern void options_begin_jsonb(OptionsReader *reader, Jsonb *options, const char *function,
								const char *const *allowed);
/* The object under `key` as a reader of its own (keys prefixed "key."); false when absent. */
extern bool options_get_object(OptionsReader *reader, const char *key, const char *const *allowed,
							   OptionsReader *nested);

/* Each getter returns false when the key is absent (or JSON null) and errors on a value of the wrong type. */
extern bool options_get_bool(OptionsReader *reader, const char *key, bool *out);
extern bool options_get_int(OptionsReader *reader, const char *key, int min, int max, int *out);
extern bool options_get_int64(OptionsReader *reader, const char *key, int64 min, int64 max, int64 *out);
/* A finite number in [min, max] (pass -INFINITY/INFINITY for no bound). */
extern bool options_get_double(OptionsReader *reader, const char *key, double min, double max, double *out);
/* One of `names` (NULL-terminated), compared case-insensitively; *out is its index. */
extern bool options_get_enum(OptionsReader *reader, const char *key, const char *const *names, int *out);
extern bool options_get_text(OptionsReader *reader, const char *key, char **out);
/* An array of strings, as a List of palloc'd C strings. */
extern bool options_get_text_array(OptionsReader *reader, const char *key, List **out);
/* An array of numbers, palloc'd. */
extern bool options_get_number_array(OptionsReader *reader, const char *key, double **values, int *count);
/* An array of two numbers [low, high]. */
extern bool options_get_range(OptionsReader *reader, const char *key, double *low, double *high);
/* The raw value, for keys that take several types; its type is checked by the caller. */
extern JsonbValue *options_get_value(OptionsReader *reader, const char *key);

extern void options_wrong_type(OptionsReader *reader, const char *key, const char *expected) pg_attribute_noreturn();
extern void options_unknown_value(OptionsReader *reader, const char *key, const char *value,
								  const char *const *names) pg_attribute_noreturn();

/* The NULL-terminated list of name(0) .. name(count - 1), for options_get_enum over a kernel's names. */
extern const char *const *options_names(const char *(*name) (int), int count);

/* "screen.<name>" of the SQL function being called, for messages. */
extern const char *options_function_name(FunctionCallInfo fcinfo);

/* Argument `arg` as text, or an error naming it when it is NULL. */
extern text *pgscreen_required_text(FunctionCallInfo fcinfo, int arg, const char *name);
/* Argument `arg` as jsonb, '{}' when it is NULL. */
extern Jsonb *pgscreen_options_or_empty(FunctionCallInfo fcinfo, int arg);

/*
 * Augmentation options, the same keys for screen.augment and train()'s "augmentation" object:
 * enabled, flip, brightness, saturation, hue, contrast, random_order. Absent keys keep *recipe's values.
 */
extern const char *const options_augmentation_keys[];
extern void options_read_augmentation(OptionsReader *reader, pgs_augment_recipe *recipe);

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

/*
 * options → recipe: preset first, then each option; defaults for the device (pgscreen.device) and seed.
 * `function` names the SQL function in messages.
 */
extern void pgscreen_recipe_from_options(Jsonb *options, const char *function, ResolvedRecipe *resolved);
/* A recipe recorded by an earlier version (a job's row): old key spellings are read as today's. */
extern void pgscreen_recipe_from_record(Jsonb *record, ResolvedRecipe *resolved);
/* "devices", "cpu_replicas" and "sync_batchnorm" into resolved (after "device" and "batch_size" are read). */
extern void pgscreen_replicas_from_options(OptionsReader *reader, ResolvedRecipe *resolved, bool device_given);
/* The same keys appended to a recipe's JSON object text (nothing for one device). */
extern void pgscreen_replicas_to_json(StringInfo buf, const ReplicaSettings *settings);

/* The recipe as a JSON object text with every setting, which pgscreen_recipe_from_options reads back exactly. */
extern char *pgscreen_recipe_to_json(const ResolvedRecipe *resolved);

#endif
