/* Devices: parses pgscreen.device, loads the CUDA module with dlopen on first use, and device_info(). */
#include "pgscreen.h"

#include <dlfcn.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "../kernels/cpu/cpu_info.h"
#include "../kernels/device/cuda_module.h"

PG_FUNCTION_INFO_V1(pgscreen_device_info);
PG_FUNCTION_INFO_V1(pgscreen_current_device);

#define MAX_GPUS 64

/*
 * Per-backend CUDA state. Loading and probing happen at most once per process: the GPU set does not
 * change under a running server, and a failed load is not retried (the reason is kept for device_info).
 */
typedef struct CudaState
{
	bool		load_attempted;
	const pgs_cuda_module *module;
	char		unavailable_reason[PGS_ERROR_MESSAGE_SIZE + 64];
	bool		probed;
	int			n_gpus;
	pgs_gpu_info gpus[MAX_GPUS];
} CudaState;

static CudaState cuda;

#define DEVICE_AUTO (-2)
#define DEVICE_CPU (-1)

/* Parse a pgscreen.device value: sets *ordinal to DEVICE_AUTO, DEVICE_CPU or a GPU number ("cuda" is 0). */
bool
pgscreen_device_check_setting(const char *value, int *ordinal, char **detail)
{
	int			n = DEVICE_AUTO;

	if (value == NULL || strcmp(value, "auto") == 0)
		n = DEVICE_AUTO;
	else if (strcmp(value, "cpu") == 0)
		n = DEVICE_CPU;
	else if (strcmp(value, "cuda") == 0)
		n = 0;
	else if (strncmp(value, "cuda:", 5) == 0 && value[5] >= '0' && value[5] <= '9' &&
			 strspn(value + 5, "0123456789") == strlen(value + 5) && strlen(value + 5) <= 2)
		n = atoi(value + 5);
	else
	{
		if (detail)
			*detail = psprintf("Valid values are \"auto\", \"cpu\", \"cuda\" and \"cuda:N\" (N a GPU number).");
		return false;
	}
	if (n >= MAX_GPUS)
	{
		if (detail)
			*detail = psprintf("GPU numbers range from 0 to %d.", MAX_GPUS - 1);
		return false;
	}
	if (ordinal)
		*ordinal = n;
	return true;
}

static char *
module_path(void)
{
	const char *setting = pgscreen_cuda_module_path ? pgscreen_cuda_module_path : "$libdir/pgscreen_cuda.so";

	if (strncmp(setting, "$libdir", 7) == 0)
		return psprintf("%s%s", pkglib_path, setting + 7);
	return pstrdup(setting);
}

static void
cuda_load(void)
{
	char	   *path;
	void	   *handle;
	pgs_cuda_module_entry_fn entry;

	if (cuda.load_attempted)
		return;
	/* CUDA must never be initialised in the postmaster: children inherit a context that cannot work. */
	if (IsPostmasterEnvironment && !IsUnderPostmaster)
		elog(ERROR, "pgscreen must not load the CUDA module in the postmaster");
	cuda.load_attempted = true;

	path = module_path();
	if (access(path, F_OK) != 0)
	{
#ifdef PGSCREEN_BUILT_WITH_CUDA
		snprintf(cuda.unavailable_reason, sizeof(cuda.unavailable_reason),
				 "the CUDA module \"%s\" is missing", path);
#else
		snprintf(cuda.unavailable_reason, sizeof(cuda.unavailable_reason),
				 "pgscreen was built without CUDA (no \"%s\")", path);
#endif
		return;
	}
	/* RTLD_LOCAL keeps cudart/cuDNN/cuBLAS symbols out of the backend's global namespace. */
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
	{
		snprintf(cuda.unavailable_reason, sizeof(cuda.unavailable_reason),
				 "could not load the CUDA module: %s", dlerror());
		return;
	}
	entry = (pgs_cuda_module_entry_fn) dlsym(handle, PGS_CUDA_MODULE_ENTRY);
	if (entry == NULL || (cuda.module = entry(PGS_CUDA_MODULE_ABI)) == NULL ||
		cuda.module->ops_version != PGS_OPS_VERSION)
	{
		cuda.module = NULL;
		snprintf(cuda.unavailable_reason, sizeof(cuda.unavailable_reason),
				 "the CUDA module \"%s\" does not match this pgscreen.so (rebuild and reinstall both)", path);
		/* Never dlclose: CUDA libraries do not support being unloaded. */
	}
}

/* Load and probe once; returns the number of usable GPUs (0 with cuda.unavailable_reason set). */
static int
cuda_probe(void)
{
	pgs_error	err;

	cuda_load();
	if (cuda.module == NULL || cuda.probed)
		return cuda.n_gpus;
	cuda.probed = true;
	pgs_error_clear(&err);
	if (cuda.module->probe(cuda.gpus, MAX_GPUS, &cuda.n_gpus, &err) != PGS_OK)
	{
		cuda.n_gpus = 0;
		snprintf(cuda.unavailable_reason, sizeof(cuda.unavailable_reason), "%s", err.message);
	}
	cuda.n_gpus = Min(cuda.n_gpus, MAX_GPUS);
	return cuda.n_gpus;
}

static const pgs_ops *
open_gpu(int ordinal)
{
	const pgs_ops *ops;
	pgs_error	err;

	pgs_error_clear(&err);
	if (cuda.module->open_device(ordinal, &ops, &err) != PGS_OK)
		pgscreen_raise(&err, psprintf("could not open GPU cuda:%d", ordinal));
	return ops;
}

