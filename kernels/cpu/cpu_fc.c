/* CPU fully connected layer: three GEMMs (y = x·wᵀ, dx = dy·w, dw = dyᵀ·x) and a bias sum. */
#include "cpu_layers.h"
#include "gemm.h"

static pgs_status
check_fc(int n, int in, int out, pgs_error *err)
{
	if (n < 1 || in < 1 || out < 1 || n > (1 << 24) || in > (1 << 24) || out > (1 << 24))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "fully connected layer: invalid shape (%d, %d → %d)", n,
						in, out);
	return PGS_OK;
}

pgs_status
pgs_cpu_fc_forward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *b,
				   float *y, pgs_error *err)
{
	pgs_status	st;

	if ((st = check_fc(n, in, out, err)) != PGS_OK)
		return st;
	/*
	 * One row at a time: a GEMM over the whole batch may pick another kernel for another batch size and
	 * round differently, and an image's score must not depend on the batch it is scored in (predict() one
	 * row at a time and score() in batches give the same number). The head is small, so this costs nothing.
	 */
	for (int i = 0; i < n; i++)
		pgs_sgemm(false, true, 1, out, in, 1.0f, x + (size_t) i * in, in, w, in, 0.0f, y + (size_t) i * out, out);
	if (b != NULL)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < out; j++)
				y[(size_t) i * out + j] += b[j];
	return PGS_OK;
}

pgs_status
pgs_cpu_fc_backward(void *ctx, int n, int in, int out, const float *x, const float *w, const float *dy,
					float *dx, float *dw, float *db, pgs_error *err)
{
	pgs_status	st;

	if ((st = check_fc(n, in, out, err)) != PGS_OK)
		return st;
	if (dx != NULL)
		pgs_sgemm(false, false, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
	if (dw != NULL)
		pgs_sgemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
	if (db != NULL)
		for (int j = 0; j < out; j++)
		{
			double		s = 0.0;

			for (int i = 0; i < n; i++)
				s += dy[(size_t) i * out + j];
			db[j] += (float) s;
		}
	return PGS_OK;
}
