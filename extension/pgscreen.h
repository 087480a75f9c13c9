/* Declarations shared by the extension/ files: GUC variables, error raising, allocators, devices. */
#ifndef PGSCREEN_H
#define PGSCREEN_H

#include "postgres.h"

#include "fmgr.h"

#include "../kernels/common/alloc.h"
#include "../kernels/common/status.h"
#include "../kernels/device/ops.h"

/*
 * Each area registers its own settings (GUCs) and start-up work; _PG_init (extension/module.c) calls
 * these in turn.
 */
extern void pgscreen_device_init(void);	/* extension/device.c: pgscreen.device, pgscreen.cuda_module */
extern void pgscreen_image_init(void);	/* extension/image/image_functions.c: pgscreen.max_image_pixels */
extern void pgscreen_nn_init(void); /* extension/nn/nn_functions.c: pgscreen.cpu_threads */
extern void pgscreen_pacs_init(void);	/* extension/pacs/pacs_init.c: pgscreen.pacs_*, pgscreen.scp_*, the receiver */
extern void pgscreen_train_init(void);	/* extension/train/job_settings.c: training settings; preloaded, the launcher */
extern void pgscreen_dicom_init(void);	/* extension/dicom/dicom_functions.c: the DICOM codec of the decoder */

/* The settings other areas read. */
extern char *pgscreen_device;
extern int	pgscreen_max_image_pixels;	/* the lower of the server's and the session's limit */
extern char *pgscreen_cuda_module_path;
extern int	pgscreen_cpu_threads;

/*
 * Users' queries (extension/read_only_query.c): errors unless `query` is one SELECT without data-modifying
 * WITH; begin/end bracket running it with transaction_read_only on.
 */
extern void pgscreen_check_select_query(const char *query, const char *what);
extern int	pgscreen_read_only_begin(void);
extern void pgscreen_read_only_end(int nest_level);
/* Kernels' long loops stop on a pending cancel, timeout or termination (extension/interrupts.c). */
extern void pgscreen_interrupts_init(void);

/* Errors (extension/errors.c): turn a kernel failure into ereport(ERROR) with the matching SQLSTATE. */
extern int	pgscreen_sqlstate(pgs_status code);
extern void pgscreen_raise(const pgs_error *err, const char *what) pg_attribute_noreturn();

/* Raise unless st is PGS_OK; `what` is the primary message prefix, e.g. "could not decode image". */
static inline void
pgscreen_check(pgs_status st, const pgs_error *err, const char *what)
{
	if (st != PGS_OK)
		pgscreen_raise(err, what);
}

/*
 * Allocators for kernel results (extension/memory.c). Memory comes from CurrentMemoryContext (or the context
 * given to pgscreen_allocator_init_in), so it is
 * freed with the context on error. The bytea flavour reserves a varlena header (plus `headroom` bytes the
 * caller fills in later) in front of every block, so a finished result becomes a bytea without a copy.
 */
typedef struct PgscreenAllocator
{
	pgs_allocator base;
	bool		as_bytea;
	bool		too_large;		/* a request exceeded the 1 GB limit of a bytea value */
	size_t		headroom;		/* bytes reserved between the header and each block's data */
	MemoryContext context;		/* NULL: CurrentMemoryContext at each call */
	bool		budgeted;		/* large blocks count against pgscreen.image_memory_budget */
} PgscreenAllocator;

extern void pgscreen_allocator_init(PgscreenAllocator *allocator, bool as_bytea);
/*
 * An allocator bound to one context, for state that outlives calls (an aggregate's transition state); its
 * blocks do not count against the image memory budget.
 */
extern void pgscreen_allocator_init_in(PgscreenAllocator *allocator, MemoryContext context);
/* The bytea whose payload is the headroom followed by `len` bytes at `data` (a block of `allocator`). */
extern bytea *pgscreen_bytea_result(const PgscreenAllocator *allocator, void *data, size_t len);
/* The one "exceeds the 1 GB limit" error, raised when st failed because a request to `allocator` was too large. */
extern void pgscreen_raise_if_too_large(const PgscreenAllocator *allocator, pgs_status st);

/*
 * The image memory budget (extension/image_budget.c): reserve before allocating a large block, release when
 * it is freed; refused() reports (once) the last refusal for the error message.
 */
extern int	pgscreen_image_memory_budget_mb;
extern void pgscreen_image_budget_init(void);
extern bool pgscreen_image_budget_reserve(size_t bytes);
extern void pgscreen_image_budget_release(size_t bytes);
extern bool pgscreen_image_budget_refused(size_t *bytes, uint64 *in_use);

/* DROP ROLE, REASSIGN OWNED, DROP OWNED for owners of models and jobs (extension/role_guard.c). */
extern void pgscreen_role_guard_init(void);
/* Check a kernel call that produced its result with `allocator`: the 1 GB limit first, then st. */
static inline void
pgscreen_check_result(const PgscreenAllocator *allocator, pgs_status st, const pgs_error *err, const char *what)
{
	pgscreen_raise_if_too_large(allocator, st);
	pgscreen_check(st, err, what);
}

/* Devices (extension/device.c): the ops table pgscreen.device selects, loading CUDA on first need. */
extern const pgs_ops *pgscreen_device_ops(void);
extern bool pgscreen_device_check_setting(const char *value, int *ordinal, char **detail);
/* The number of usable GPUs; errors, saying why, when there is none. */
extern int	pgscreen_gpu_count(void);
/* The loaded CUDA module, for what is not an op (NCCL); errors like pgscreen_gpu_count. */
struct pgs_cuda_module;
extern const struct pgs_cuda_module *pgscreen_loaded_cuda_module(void);

/* A DICOM bytea argument without its pixels when it is stored out of line (reads only the header slice). */
extern bytea *pgscreen_dicom_header_arg(FunctionCallInfo fcinfo, int argno);
/* Network engine (extension/nn/nn_functions.c): apply pgscreen.cpu_threads and the device options to ops. */
extern void pgscreen_configure_device(const pgs_ops *ops);

#endif
