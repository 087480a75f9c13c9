/* Per-backend cache of loaded models, dropped when screen.models changes (in any session, at its commit). */
#include "pgscreen.h"
#include "models.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"

PG_FUNCTION_INFO_V1(pgscreen_models_changed);

/*
 * Statement trigger on screen.models. Row changes do not invalidate anything by themselves; a relcache
 * invalidation of the table does, and it reaches every backend when this transaction commits (and this
 * backend at its next command), where the relcache callback of the model cache drops what it holds.
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
