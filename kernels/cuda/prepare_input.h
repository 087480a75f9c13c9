/* The CUDA implementation of the prepare_input op (kernels/cuda/prepare_input.cu). */
#ifndef PGS_CUDA_PREPARE_INPUT_H
#define PGS_CUDA_PREPARE_INPUT_H

#include "../device/augment.h"

pgs_status	pgs_cuda_prepare_input(void *ctx, int n, int height, int width, int channels,
								   const unsigned char *images, const pgs_augment_params *params,
								   int normalization, float *out, pgs_error *err);

#endif
