/* The CUDA module loads with dlopen in a process without a GPU or driver and explains itself, no crash. */
#include "../../kernels/device/cuda_module.h"
#include "unit.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <unistd.h>

static pgs_error err;
static const pgs_cuda_module *module;

static bool
machine_has_nvidia_device(void)
{
	return access("/dev/nvidiactl", F_OK) == 0 || access("/dev/nvidia0", F_OK) == 0;
}

static void
test_module_loads_and_exports_one_entry(void)
{
	const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";
	void	   *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	pgs_cuda_module_entry_fn entry;

	CHECKF(handle != NULL, "dlopen(%s): %s", path, dlerror());
	if (handle == NULL)
		return;
	entry = (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY);
	CHECK(entry != NULL);
	if (entry == NULL)
		return;
	CHECK(entry(PGS_CUDA_MODULE_ABI + 1) == NULL);
	module = entry(PGS_CUDA_MODULE_ABI);
	CHECK(module != NULL && module->abi == PGS_CUDA_MODULE_ABI && module->ops_version == PGS_OPS_VERSION);
	/* The module's internal helpers must not leak into the global namespace. */
	CHECK(dlsym(handle, "pgs_fail") == NULL || dlsym(handle, "pgs_fail") == dlsym(RTLD_DEFAULT, "pgs_fail"));
}

static void
test_versions_need_no_driver(void)
{
	pgs_cuda_versions v;

	if (module == NULL)
		return;
	module->versions(&v);
	CHECKF(v.runtime >= 12000, "runtime %d", v.runtime);
	CHECKF(v.cudnn >= 90000, "cuDNN %d", v.cudnn);
	CHECKF(v.cublas > 0, "cuBLAS %d", v.cublas);
	printf("# runtime %d, cuDNN %d, cuBLAS %d, driver %d; %s\n", v.runtime, v.cudnn, v.cublas, v.driver,
		   module->build_info);
}

static void
test_probe_reports_devices_or_reason(void)
{
	pgs_gpu_info gpus[8];
	int			n = -1;
	const pgs_ops *ops = NULL;
	pgs_status	st;

	if (module == NULL)
		return;
	st = module->probe(gpus, 8, &n, &err);
	if (st == PGS_OK)
	{
		CHECK(n > 0);
		for (int i = 0; i < n && i < 8; i++)
			CHECK(gpus[i].name[0] != '\0' && gpus[i].total_memory > 0 && gpus[i].cc_major >= 7);
		CHECK_OK(module->open_device(0, &ops, &err), &err);
		CHECK(ops != NULL && ops->kind == PGS_DEVICE_CUDA && strcmp(ops->name, "cuda:0") == 0);
		printf("# %d GPU(s), first: %s\n", n, gpus[0].name);
		return;
	}
	CHECK(st == PGS_ERR_DEVICE && n == 0 && err.message[0] != '\0');
	if (!machine_has_nvidia_device())
		CHECKF(strstr(err.message, "driver") != NULL || strstr(err.message, "no CUDA-capable GPU") != NULL,
			   "reason: %s", err.message);
	printf("# no GPU: %s\n", err.message);
	CHECK_FAILS(module->open_device(0, &ops, &err), PGS_ERR_DEVICE, &err);
	CHECK(ops == NULL);
}

int
main(void)
{
	const char *path = getenv("PGS_CUDA_MODULE") ? getenv("PGS_CUDA_MODULE") : "./pgscreen_cuda.so";

	if (access(path, F_OK) != 0)
	{
		printf("1..0 # SKIP no CUDA module at %s (built with CUDA=0 or without nvcc/cuDNN)\n", path);
		return 0;
	}
	RUN(test_module_loads_and_exports_one_entry);
	RUN(test_versions_need_no_driver);
	RUN(test_probe_reports_devices_or_reason);
	return unit_done();
}
