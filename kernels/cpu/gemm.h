/* Single-precision matrix product for the CPU ops: OpenBLAS when the process can load it, else plain C. */
#ifndef PGS_GEMM_H
#define PGS_GEMM_H

#include <stdbool.h>

typedef enum pgs_gemm_backend
{
	PGS_GEMM_AUTO = 0,			/* OpenBLAS if libopenblas.so.0 loads, else plain */
	PGS_GEMM_PLAIN,				/* the portable blocked C kernel below */
	PGS_GEMM_OPENBLAS
} pgs_gemm_backend;

/*
 * Choose the backend (AUTO at first use). OpenBLAS is loaded with dlopen on first need, not linked: a
 * postmaster that preloads pgscreen.so then never starts OpenBLAS's thread pool (which its constructor
 * would do at load time and fork() into every backend), and machines without OpenBLAS (the GPU hosts)
 * fall back to the plain kernel at run time. It is loaded with OPENBLAS_NUM_THREADS=1: the ops call it
 * serially from their own OpenMP threads, each on its own block, so only one thread pool ever exists.
 * Returns the backend now in use (PLAIN when OpenBLAS was asked for but cannot be loaded).
 */
pgs_gemm_backend pgs_gemm_use(pgs_gemm_backend backend);
const char *pgs_gemm_backend_name(pgs_gemm_backend backend);

/*
 * C = alpha·op(A)·op(B) + beta·C in row-major order, op(X) = X or Xᵀ; C is m×n, op(A) m×k, op(B) k×n.
 * beta = 0 overwrites C (NaNs in C do not survive). Runs in the calling thread; call pgs_gemm_use (or
 * any CPU op) once from the main thread before calling this from several threads.
 */
void		pgs_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
					  const float *b, int ldb, float beta, float *c, int ldc);

#endif
