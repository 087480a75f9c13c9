/* Declarations shared by the extension's ROC files: reading roc arguments, raising metrics errors, notices. */
#ifndef PGSCREEN_ROC_SQL_H
#define PGSCREEN_ROC_SQL_H

#include "../pgscreen.h"

#include "fmgr.h"

#include "../../kernels/metrics/roc.h"

/*
 * The header of a screen.roc datum, detoasted into the current memory context when it is toasted; the view
 * points into the datum's bytes, which must outlive it. A corrupt header is an error.
 */
extern void pgscreen_roc_open(Datum datum, pgs_roc_view *view);

/* Raise a metrics kernel failure: its message is complete, so it becomes the primary message as is. */
extern void pgscreen_roc_raise(const pgs_error *err) pg_attribute_noreturn();

static inline void
pgscreen_roc_check(pgs_status st, const pgs_error *err)
{
	if (st != PGS_OK)
		pgscreen_roc_raise(err);
}

/* The aggregate's memory context; an error when called outside an aggregate. */
extern MemoryContext pgscreen_aggregate_context(FunctionCallInfo fcinfo, const char *function);

/* A NaN or infinite score: the kernel's message with a hint on leaving such rows out. */
extern void pgscreen_roc_raise_score(const pgs_error *err) pg_attribute_noreturn();

/* level must lie strictly between 0 and 1. */
extern void pgscreen_roc_check_level(double level);

/*
 * True when the AUC of these counts is defined; otherwise emits a NOTICE saying why (no cases, no positives,
 * no negatives) and returns false, so the caller returns NULLs.
 */
extern bool pgscreen_roc_auc_defined(int64 positives, int64 negatives);

/* True when an interval exists (two cases of each class, for DeLong and the bootstrap); else a NOTICE and false. */
extern bool pgscreen_roc_variance_defined(int64 positives, int64 negatives);

/* A bytea (or other varlena) result from a block of the bytea allocator, with the 1 GB check. */
extern Datum pgscreen_roc_varlena_result(PgscreenAllocator *allocator, pgs_status st, const pgs_error *err,
										 uint8_t *data, size_t len);

#endif
