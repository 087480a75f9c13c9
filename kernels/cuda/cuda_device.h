/* Per-GPU state of the CUDA module: stream and library handles behind an ops table. */
#ifndef PGS_CUDA_DEVICE_H
#define PGS_CUDA_DEVICE_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../device/ops.h"

struct pgs_cuda_nn;

typedef struct pgs_cuda_device
{
	int			ordinal;
	char		name[16];
	cudaStream_t stream;
	cublasHandle_t cublas;
	cudnnHandle_t cudnn;
	struct pgs_cuda_nn *nn;		/* the network ops' state (nn_cuda.h), created on first use */
	pgs_ops		ops;
} pgs_cuda_device;

/* Create the stream and handles of GPU `ordinal` and fill its ops table. */
pgs_status	pgs_cuda_device_init(pgs_cuda_device *dev, int ordinal, pgs_error *err);

#endif
