/* Every op of the CUDA ops table against the naive reference (kernels/cpu/reference.c) on random inputs (run by make gpucheck). */
#include "../../kernels/cpu/reference.h"
#include "gpucheck.h"

static const pgs_ops *gpu;
static const pgs_ops *ref;	/* the naive reference, kernels/cpu/reference.c */
static pgs_error err;

static void
test_memory_round_trip(void)
{
	size_t		n = (1 << 20) + 3;
	float	   *host = malloc(n * sizeof(float));
	float	   *back = malloc(n * sizeof(float));
	void	   *dev;

	gpucheck_fill_random(host, n, 1);
	CHECK_OK(gpu->alloc(gpu->ctx, n * sizeof(float), &dev, &err), &err);
	CHECK_OK(gpu->upload(gpu->ctx, dev, host, n * sizeof(float), &err), &err);
	CHECK_OK(gpu->download(gpu->ctx, back, dev, n * sizeof(float), &err), &err);
	CHECK(memcmp(host, back, n * sizeof(float)) == 0);
	gpu->free(gpu->ctx, dev);
	free(host);
	free(back);
}

static void
test_axpy(void)
{
	size_t		sizes[] = {0, 1, 255, 256, 257, 1000003};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		size_t		n = sizes[k];
		float	   *x = malloc((n + 1) * sizeof(float));
		float	   *y = malloc((n + 1) * sizeof(float));
		float	   *y_gpu = malloc((n + 1) * sizeof(float));
		void	   *dx,
				   *dy;
		char		what[64];

		gpucheck_fill_random(x, n, 10 + k);
		gpucheck_fill_random(y, n, 20 + k);
		CHECK_OK(gpu->alloc(gpu->ctx, n * sizeof(float), &dx, &err), &err);
		CHECK_OK(gpu->alloc(gpu->ctx, n * sizeof(float), &dy, &err), &err);
		CHECK_OK(gpu->upload(gpu->ctx, dx, x, n * sizeof(float), &err), &err);
		CHECK_OK(gpu->upload(gpu->ctx, dy, y, n * sizeof(float), &err), &err);
		CHECK_OK(gpu->axpy(gpu->ctx, n, 0.75f, dx, dy, &err), &err);
		CHECK_OK(gpu->download(gpu->ctx, y_gpu, dy, n * sizeof(float), &err), &err);
		CHECK_OK(ref->axpy(ref->ctx, n, 0.75f, x, y, &err), &err);
		snprintf(what, sizeof(what), "axpy n=%zu", n);
		/* same formula, same rounding: a fused multiply-add may differ by one ulp */
		CHECK(gpucheck_compare(what, y_gpu, y, n, 1e-6) <= 1e-6);
		gpu->free(gpu->ctx, dx);
		gpu->free(gpu->ctx, dy);
		free(x);
		free(y);
		free(y_gpu);
	}
}

int
main(void)
{
	gpu = gpucheck_open_gpu();
	ref = pgs_reference_ops();
	RUN(test_memory_round_trip);
	RUN(test_axpy);
	return unit_done();
}
