/* Cooperative cancellation: long kernel loops ask the caller's check whether to stop, and unwind if so. */
#ifndef PGS_CANCEL_H
#define PGS_CANCEL_H

#include <stdbool.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Returns true when the caller wants the kernel to stop. It must only look (read a flag), never act:
 * kernels may hold C++ frames and resources that only an ordinary return releases. The caller acts once
 * the kernel has returned PGS_ERR_CANCELLED (extension/ then runs CHECK_FOR_INTERRUPTS).
 */
typedef bool (*pgs_cancel_check) (void);

/*
 * The process's check, installed once by the host (the extension's _PG_init); NULL, the default, never
 * cancels. One process-wide check rather than an argument of every kernel function: a backend runs one
 * statement at a time, and every long loop, however deep, reaches it.
 */
void		pgs_set_cancel_check(pgs_cancel_check check);

/*
 * A point where a long loop may stop: PGS_ERR_CANCELLED (err filled) when the check says so, else PGS_OK.
 * Costs an indirect call and a flag read; call it every few thousand cheap iterations or each costly one.
 */
pgs_status	pgs_cancel_point(pgs_error *err);

/*
 * Image rows between two cancel points in a pixel loop: a row of the widest image allowed costs well under
 * a millisecond in any pass, and the check is then noise next to the rows' work.
 */
#define PGS_CANCEL_ROWS 64

#ifdef __cplusplus
}
#endif

#endif
