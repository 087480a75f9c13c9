/* The training data cache: fixed-size uint8 images and their labels, in memory up to a limit, then a file. */
#ifndef PGS_DATA_CACHE_H
#define PGS_DATA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A job reads its training and validation rows once, in short transactions, and trains from this cache
 * for all its epochs. Images are height × width × channels uint8 (HWC, as preprocessing produces them).
 * The first records live in memory up to memory_limit bytes; the rest go to a file that is unlinked as soon
 * as it is created, so nothing is left behind by a crash. total_limit bounds memory and file together.
 */
typedef struct pgs_data_cache
{
	int			height;
	int			width;
	int			channels;
	size_t		record_bytes;
	int64_t		count;
	int64_t		positives;
	size_t		memory_limit;
	size_t		total_limit;
	int64_t		memory_records;	/* records that fit in memory */
	uint8_t    *memory;			/* grows by doubling up to memory_records */
	int64_t		memory_capacity;
	uint8_t    *labels;
	int64_t		labels_capacity;
	int			fd;				/* -1 until the first record spills */
	char		spill_path[1024];
} pgs_data_cache;

/* spill_path: where the spill file is created if needed (its directory must exist). */
pgs_status	pgs_data_cache_init(pgs_data_cache *cache, int height, int width, int channels, size_t memory_limit,
								size_t total_limit, const char *spill_path, pgs_error *err);

/* Append one image (record_bytes of HWC uint8) with label 0 or 1; PGS_ERR_LIMIT beyond total_limit. */
pgs_status	pgs_data_cache_append(pgs_data_cache *cache, const uint8_t *image, int label, pgs_error *err);

/* Copy image i into dst (record_bytes). */
pgs_status	pgs_data_cache_read(const pgs_data_cache *cache, int64_t i, uint8_t *dst, pgs_error *err);

static inline int
pgs_data_cache_label(const pgs_data_cache *cache, int64_t i)
{
	return cache->labels[i];
}

/* Bytes held in memory and in the spill file. */
size_t		pgs_data_cache_memory_bytes(const pgs_data_cache *cache);
size_t		pgs_data_cache_file_bytes(const pgs_data_cache *cache);

/*
 * Sharing a cache with other processes (a job's replicas): save writes every record, then every label, to
 * path; open_saved gives a read-only cache of `count` records over such a file (labels in memory).
 */
pgs_status	pgs_data_cache_save(const pgs_data_cache *cache, const char *path, pgs_error *err);
pgs_status	pgs_data_cache_open_saved(pgs_data_cache *cache, int height, int width, int channels, int64_t count,
									  const char *path, pgs_error *err);

void		pgs_data_cache_free(pgs_data_cache *cache);

#ifdef __cplusplus
}
#endif

#endif
