/* The module entry: the magic block, and _PG_init calling each area to register its settings ("pgscreen." reserved). */
#include "pgscreen.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Nothing here touches CUDA: with shared_preload_libraries this runs in the postmaster, and a CUDA
 * context does not survive fork(). The CUDA module is loaded by the first backend that needs a GPU.
 */
void
_PG_init(void)
{
	pgscreen_device_init();
	pgscreen_image_init();
	pgscreen_nn_init();
	pgscreen_role_guard_init();
	pgscreen_pacs_init();
	pgscreen_train_init();
	MarkGUCPrefixReserved("pgscreen");
	pgscreen_dicom_init();
	pgscreen_interrupts_init();
}
