/* The PACS area's start-up, above its settings, shared memory and receiver (which all sit below it). */
#include "pacs.h"

#include "miscadmin.h"

/*
 * Called from _PG_init: the settings always; with shared_preload_libraries also the shared memory (activity
 * rows, C-MOVE routing) and the receiver's sockets and workers.
 */
void
pgscreen_pacs_init(void)
{
	pacs_define_settings();
	if (process_shared_preload_libraries_in_progress)
	{
		pacs_shmem_request();
		pacs_receiver_register();
	}
}
