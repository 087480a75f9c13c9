/* The server-wide budget for large decoded images and kernel results: a shared counter of reserved bytes. */
#include "pgscreen.h"

#include <limits.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/memutils.h"

int			pgscreen_image_memory_budget_mb = 2048;

/*
 * With shared_preload_libraries the counter lives in shared memory and the budget holds for the whole
 * server; without it there is no shared memory to add, and each backend counts against the budget alone.
 */
static pg_atomic_uint64 local_reserved;
static pg_atomic_uint64 *reserved = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* The last refusal in this backend, for the error message (kernels only see an allocation fail). */
static size_t refused_bytes = 0;
static uint64 refused_in_use = 0;

static void
budget_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(pg_atomic_uint64)));
}

static void
budget_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	reserved = ShmemInitStruct("pgscreen image memory", sizeof(pg_atomic_uint64), &found);
	if (!found)
		pg_atomic_init_u64(reserved, 0);
	LWLockRelease(AddinShmemInitLock);
}

void
pgscreen_image_budget_init(void)
{
	DefineCustomIntVariable("pgscreen.image_memory_budget",
							"Memory all sessions together may hold in decoded images and other large results.",
							"Each block of 1 MB or more is reserved before it is allocated and released when freed; a request beyond the budget fails with out_of_memory. Server-wide with pgscreen in shared_preload_libraries, per session otherwise.",
							&pgscreen_image_memory_budget_mb,
							2048, 16, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_MB,
							NULL, NULL, NULL);
	pg_atomic_init_u64(&local_reserved, 0);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = budget_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = budget_shmem_startup;
}

static pg_atomic_uint64 *
counter(void)
{
	return reserved ? reserved : &local_reserved;
}

bool
pgscreen_image_budget_reserve(size_t bytes)
{
	uint64		budget = (uint64) pgscreen_image_memory_budget_mb * 1024 * 1024;
	uint64		in_use = pg_atomic_read_u64(counter());

	for (;;)
	{
		if (bytes > budget || in_use > budget - bytes)
		{
			refused_bytes = bytes;
			refused_in_use = in_use;
			return false;
		}
		if (pg_atomic_compare_exchange_u64(counter(), &in_use, in_use + bytes))
			return true;
	}
}

void
pgscreen_image_budget_release(size_t bytes)
{
	if (bytes > 0)
		(void) pg_atomic_fetch_sub_u64(counter(), bytes);
}

bool
pgscreen_image_budget_refused(size_t *bytes, uint64 *in_use)
{
	if (refused_bytes == 0)
		return false;
	*bytes = refused_bytes;
	*in_use = refused_in_use;
	refused_bytes = 0;
	return true;
}
