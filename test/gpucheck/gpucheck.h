/* Helpers for the GPU checks: load the CUDA module, open a GPU, compare CUDA results with the CPU ops. */
#ifndef PGS_GPUCHECK_H
#define PGS_GPUCHECK_H

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../kernels/device/cuda_module.h"
#include "../unit/unit.h"

/* Open GPU 0 through the module at $PGS_CUDA_MODULE (default ./pgscreen_cuda.so); exit 2 if unusable. */
static inline const pgs_ops *
gpucheck_open_gpu(void)
{
	const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
	void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	pgs_cuda_module_entry_fn entry;
	const pgs_cuda_module *module;
	const pgs_ops *ops;
	pgs_gpu_info gpu;
	pgs_error	err;
	int			n;

	/* GPUCHECK_SELF_TEST=1 runs a check against the CPU ops themselves, to test the check on a machine
	 * without a GPU (every comparison must then agree exactly, or nearly). */
	if (getenv("GPUCHECK_SELF_TEST") != NULL)
	{
		printf("# self-test: the CPU ops stand in for the GPU\n");
		return pgs_cpu_ops();
	}
	if (handle == NULL || (entry = (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY)) == NULL ||
		(module = entry(PGS_CUDA_MODULE_ABI)) == NULL)
	{
		printf("Bail out! cannot load the CUDA module %s: %s\n", path, dlerror());
		exit(2);
	}
	if (module->probe(&gpu, 1, &n, &err) != PGS_OK || module->open_device(0, &ops, &err) != PGS_OK)
	{
		printf("Bail out! no usable GPU: %s\n", err.message);
		exit(2);
	}
	printf("# %s (compute capability %d.%d, %zu MiB); module: %s\n", gpu.name, gpu.cc_major, gpu.cc_minor,
		   gpu.total_memory >> 20, module->build_info);
	return ops;
}

/* Worst relative error max|a−b| / max(|b|, floor) over n floats; prints it under `what`. */
static inline double
gpucheck_compare(const char *what, const float *gpu, const float *cpu, size_t n, double floor_abs)
{
	double		worst = 0;
	size_t		at = 0;

	for (size_t i = 0; i < n; i++)
	{
		double		denom = fabs(cpu[i]) > floor_abs ? fabs(cpu[i]) : floor_abs;
		double		e = fabs((double) gpu[i] - cpu[i]) / denom;

		if (e > worst || isnan(e))
		{
			worst = isnan(e) ? INFINITY : e;
			at = i;
		}
	}
	printf("# %-40s worst relative error %.3g at %zu (gpu %.9g, cpu %.9g)\n", what, worst, at,
		   n ? gpu[at] : 0.0, n ? cpu[at] : 0.0);
	return worst;
}

static inline void
gpucheck_fill_random(float *x, size_t n, unsigned long long seed)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float) ((double) (unit_random(&seed) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

#endif
