/* PGS_HOSTDEV marks inline maths compiled for both the CPU (gcc) and the GPU (nvcc), so both run one code. */
#ifndef PGS_HOSTDEV_H
#define PGS_HOSTDEV_H

#if defined(__CUDACC__)
#define PGS_HOSTDEV __host__ __device__ __forceinline__
#else
#define PGS_HOSTDEV static inline
#endif

#endif
