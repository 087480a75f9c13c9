/* Declarations shared by the extension/ files: GUC variables, error raising, allocators, devices. */
#ifndef PGSCREEN_H
#define PGSCREEN_H

#include "postgres.h"

#include "fmgr.h"

#include "../kernels/common/alloc.h"
#include "../kernels/common/status.h"
#include "../kernels/device/ops.h"

/* GUCs (extension/pgscreen.c) */
extern char *pgscreen_device;
extern int	pgscreen_max_image_pixels;
extern char *pgscreen_cuda_module_path;
extern int	pgscreen_cpu_threads;

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
} PgscreenAllocator;

extern void pgscreen_allocator_init(PgscreenAllocator *allocator, bool as_bytea);
/* An allocator bound to one context, for state that outlives calls (an aggregate's transition state). */
extern void pgscreen_allocator_init_in(PgscreenAllocator *allocator, MemoryContext context);
/* The bytea whose payload is the headroom followed by `len` bytes at `data` (a block of `allocator`). */
extern bytea *pgscreen_bytea_result(const PgscreenAllocator *allocator, void *data, size_t len);

/* PACS networking and the DICOM receiver (extension/pacs_*.c): settings, shared memory, workers. */
extern void pgscreen_pacs_init(void);

/* Devices (extension/device.c): the ops table pgscreen.device selects, loading CUDA on first need. */
extern const pgs_ops *pgscreen_device_ops(void);
extern bool pgscreen_device_check_setting(const char *value, int *ordinal, char **detail);
/* The number of usable GPUs; errors, saying why, when there is none. */
extern int	pgscreen_gpu_count(void);
/* The loaded CUDA module, for what is not an op (NCCL); errors like pgscreen_gpu_count. */
struct pgs_cuda_module;
extern const struct pgs_cuda_module *pgscreen_loaded_cuda_module(void);

/* DICOM (extension/dicom/dicom_functions.c): registers the DICOM codec with the image decoder; parses nothing. */
extern void pgscreen_dicom_init(void);

/* A DICOM bytea argument without its pixels when it is stored out of line (reads only the header slice). */
extern bytea *pgscreen_dicom_header_arg(FunctionCallInfo fcinfo, int argno);
/* Network engine (extension/nn/nn_functions.c): apply pgscreen.cpu_threads and the device options to ops. */
extern void pgscreen_configure_device(const pgs_ops *ops);

#endif
