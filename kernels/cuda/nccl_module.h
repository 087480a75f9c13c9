/* NCCL entry points of the CUDA module (nccl.cu), with the signatures of pgs_cuda_module's nccl_* fields. */
#ifndef PGS_NCCL_MODULE_H
#define PGS_NCCL_MODULE_H

#include "../device/cuda_module.h"

/* Where libnccl.so.2 was found at build time besides the loader's path (a pip wheel's), or "". */
#ifndef PGS_NCCL_LIBRARY_FALLBACK
#define PGS_NCCL_LIBRARY_FALLBACK ""
#endif

pgs_status	pgs_nccl_unique_id(unsigned char id[PGS_NCCL_ID_BYTES], pgs_error *err);
pgs_status	pgs_nccl_open(const pgs_ops *device, const unsigned char id[PGS_NCCL_ID_BYTES], int rank, int size,
						  void **comm, pgs_error *err);
pgs_status	pgs_nccl_all_reduce(void *comm, void *data, size_t n, bool doubles, bool average, pgs_error *err);
pgs_status	pgs_nccl_broadcast(void *comm, float *data, size_t n, pgs_error *err);
void		pgs_nccl_close(void *comm);

#endif
