/* The process's cancellation check, consulted by long kernel loops through pgs_cancel_point. */
#include "cancel.h"

#include <stddef.h>

static pgs_cancel_check installed_check = NULL;

void
pgs_set_cancel_check(pgs_cancel_check check)
{
	installed_check = check;
}

pgs_status
pgs_cancel_point(pgs_error *err)
{
	if (installed_check != NULL && installed_check())
		return pgs_fail(err, PGS_ERR_CANCELLED, "canceling statement due to user request");
	return PGS_OK;
}
