// pgscreen_cuda.so entry point: library versions, GPU probing with an exact reason when none is usable.
#include <stdio.h>
#include <string.h>

#include "../device/cuda_module.h"
#include "cuda_check.h"
#include "cuda_device.h"
#include "nccl_module.h"

#define PGS_MAX_GPUS 64

static pgs_cuda_device *devices[PGS_MAX_GPUS];

static void
module_versions(pgs_cuda_versions *out)
{
	int			v = 0;

	memset(out, 0, sizeof(*out));
	if (cudaDriverGetVersion(&v) == cudaSuccess)
		out->driver = v;
	if (cudaRuntimeGetVersion(&v) == cudaSuccess)
		out->runtime = v;
	out->cudnn = (int) cudnnGetVersion();
	{
		int			major = 0,
					minor = 0,
					patch = 0;

		if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
			cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
			cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
			out->cublas = major * 10000 + minor * 100 + patch;
	}
}

/* Why no GPU can be used, in words an administrator can act on. */
static pgs_status
explain_no_gpu(cudaError_t e, int driver, int runtime, pgs_error *err)
{
	if (driver == 0)
		return pgs_fail(err, PGS_ERR_DEVICE,
						"no NVIDIA driver is installed (libcuda.so.1 could not be loaded)");
	if (e == cudaErrorInsufficientDriver)
		return pgs_fail(err, PGS_ERR_DEVICE,
						"the NVIDIA driver supports CUDA %d.%d, older than the CUDA %d.%d runtime pgscreen was built with",
						driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
	if (e == cudaErrorNoDevice || e == cudaSuccess)
		return pgs_fail(err, PGS_ERR_DEVICE, "no CUDA-capable GPU is present");
	return pgs_cuda_fail(err, e, "cudaGetDeviceCount");
}

static pgs_status
module_probe(pgs_gpu_info *infos, int max_infos, int *n_gpus, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	pgs_cuda_versions v;
	int			count = 0;
	cudaError_t e;

	*n_gpus = 0;
	module_versions(&v);
	e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess || count <= 0)
		return explain_no_gpu(e, v.driver, v.runtime, err);
	*n_gpus = count;
	for (int i = 0; infos != NULL && i < count && i < max_infos; i++)
	{
		pgs_gpu_info *info = &infos[i];
		cudaDeviceProp prop;

		memset(info, 0, sizeof(*info));
		info->ordinal = i;
		PGS_CUDA_TRY(cudaGetDeviceProperties(&prop, i), err);
		snprintf(info->name, sizeof(info->name), "%s", prop.name);
		info->total_memory = prop.totalGlobalMem;
		info->cc_major = prop.major;
		info->cc_minor = prop.minor;
		info->multiprocessors = prop.multiProcessorCount;
		/* Free memory needs a context; report it only for GPUs this process already uses. */
		if (i < PGS_MAX_GPUS && devices[i] != NULL)
		{
			size_t		free_bytes = 0,
						total_bytes = 0;

			PGS_CUDA_TRY(cudaSetDevice(i), err);
			PGS_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes), err);
			info->free_memory = free_bytes;
		}
	}
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

static pgs_status
module_open_device(int ordinal, const pgs_ops **ops, pgs_error *err)
{
	PGS_CUDA_ENTRY_BEGIN
	int			n = 0;
	pgs_status	st;

	*ops = NULL;
	if ((st = module_probe(NULL, 0, &n, err)) != PGS_OK)
		return st;
	if (ordinal < 0 || ordinal >= n || ordinal >= PGS_MAX_GPUS)
		return pgs_fail(err, PGS_ERR_DEVICE, "GPU cuda:%d does not exist (this machine has %d)", ordinal, n);
	if (devices[ordinal] == NULL)
	{
		pgs_cuda_device *dev = new pgs_cuda_device();

		if ((st = pgs_cuda_device_init(dev, ordinal, err)) != PGS_OK)
		{
			delete dev;
			return st;
		}
		devices[ordinal] = dev;
	}
	*ops = &devices[ordinal]->ops;
	return PGS_OK;
	PGS_CUDA_ENTRY_END(err)
}

#define PGS_STRINGIFY2(x) #x
#define PGS_STRINGIFY(x) PGS_STRINGIFY2(x)

static const pgs_cuda_module the_module = {
	PGS_CUDA_MODULE_ABI,
	PGS_OPS_VERSION,
	"CUDA " PGS_STRINGIFY(__CUDACC_VER_MAJOR__) "." PGS_STRINGIFY(__CUDACC_VER_MINOR__)
	", cuDNN " PGS_STRINGIFY(CUDNN_MAJOR) "." PGS_STRINGIFY(CUDNN_MINOR) "." PGS_STRINGIFY(CUDNN_PATCHLEVEL)
	", " PGS_CUDA_ARCH_LIST,
	module_versions,
	module_probe,
	module_open_device,
	pgs_nccl_unique_id,
	pgs_nccl_open,
	pgs_nccl_all_reduce,
	pgs_nccl_broadcast,
	pgs_nccl_close,
};

extern "C" __attribute__((visibility("default"))) const pgs_cuda_module *
pgscreen_cuda_module(int abi)
{
	return abi == PGS_CUDA_MODULE_ABI ? &the_module : NULL;
}
