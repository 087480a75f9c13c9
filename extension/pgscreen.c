/* pgscreen module entry: the magic block and the GUCs (all prefixed "pgscreen.", the prefix reserved). */
#include "pgscreen.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "../kernels/image/image.h"
#include "train/jobs.h"

PG_MODULE_MAGIC;

char	   *pgscreen_device = NULL;
int			pgscreen_max_image_pixels = (int) PGS_DEFAULT_MAX_PIXELS;
char	   *pgscreen_cuda_module_path = NULL;
int			pgscreen_cpu_threads = 0;

void		_PG_init(void);

static int	server_max_image_pixels = (int) PGS_DEFAULT_MAX_PIXELS;
static int	session_max_image_pixels = 0;

static void
apply_pixel_limits(int server_limit, int session_limit)
{
	pgscreen_max_image_pixels = session_limit > 0 ? Min(server_limit, session_limit) : server_limit;
}

/* Assign hooks run before the variable changes: each passes its new value and the other's current one. */
static void
assign_server_max_image_pixels(int newval, void *extra)
{
	apply_pixel_limits(newval, session_max_image_pixels);
}

static void
assign_session_max_image_pixels(int newval, void *extra)
{
	apply_pixel_limits(server_max_image_pixels, newval);
}

static bool
check_device(char **newval, void **extra, GucSource source)
{
	char	   *detail = NULL;

	if (pgscreen_device_check_setting(*newval, NULL, &detail))
		return true;
	GUC_check_errdetail("%s", detail);
	return false;
}

/*
 * Nothing here touches CUDA: with shared_preload_libraries this runs in the postmaster, and a CUDA
 * context does not survive fork(). The CUDA module is loaded by the first backend that needs a GPU.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("pgscreen.device",
							   "Device for training and scoring: auto, cpu, cuda or cuda:N.",
							   "auto uses the first GPU when one is usable and the CPU otherwise.",
							   &pgscreen_device,
							   "auto",
							   PGC_USERSET,
							   0,
							   check_device, NULL, NULL);

	/* A guard that protects the server: only a superuser may raise it; any session may lower its own. */
	DefineCustomIntVariable("pgscreen.max_image_pixels",
							"Largest image, in pixels (width × height), that pgscreen decodes.",
							"Checked before any pixel memory is allocated; guards against decompression bombs. Superusers only; sessions lower it with pgscreen.session_max_image_pixels.",
							&server_max_image_pixels,
							(int) PGS_DEFAULT_MAX_PIXELS,
							1, INT_MAX,
							PGC_SUSET,
							0,
							NULL, assign_server_max_image_pixels, NULL);

	DefineCustomIntVariable("pgscreen.session_max_image_pixels",
							"A lower pixel limit this session chooses for itself; 0 means pgscreen.max_image_pixels.",
							"Never raises the limit: the lower of the two applies.",
							&session_max_image_pixels,
							0,
							0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, assign_session_max_image_pixels, NULL);

	/* Loading a shared library is a superuser's decision, as for LOAD. */
	DefineCustomStringVariable("pgscreen.cuda_module",
							   "Path of the CUDA module pgscreen loads on first GPU use.",
							   "$libdir is replaced by PostgreSQL's package library directory.",
							   &pgscreen_cuda_module_path,
							   "$libdir/pgscreen_cuda.so",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	/*
	 * The network engine's CPU thread pool starts on first use in a backend, never here. Parallel workers
	 * always use one thread (extension/nn/nn_functions.c).
	 */
	DefineCustomIntVariable("pgscreen.cpu_threads",
							"Threads the network engine uses on the CPU; 0 means one per core.",
							"Parallel query workers use one thread each whatever this says.",
							&pgscreen_cpu_threads,
							0,
							0, 1024,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	pgscreen_image_budget_init();

	pgscreen_role_guard_init();

	pgscreen_pacs_init();

	pgscreen_jobs_init();

	MarkGUCPrefixReserved("pgscreen");

	pgscreen_dicom_init();

	pgscreen_interrupts_init();
}
