/* The C interface of pgscreen_cuda.so, the CUDA module that pgscreen.so loads with dlopen on first GPU use. */
#ifndef PGS_CUDA_MODULE_H
#define PGS_CUDA_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/status.h"
#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The module exports exactly one symbol, PGS_CUDA_MODULE_ENTRY, returning this table. Nothing in the module
 * runs at load time; CUDA is initialised by the first probe or open_device, so loading the module in a
 * backend costs only the dynamic linking of cudart/cuDNN/cuBLAS. Bump PGS_CUDA_MODULE_ABI on any change.
 */
#define PGS_CUDA_MODULE_ABI 2
#define PGS_CUDA_MODULE_ENTRY "pgscreen_cuda_module"

/* NCCL's unique id (ncclUniqueId) as bytes. */
#define PGS_NCCL_ID_BYTES 128

typedef struct pgs_gpu_info
{
	int			ordinal;
	char		name[256];
	size_t		total_memory;	/* bytes */
	size_t		free_memory;	/* bytes, when the probe ran */
	int			cc_major;
	int			cc_minor;
	int			multiprocessors;
} pgs_gpu_info;

typedef struct pgs_cuda_versions
{
	int			driver;			/* CUDA driver API version, e.g. 13000; 0 when no driver is installed */
	int			runtime;		/* CUDA runtime linked into the module, e.g. 13000 */
	int			cudnn;			/* cuDNN library version, e.g. 91900 */
	int			cublas;			/* cuBLAS library version, e.g. 130100 */
} pgs_cuda_versions;

typedef struct pgs_cuda_module
{
	int			abi;
	int			ops_version;	/* PGS_OPS_VERSION the module was built with */
	const char *build_info;		/* toolkit and architectures, for device_info() */

	/* Library versions; never fails, works without a driver. */
	void		(*versions) (pgs_cuda_versions *out);

	/*
	 * Count and describe the GPUs. With no usable GPU it returns PGS_ERR_DEVICE and a message that says
	 * why (no driver, driver too old, no device, ...). infos may be NULL to only count.
	 */
	pgs_status	(*probe) (pgs_gpu_info *infos, int max_infos, int *n_gpus, pgs_error *err);

	/* The ops table of GPU `ordinal`, created on first use and kept for the life of the process. */
	pgs_status	(*open_device) (int ordinal, const pgs_ops **ops, pgs_error *err);

	/* ---- ABI 2: NCCL between the GPUs of one job's replicas (kernels/train/collective.h) ---- */

	/*
	 * libnccl.so.2 is loaded with dlopen on the first call, so the module works without it. Replica 0 makes
	 * the group's id and passes it to the others (through shared memory); each replica then opens its
	 * communicator on its device, which blocks until all `size` have. Collectives run on the device's stream,
	 * in order with its other ops.
	 */
	pgs_status	(*nccl_unique_id) (unsigned char id[PGS_NCCL_ID_BYTES], pgs_error *err);
	pgs_status	(*nccl_open) (const pgs_ops *device, const unsigned char id[PGS_NCCL_ID_BYTES], int rank, int size,
							  void **comm, pgs_error *err);
	/* In place over n floats (average: the sum divided by the group's size) or n doubles (sum). */
	pgs_status	(*nccl_all_reduce) (void *comm, void *data, size_t n, bool doubles, bool average, pgs_error *err);
	/* In place: rank 0's n floats everywhere. */
	pgs_status	(*nccl_broadcast) (void *comm, float *data, size_t n, pgs_error *err);
	void		(*nccl_close) (void *comm);
} pgs_cuda_module;

typedef const pgs_cuda_module *(*pgs_cuda_module_entry_fn) (int abi);

#ifdef __cplusplus
}
#endif

#endif
