// The CUDA twin of prepare_input: one thread block per image does flip, colour augmentation and normalization.
#include "../device/augment.h"
#include "cuda_check.h"
#include "cuda_device.h"
#include "prepare_input.h"

#define THREADS 256

// Sum of one double per thread over the block; every thread gets the total.
__device__ static double
block_sum(double value, double *shared)
{
	shared[threadIdx.x] = value;
	__syncthreads();
	for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2)
	{
		if (threadIdx.x < stride)
			shared[threadIdx.x] += shared[threadIdx.x + stride];
		__syncthreads();
	}
	double		total = shared[0];

	__syncthreads();
	return total;
}

/*
 * images is n×H×W×C uint8, out n×C×H×W float32. The per-pixel arithmetic is pgs_augment_pixel and
 * pgs_normalize_value from augment.h, the very functions the CPU reference runs; only the order of the
 * sums behind means and standard deviations differs (both accumulate in double).
 */
__global__ static void
prepare_input_kernel(int height, int width, int channels, const unsigned char *images,
					 const pgs_augment_params *params, int normalization, float *out)
{
	__shared__ double shared[THREADS];
	__shared__ float means[3];
	size_t		plane = (size_t) height * width;
	size_t		count = plane * channels;
	const unsigned char *img = images + blockIdx.x * count;
	float	   *chw = out + blockIdx.x * count;
	pgs_augment_params p;
	bool		augment = params != NULL;

	if (augment)
		p = params[blockIdx.x];
	for (size_t i = threadIdx.x; i < plane; i += blockDim.x)
	{
		int			y = (int) (i / width),
					x = (int) (i % width);
		int			sx = augment && p.flip ? width - 1 - x : x;

		for (int c = 0; c < channels; c++)
			chw[c * plane + i] = img[((size_t) y * width + sx) * channels + c] / 255.0f;
	}
	__syncthreads();

	for (int k = 0; augment && k < PGS_AUG_COLOUR_OPS; k++)
	{
		int			op = p.order[k];

		if (op == PGS_AUG_CONTRAST)
			for (int c = 0; c < channels; c++)
			{
				double		sum = 0.0;

				for (size_t i = threadIdx.x; i < plane; i += blockDim.x)
					sum += chw[c * plane + i];
				sum = block_sum(sum, shared);
				if (threadIdx.x == 0)
					means[c] = (float) (sum / (double) plane);
				__syncthreads();
			}
		for (size_t i = threadIdx.x; i < plane; i += blockDim.x)
		{
			float		px[3];

			for (int c = 0; c < channels; c++)
				px[c] = chw[c * plane + i];
			pgs_augment_pixel(op, &p, means, channels, px);
			for (int c = 0; c < channels; c++)
				chw[c * plane + i] = px[c];
		}
		__syncthreads();
	}

	float		mean = 0.0f,
				inv_std = 1.0f;

	if (normalization == PGS_NORM_STANDARDIZE)
	{
		double		sum = 0.0,
					squares = 0.0;

		for (size_t i = threadIdx.x; i < count; i += blockDim.x)
			sum += chw[i];
		double		m = block_sum(sum, shared) / (double) count;

		for (size_t i = threadIdx.x; i < count; i += blockDim.x)
			squares += ((double) chw[i] - m) * ((double) chw[i] - m);
		squares = block_sum(squares, shared);
		mean = (float) m;
		inv_std = (float) (1.0 / fmax(sqrt(squares / (double) count), 1.0 / sqrt((double) count)));
	}
	for (size_t i = threadIdx.x; i < count; i += blockDim.x)
	{
		if (normalization == PGS_NORM_IMAGENET)
			pgs_imagenet_statistics(channels, (int) (i / plane), &mean, &inv_std);
		chw[i] = pgs_normalize_value(normalization, chw[i], mean, inv_std);
	}
}

pgs_status
pgs_cuda_prepare_input(void *ctx, int n, int height, int width, int channels, const unsigned char *images,
					   const pgs_augment_params *params, int normalization, float *out, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_device *dev = (pgs_cuda_device *) ctx;
	pgs_status	st = pgs_prepare_input_check(n, height, width, channels, normalization, err);

	if (st != PGS_OK || n == 0)
		return st;
	prepare_input_kernel<<<n, THREADS, 0, dev->stream>>>(height, width, channels, images, params, normalization, out);
	PGS_CUDA_CHECK_LAUNCH("prepare_input_kernel", err);
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}
