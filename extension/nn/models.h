/* Models in screen.models: looking them up by name, and what scoring needs to know about them. */

/*
 * What a model is in SQL. A model is a name and version in screen.models (its row: architecture, input
 * size, preprocessing, normalization, recipe, metrics), and the model file is its serialised form: the
 * catalog stores exactly that file (kernels/nn/model_file.h with the scoring recipe of
 * kernels/train/stored_model.h), so export_model(name) returns it and import_model(name, file) stores one.
 * Two layers, one format:
 *   catalog (model_functions.c, job_*.c): train, create_model, import_weights, import_model, export_model,
 *            export_weights, ensemble, predict, score: models by "name" or "name:version";
 *   file    (nn_functions.c): model_init, model_from_npz, model_to_npz, model_info: bytea model files,
 *            for building, converting and inspecting networks outside the catalog.
 */
#ifndef PGSCREEN_MODELS_H
#define PGSCREEN_MODELS_H

#include "postgres.h"

#include "../../kernels/train/recipe.h"

typedef enum ModelKind
{
	MODEL_NETWORK,
	MODEL_ENSEMBLE
} ModelKind;

/* A model row as the caller sees it (row-level security applies), without its weights. */
typedef struct ModelRef
{
	int64		id;
	char	   *name;
	int			version;
	ModelKind	kind;
	pgs_recipe_arch architecture;
	int			input_height;
	int			input_width;
	int			input_channels;
	pgs_recipe_preprocess preprocess;
	int			preprocess_diameter;
	pgs_normalization normalization;
	int			n_members;		/* ensembles */
	int64	   *members;
} ModelRef;

/*
 * "[owner.]name[:version]" (no version: the latest), among the models the current role may see; errors with
 * 42704 when there is none. An unqualified name means the current role's own model, else the only owner's
 * the role can see; it is an error (42P09) when several owners' models match. Result in CurrentMemoryContext.
 */
extern ModelRef *pgscreen_model_resolve(const char *spec);
/* The same by id; NULL when the caller cannot see it. */
extern ModelRef *pgscreen_model_by_id(int64 id);

/* Errors unless name is a valid model name (no colon or dot, no leading or trailing blanks, 1–63 bytes). */
extern void pgscreen_model_check_name(const char *name);

/*
 * The owner and name of a new model "[owner.]name": the current role unless qualified, and then only a role
 * whose privileges the current role has. Versions are numbered per owner and name.
 */
extern Oid	pgscreen_model_new_owner(const char *spec, char **name);

/* A new row of screen.models (extension/nn/model_store.c). NULL/0 fields are stored as NULL. */
typedef struct ModelRecord
{
	const char *name;
	Oid			owner;
	ModelKind	kind;
	pgs_recipe_arch architecture;
	int			input_height;
	int			input_width;
	int			input_channels;
	pgs_recipe_preprocess preprocess;
	int			preprocess_diameter;
	pgs_normalization normalization;
	const char *recipe_json;	/* merged with the software versions and device that made the model */
	const char *device;
	const char *training_query;
	int64		training_rows;
	const char *validation_query;
	int64		validation_rows;
	int64		job_id;
	int			n_members;
	const int64 *members;
	const char *metrics_json;
} ModelRecord;

/*
 * Insert the model as the next version of its name, with its weights (NULL for an ensemble) in chunks;
 * runs as the catalog owner in the current transaction and returns the new id.
 */
extern int64 pgscreen_model_insert(const ModelRecord *record, const uint8 *weights, size_t weights_len);

/*
 * Store a network's model file in chunks under model `id`: call as the catalog owner with SPI connected
 * (between pgscreen_catalog_enter and pgscreen_catalog_leave).
 */
extern void pgscreen_model_insert_weights(int64 id, const uint8 *weights, size_t weights_len);

/* The model file of a network, reassembled from its chunks as the caller sees them (palloc'd). */
extern bytea *pgscreen_model_weights(int64 id);

#endif
