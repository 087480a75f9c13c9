/* Per-backend cache of loaded models, dropped when screen.models changes (in any session, at its commit). */
#include "../pgscreen.h"
#include "models.h"
#include "model_cache.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(pgscreen_models_changed);

/*
 * Statement trigger on screen.models. Row changes do not invalidate anything by themselves; a relcache
 * invalidation of the table does, and it reaches every backend when this transaction commits (and this
 * backend at its next command), where the callback below marks the cache stale.
 */
Datum
pgscreen_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("screen.models_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* A name the current role resolved, so predict() runs no query per row once a model is loaded. */
typedef struct ResolvedName
{
	char	   *spec;
	Oid			role;
	int64		id;
} ResolvedName;

static MemoryContext cache_context = NULL;
static List *cached = NIL;		/* CachedModel * */
static List *resolved = NIL;	/* ResolvedName * */
static bool stale = false;
static Oid	models_relid = InvalidOid;
static uint64 use_clock = 0;

/*
 * Callbacks only mark the cache stale; entries are freed at the next lookup, between rows or batches,
 * never under a caller that is running a model.
 */
static void
relcache_changed(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == models_relid)
		stale = true;
}

/* Role memberships decide which models a role sees (row-level security), so a change drops the cache. */
static void
membership_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	stale = true;
}

static void
free_all(void)
{
	ListCell   *lc;

	foreach(lc, cached)
		pgs_predictor_free(((CachedModel *) lfirst(lc))->predictor);
	cached = NIL;
	resolved = NIL;
	MemoryContextReset(cache_context);
	stale = false;
}

static void
cache_setup(void)
{
	if (cache_context == NULL)
	{
		cache_context = AllocSetContextCreate(TopMemoryContext, "pgscreen model cache", ALLOCSET_DEFAULT_SIZES);
		CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, membership_changed, (Datum) 0);
	}
	if (!OidIsValid(models_relid))
		models_relid = get_relname_relid("models", get_namespace_oid("screen", false));
	AcceptInvalidationMessages();
	if (stale)
		free_all();
}

static size_t
cached_bytes(void)
{
	size_t		total = 0;
	ListCell   *lc;

	foreach(lc, cached)
		total += ((CachedModel *) lfirst(lc))->bytes;
	return total;
}

/* Drop the least recently used models (never `keep`) until the cache fits pgscreen.model_cache. */
static void
evict(CachedModel *keep)
{
	size_t		limit = (size_t) pgscreen_model_cache_mb << 20;

	while (cached_bytes() > limit)
	{
		CachedModel *oldest = NULL;
		ListCell   *lc;

		foreach(lc, cached)
		{
			CachedModel *m = lfirst(lc);

			if (m != keep && (oldest == NULL || m->last_used < oldest->last_used))
				oldest = m;
		}
		if (oldest == NULL)
			break;
		cached = list_delete_ptr(cached, oldest);
		pgs_predictor_free(oldest->predictor);
		oldest->predictor = NULL;
	}
}

