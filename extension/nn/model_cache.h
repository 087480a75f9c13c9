/* Models loaded for scoring, cached per backend (extension/nn/model_cache.c). */
#ifndef PGSCREEN_MODEL_CACHE_H
#define PGSCREEN_MODEL_CACHE_H

#include "models.h"

#include "../../kernels/train/input.h"
#include "../../kernels/train/predictor.h"

/* GUC pgscreen.model_cache (extension/train/job_settings.c), in MB */
extern int	pgscreen_model_cache_mb;

typedef struct CachedModel
{
	ModelRef   *ref;
	Oid			role;			/* the role it was loaded for: visibility is per role */
	const char *device;			/* the device its network lives on */
	pgs_predictor *predictor;	/* networks; NULL for ensembles */
	pgs_input_spec input;
	int			n_points;		/* stored operating points */
	char	  **point_names;
	double	   *point_thresholds;
	size_t		bytes;
	uint64		last_used;
} CachedModel;

/*
 * The model "name" or "name:version" (or by id) as the current role sees it, loaded on the current device.
 * Valid until the next lookup: a lookup may drop other entries (invalidation, the size limit), so callers
 * never keep a CachedModel across lookups.
 */
extern CachedModel *pgscreen_model_cache_get(const char *spec);
extern CachedModel *pgscreen_model_cache_get_id(int64 id);

/* The threshold of a stored operating point; NULL names the only one. */
extern double pgscreen_model_threshold(CachedModel *model, const char *point);

#endif
