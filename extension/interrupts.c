/* Lets long kernel loops see a pending cancel, statement timeout or termination and return early. */
#include "pgscreen.h"

#include "miscadmin.h"

#include "../kernels/common/cancel.h"

/*
 * Only looks: a kernel may be inside C++ frames, which a longjmp from CHECK_FOR_INTERRUPTS would skip.
 * The kernel returns PGS_ERR_CANCELLED and pgscreen_raise then lets CHECK_FOR_INTERRUPTS report it.
 */
static bool
interrupt_would_be_served(void)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending) &&
		InterruptHoldoffCount == 0 && CritSectionCount == 0;
}

void
pgscreen_interrupts_init(void)
{
	pgs_set_cancel_check(interrupt_would_be_served);
}
