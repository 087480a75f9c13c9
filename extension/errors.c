/* Maps kernel status codes to SQLSTATEs and raises them in PostgreSQL's message style. */
#include "pgscreen.h"

#include "miscadmin.h"
#include "utils/elog.h"

int
pgscreen_sqlstate(pgs_status code)
{
	switch (code)
	{
		case PGS_ERR_INVALID_ARGUMENT:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case PGS_ERR_BAD_DATA:
			return ERRCODE_INVALID_BINARY_REPRESENTATION;
		case PGS_ERR_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case PGS_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case PGS_ERR_NO_MEMORY:
		case PGS_ERR_DEVICE_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case PGS_ERR_DEVICE:
			return ERRCODE_SYSTEM_ERROR;
		case PGS_ERR_IO:
			return ERRCODE_IO_ERROR;
		case PGS_ERR_CANCELLED:
			return ERRCODE_QUERY_CANCELED;
		case PGS_OK:
		case PGS_ERR_INTERNAL:
			break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
pgscreen_raise(const pgs_error *err, const char *what)
{
	size_t		requested;
	uint64		in_use;

	if (err->code == PGS_ERR_NO_MEMORY && pgscreen_image_budget_refused(&requested, &in_use))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: the image memory budget of the server is used up", what),
				 errdetail("%zu MB were requested while %llu MB of pgscreen.image_memory_budget (%d MB) were in use.",
						   requested >> 20, (unsigned long long) (in_use >> 20), pgscreen_image_memory_budget_mb),
				 errhint("Try again when other sessions have finished, or ask a superuser to raise pgscreen.image_memory_budget.")));
	/* A kernel that stopped for an interrupt: PostgreSQL reports it as it would any other (cancel, timeout). */
	if (err->code == PGS_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(pgscreen_sqlstate(err->code)),
			 errmsg("%s: %s", what, err->message[0] ? err->message : pgs_strerror(err->code)),
			 err->code == PGS_ERR_LIMIT && strstr(err->message, "pixels") != NULL ?
			 errhint("The pixel limit is pgscreen.max_image_pixels (set by a superuser), or pgscreen.session_max_image_pixels where that is lower.") : 0));
	pg_unreachable();
}
