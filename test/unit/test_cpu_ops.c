/* Unit tests of the CPU ops table: memory round trips and the reference element-wise op. */
#include "../../kernels/device/ops.h"
#include "unit.h"

#include <stdint.h>

static pgs_error err;

static void
test_table_is_complete(void)
{
	const pgs_ops *ops = pgs_cpu_ops();

	CHECK(ops->version == PGS_OPS_VERSION && ops->kind == PGS_DEVICE_CPU);
	CHECK(strcmp(ops->name, "cpu") == 0);
	CHECK(ops->alloc && ops->free && ops->upload && ops->download && ops->synchronize && ops->axpy);
}

static void
test_memory_round_trip(void)
{
	const pgs_ops *ops = pgs_cpu_ops();
	float		host[1000],
				back[1000];
	void	   *dev;

	for (int i = 0; i < 1000; i++)
		host[i] = (float) i * 0.25f;
	CHECK_OK(ops->alloc(ops->ctx, sizeof(host), &dev, &err), &err);
	CHECK(((uintptr_t) dev & 63) == 0);
	CHECK_OK(ops->upload(ops->ctx, dev, host, sizeof(host), &err), &err);
	CHECK_OK(ops->download(ops->ctx, back, dev, sizeof(host), &err), &err);
	CHECK(memcmp(host, back, sizeof(host)) == 0);
	ops->free(ops->ctx, dev);
}

static void
test_axpy(void)
{
	const pgs_ops *ops = pgs_cpu_ops();
	float		x[5] = {1, 2, 3, 4, 5};
	float		y[5] = {10, 20, 30, 40, 50};

	CHECK_OK(ops->axpy(ops->ctx, 5, -2.0f, x, y, &err), &err);
	CHECK(y[0] == 8 && y[1] == 16 && y[2] == 24 && y[3] == 32 && y[4] == 40);
	CHECK_OK(ops->axpy(ops->ctx, 0, 1.0f, x, y, &err), &err);
}

int
main(void)
{
	RUN(test_table_is_complete);
	RUN(test_memory_round_trip);
	RUN(test_axpy);
	return unit_done();
}