static void
load_operating_points(CachedModel *m)
{
	MemoryContext old;

	SPI_connect();
	if (SPI_execute_with_args("SELECT key, (value->>'threshold')::float8 FROM screen.models, "
							  "jsonb_each(operating_points) WHERE id = $1 ORDER BY key", 1, (Oid[]) {INT8OID},
							  (Datum[]) {Int64GetDatum(m->ref->id)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the operating points of model " INT64_FORMAT, m->ref->id);
	old = MemoryContextSwitchTo(cache_context);
	m->n_points = (int) SPI_processed;
	m->point_names = palloc0(sizeof(char *) * Max(1, m->n_points));
	m->point_thresholds = palloc0(sizeof(double) * Max(1, m->n_points));
	for (int i = 0; i < m->n_points; i++)
	{
		bool		isnull;

		m->point_names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		m->point_thresholds[i] = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2,
															  &isnull));
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
}

static CachedModel *
load(ModelRef *ref, const pgs_ops *ops)
{
	MemoryContext old = MemoryContextSwitchTo(cache_context);
	CachedModel *m = palloc0(sizeof(CachedModel));

	m->ref = ref;
	m->role = GetUserId();
	m->device = pstrdup(ops->name);
	MemoryContextSwitchTo(old);
	if (ref->kind == MODEL_NETWORK)
	{
		bytea	   *weights = pgscreen_model_weights(ref->id);
		pgs_predictor_spec spec = {ref->architecture, ref->input_height, ref->input_width, ref->input_channels,
		ref->normalization};
		pgs_error	err;

		pgs_error_clear(&err);
		if (pgs_predictor_create(ops, &spec, (const uint8 *) VARDATA(weights), VARSIZE(weights) - VARHDRSZ,
								 &m->predictor, &err) != PGS_OK)
			pgscreen_raise(&err, psprintf("could not load model \"%s:%d\"", ref->name, ref->version));
		pfree(weights);
		m->input.height = ref->input_height;
		m->input.width = ref->input_width;
		m->input.channels = ref->input_channels;
		m->input.preprocess = ref->preprocess;
		m->input.preprocess_diameter = ref->preprocess_diameter;
		m->input.max_pixels = pgscreen_max_image_pixels;
		m->bytes = pgs_predictor_bytes(m->predictor);
	}
	load_operating_points(m);
	old = MemoryContextSwitchTo(cache_context);
	cached = lappend(cached, m);
	MemoryContextSwitchTo(old);
	return m;
}

static CachedModel *
find(int64 id, const pgs_ops *ops)
{
	ListCell   *lc;

	foreach(lc, cached)
	{
		CachedModel *m = lfirst(lc);

		if (m->ref->id == id && m->role == GetUserId() && strcmp(m->device, ops->name) == 0)
			return m;
	}
	return NULL;
}

static CachedModel *
touch(CachedModel *m)
{
	m->last_used = ++use_clock;
	evict(m);
	return m;
}

CachedModel *
pgscreen_model_cache_get_id(int64 id)
{
	const pgs_ops *ops = pgscreen_device_ops();
	CachedModel *m;
	ModelRef   *ref;
	MemoryContext old;

	cache_setup();
	/* pgscreen.cpu_threads may have changed; a parallel worker runs one thread. */
	pgscreen_configure_device(ops);
	if ((m = find(id, ops)) != NULL)
		return touch(m);
	old = MemoryContextSwitchTo(cache_context);
	ref = pgscreen_model_by_id(id);
	MemoryContextSwitchTo(old);
	if (ref == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model " INT64_FORMAT " does not exist", id)));
	return touch(load(ref, ops));
}

CachedModel *
pgscreen_model_cache_get(const char *spec)
{
	ListCell   *lc;
	ResolvedName *r;
	ModelRef   *ref;
	MemoryContext old;

	cache_setup();
	foreach(lc, resolved)
	{
		r = lfirst(lc);
		if (r->role == GetUserId() && strcmp(r->spec, spec) == 0)
			return pgscreen_model_cache_get_id(r->id);
	}
	ref = pgscreen_model_resolve(spec);
	old = MemoryContextSwitchTo(cache_context);
	r = palloc(sizeof(ResolvedName));
	r->spec = pstrdup(spec);
	r->role = GetUserId();
	r->id = ref->id;
	resolved = lappend(resolved, r);
	MemoryContextSwitchTo(old);
	return pgscreen_model_cache_get_id(ref->id);
}

double
pgscreen_model_threshold(CachedModel *m, const char *point)
{
	if (point == NULL)
	{
		if (m->n_points == 1)
			return m->point_thresholds[0];
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg(m->n_points == 0 ? "model \"%s:%d\" has no operating point" :
						"model \"%s:%d\" has several operating points", m->ref->name, m->ref->version),
				 errhint(m->n_points == 0 ? "Store one with screen.set_operating_point()." :
						 "Name the operating point to use.")));
	}
	for (int i = 0; i < m->n_points; i++)
		if (strcmp(m->point_names[i], point) == 0)
			return m->point_thresholds[i];
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s:%d\" has no operating point \"%s\"", m->ref->name, m->ref->version, point)));
	return 0;
}
