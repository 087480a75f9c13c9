/* Status checking for CUDA runtime, cuDNN and cuBLAS calls: every call is checked and becomes a pgs_status. */
#ifndef PGS_CUDA_CHECK_H
#define PGS_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../common/status.h"

static inline pgs_status
pgs_cuda_fail(pgs_error *err, cudaError_t e, const char *what)
{
	pgs_status	code = (e == cudaErrorMemoryAllocation) ? PGS_ERR_DEVICE_MEMORY : PGS_ERR_DEVICE;

	return pgs_fail(err, code, "%s failed: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

static inline pgs_status
pgs_cudnn_fail(pgs_error *err, cudnnStatus_t s, const char *what)
{
	pgs_status	code = (s == CUDNN_STATUS_ALLOC_FAILED) ? PGS_ERR_DEVICE_MEMORY : PGS_ERR_DEVICE;

	return pgs_fail(err, code, "%s failed: %s", what, cudnnGetErrorString(s));
}

static inline pgs_status
pgs_cublas_fail(pgs_error *err, cublasStatus_t s, const char *what)
{
	pgs_status	code = (s == CUBLAS_STATUS_ALLOC_FAILED) ? PGS_ERR_DEVICE_MEMORY : PGS_ERR_DEVICE;

	return pgs_fail(err, code, "%s failed: %s", what, cublasGetStatusString(s));
}

#define PGS_CUDA_TRY(call, err) \
	do { cudaError_t e_ = (call); if (e_ != cudaSuccess) return pgs_cuda_fail((err), e_, #call); } while (0)
#define PGS_CUDNN_TRY(call, err) \
	do { cudnnStatus_t s_ = (call); if (s_ != CUDNN_STATUS_SUCCESS) return pgs_cudnn_fail((err), s_, #call); } while (0)
#define PGS_CUBLAS_TRY(call, err) \
	do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) return pgs_cublas_fail((err), s_, #call); } while (0)

/* After every kernel launch: a bad configuration shows up only here. */
#define PGS_CUDA_CHECK_LAUNCH(what, err) PGS_CUDA_TRY(cudaGetLastError(), err)

/*
 * Entry points called from C catch everything: an exception unwinding into PostgreSQL would abort the
 * backend and restart every session.
 */
#define PGS_CUDA_ENTRY_BEGIN try {
#define PGS_CUDA_ENTRY_END(err) \
	} catch (...) { return pgs_fail((err), PGS_ERR_INTERNAL, "unexpected C++ exception in the CUDA module"); }

#endif
