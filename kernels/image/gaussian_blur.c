/* Separable Gaussian blur of 8-bit images with mirrored borders, as Ben Graham's preprocessing uses it. */
#include "imgproc.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdlib.h>

/* BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ... */
static int
reflect101(int i, int n)
{
	if (n == 1)
		return 0;
	while (i < 0 || i >= n)
		i = i < 0 ? -i : 2 * n - 2 - i;
	return i;
}

pgs_status
pgs_gaussian_blur_u8(const uint8_t *src, uint8_t *dst, int width, int height, int channels, double sigma,
					 pgs_error *err)
{
	/* OpenCV's kernel size for 8-bit images when only sigma is given: cvRound(σ·3·2 + 1) | 1. */
	int			taps = ((int) lrint(sigma * 6.0 + 1.0)) | 1;
	int			half = taps / 2;
	size_t		row_len = (size_t) width * channels;
	float	   *kernel,
			   *tmp;
	double		sum = 0.0;
	pgs_status	st = PGS_OK;

	if (!(sigma > 0) || width <= 0 || height <= 0 || channels <= 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid Gaussian blur of a %d×%d image with sigma %g",
						width, height, sigma);
	kernel = malloc(sizeof(float) * (size_t) taps);
	tmp = malloc(sizeof(float) * row_len * (size_t) height);
	if (kernel == NULL || tmp == NULL)
	{
		free(kernel);
		free(tmp);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate blur buffers for a %d×%d image", width, height);
	}
	for (int i = 0; i < taps; i++)
		sum += exp(-(double) (i - half) * (i - half) / (2.0 * sigma * sigma));
	for (int i = 0; i < taps; i++)
		kernel[i] = (float) (exp(-(double) (i - half) * (i - half) / (2.0 * sigma * sigma)) / sum);

	for (int y = 0; y < height; y++)
	{
		const uint8_t *in = src + (size_t) y * row_len;
		float	   *out = tmp + (size_t) y * row_len;

		if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			goto done;

		for (int x = 0; x < width; x++)
			for (int c = 0; c < channels; c++)
			{
				float		acc = 0.0f;

				for (int k = 0; k < taps; k++)
					acc += kernel[k] * in[(size_t) reflect101(x + k - half, width) * channels + c];
				out[(size_t) x * channels + c] = acc;
			}
	}
	for (int y = 0; y < height; y++)
	{
		uint8_t    *out = dst + (size_t) y * row_len;

		if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			goto done;

		for (size_t i = 0; i < row_len; i++)
		{
			float		acc = 0.0f;

			for (int k = 0; k < taps; k++)
				acc += kernel[k] * tmp[(size_t) reflect101(y + k - half, height) * row_len + i];
			out[i] = (uint8_t) (acc <= 0.0f ? 0 : acc >= 255.0f ? 255 : lrintf(acc));
		}
	}
done:
	free(kernel);
	free(tmp);
	return st;
}
