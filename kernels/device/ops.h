/* The ops table: one set of device operations with a CPU implementation (the reference) and a CUDA one. */
#ifndef PGS_OPS_H
#define PGS_OPS_H

#include <stddef.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_device_kind
{
	PGS_DEVICE_CPU = 0,
	PGS_DEVICE_CUDA
} pgs_device_kind;

/*
 * Code above this line (networks, preprocessing, training) calls devices only through a pgs_ops, so the
 * same code runs on either device and `make gpucheck` can compare the two tables op by op. Pointers passed
 * to compute ops are device pointers obtained from `alloc` (plain host memory on the CPU). Each op returns
 * a status and fills err on failure; CUDA ops are asynchronous on the device's stream until `synchronize`
 * or a download. Later layers append their ops (convolution, batch norm, ...) to this struct; bump
 * PGS_OPS_VERSION when they do so both modules agree on its layout.
 */
#define PGS_OPS_VERSION 2

struct pgs_augment_params;		/* kernels/device/augment.h */

typedef struct pgs_ops
{
	int			version;
	pgs_device_kind kind;
	int			ordinal;		/* GPU number; 0 for the CPU */
	const char *name;			/* "cpu", "cuda:0", ... */
	void	   *ctx;			/* the device's private state (stream, library handles) */

	/* memory */
	pgs_status	(*alloc) (void *ctx, size_t bytes, void **out, pgs_error *err);
	void		(*free) (void *ctx, void *ptr);
	pgs_status	(*upload) (void *ctx, void *dst_device, const void *src_host, size_t bytes, pgs_error *err);
	pgs_status	(*download) (void *ctx, void *dst_host, const void *src_device, size_t bytes, pgs_error *err);
	pgs_status	(*synchronize) (void *ctx, pgs_error *err);

	/* compute: y = a·x + y over n floats (the template every element-wise op follows) */
	pgs_status	(*axpy) (void *ctx, size_t n, float a, const float *x, float *y, pgs_error *err);

	/*
	 * Network input from preprocessed images (kernels/device/augment.h): n uint8 H×W×C images become
	 * float32 n×C×H×W (a transpose, never a reshape), scaled to [0, 1], flipped and colour-augmented with
	 * params[i] when params is not NULL (n entries, device memory), then normalised (pgs_normalization).
	 */
	pgs_status	(*prepare_input) (void *ctx, int n, int height, int width, int channels,
								  const unsigned char *images, const struct pgs_augment_params *params,
								  int normalization, float *out, pgs_error *err);
} pgs_ops;

/* The CPU device, always available. */
const pgs_ops *pgs_cpu_ops(void);

#ifdef __cplusplus
}
#endif

#endif