/*
 * The device pgscreen.device resolves to: DEVICE_CPU or a GPU number. Probes CUDA (once per backend) but
 * does not create a context on the GPU; raises an error when a GPU is demanded and none is usable.
 */
static int
resolve_device(void)
{
	int			ordinal;
	int			n_gpus;

	if (!pgscreen_device_check_setting(pgscreen_device, &ordinal, NULL))
		elog(ERROR, "invalid pgscreen.device \"%s\"", pgscreen_device);
	if (ordinal == DEVICE_CPU)
		return DEVICE_CPU;
	n_gpus = cuda_probe();
	if (ordinal == DEVICE_AUTO)
		return n_gpus > 0 ? 0 : DEVICE_CPU;
	if (n_gpus == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgscreen.device is \"%s\" but no GPU is usable", pgscreen_device),
				 errdetail("%s", cuda.unavailable_reason),
				 errhint("Set pgscreen.device to \"auto\" or \"cpu\" to run on the CPU.")));
	if (ordinal >= n_gpus)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgscreen.device is \"%s\" but this machine has %d GPU%s",
						pgscreen_device, n_gpus, n_gpus == 1 ? "" : "s")));
	return ordinal;
}

const pgs_ops *
pgscreen_device_ops(void)
{
	int			device = resolve_device();

	return device == DEVICE_CPU ? pgs_cpu_ops() : open_gpu(device);
}

const pgs_cuda_module *
pgscreen_loaded_cuda_module(void)
{
	if (pgscreen_gpu_count() > 0 && cuda.module->abi < 2)
		elog(ERROR, "the CUDA module is too old for NCCL");
	return cuda.module;
}

int
pgscreen_gpu_count(void)
{
	int			n_gpus = cuda_probe();

	if (n_gpus == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no GPU is usable"),
				 errdetail("%s", cuda.unavailable_reason)));
	return n_gpus;
}

/* Answering which device would be used must not cost a CUDA context (hundreds of MB of GPU memory). */
Datum
pgscreen_current_device(PG_FUNCTION_ARGS)
{
	int			device = resolve_device();

	if (device == DEVICE_CPU)
		PG_RETURN_TEXT_P(cstring_to_text("cpu"));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("cuda:%d", device)));
}

static char *
format_cuda_version(int v)
{
	return v > 0 ? psprintf("%d.%d", v / 1000, (v % 1000) / 10) : NULL;
}

static char *
format_library_version(int v)
{
	return v > 0 ? psprintf("%d.%d.%d", v / 10000, (v % 10000) / 100, v % 100) : NULL;
}

#define DEVICE_INFO_COLUMNS 13

static void
put_text(Datum *values, bool *nulls, int i, const char *s)
{
	nulls[i] = (s == NULL);
	values[i] = s ? CStringGetTextDatum(s) : (Datum) 0;
}

Datum
pgscreen_device_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n_gpus = cuda_probe();
	pgs_cuda_versions versions = {0};
	int			selected = DEVICE_AUTO;
	pgs_cpu_info cpu;
	Datum		values[DEVICE_INFO_COLUMNS];
	bool		nulls[DEVICE_INFO_COLUMNS];

	InitMaterializedSRF(fcinfo, 0);
	if (cuda.module != NULL)
		cuda.module->versions(&versions);
	(void) pgscreen_device_check_setting(pgscreen_device, &selected, NULL);

	for (int i = 0; i < n_gpus; i++)
	{
		const pgs_gpu_info *g = &cuda.gpus[i];

		memset(nulls, 0, sizeof(nulls));
		put_text(values, nulls, 0, psprintf("cuda:%d", g->ordinal));
		put_text(values, nulls, 1, "cuda");
		put_text(values, nulls, 2, g->name);
		values[3] = Int64GetDatum((int64) (g->total_memory >> 20));
		nulls[4] = g->free_memory == 0;
		values[4] = Int64GetDatum((int64) (g->free_memory >> 20));
		put_text(values, nulls, 5, psprintf("%d.%d", g->cc_major, g->cc_minor));
		values[6] = Int32GetDatum(g->multiprocessors);
		put_text(values, nulls, 7, format_cuda_version(versions.driver));
		put_text(values, nulls, 8, format_cuda_version(versions.runtime));
		put_text(values, nulls, 9, format_library_version(versions.cudnn));
		put_text(values, nulls, 10, format_library_version(versions.cublas));
		values[11] = BoolGetDatum(selected == g->ordinal || (selected == DEVICE_AUTO && g->ordinal == 0));
		put_text(values, nulls, 12, NULL);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* The CPU is always a device; with no usable GPU its row says exactly why. */
	pgs_cpu_info_read(&cpu);
	memset(nulls, 0, sizeof(nulls));
	put_text(values, nulls, 0, "cpu");
	put_text(values, nulls, 1, "cpu");
	put_text(values, nulls, 2, cpu.model);
	values[3] = Int64GetDatum((int64) (cpu.total_memory >> 20));
	values[4] = Int64GetDatum((int64) (cpu.available_memory >> 20));
	nulls[5] = true;
	values[6] = Int32GetDatum(cpu.cores);
	for (int i = 7; i <= 10; i++)
		nulls[i] = true;
	values[11] = BoolGetDatum(selected == DEVICE_CPU || (selected == DEVICE_AUTO && n_gpus == 0));
	if (n_gpus > 0)
		put_text(values, nulls, 12, NULL);
	else if (cuda.module != NULL)
		put_text(values, nulls, 12, psprintf("no GPU is usable: %s (CUDA module: %s)",
											 cuda.unavailable_reason, cuda.module->build_info));
	else
		put_text(values, nulls, 12, psprintf("no GPU is usable: %s", cuda.unavailable_reason));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
