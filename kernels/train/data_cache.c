/* The training data cache: records in a growing memory block, then in an unlinked spill file. */
#include "data_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pgs_status
pgs_data_cache_init(pgs_data_cache *cache, int height, int width, int channels, size_t memory_limit,
					size_t total_limit, const char *spill_path, pgs_error *err)
{
	memset(cache, 0, sizeof(*cache));
	cache->fd = -1;
	if (height <= 0 || width <= 0 || channels <= 0 || height > 65536 || width > 65536 || channels > 4)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid cache image shape %d×%d×%d", height, width,
						channels);
	cache->height = height;
	cache->width = width;
	cache->channels = channels;
	cache->record_bytes = (size_t) height * width * channels;
	cache->memory_limit = memory_limit;
	cache->total_limit = total_limit;
	cache->memory_records = (int64_t) (memory_limit / cache->record_bytes);
	if (strlen(spill_path) >= sizeof(cache->spill_path))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "spill path is too long");
	strcpy(cache->spill_path, spill_path);
	return PGS_OK;
}

static pgs_status
grow(void **block, int64_t *capacity, int64_t needed, int64_t limit, size_t item_bytes, pgs_error *err)
{
	int64_t		fresh = *capacity ? *capacity : 64;
	void	   *p;

	while (fresh < needed)
		fresh *= 2;
	if (limit > 0 && fresh > limit)
		fresh = limit;
	p = realloc(*block, (size_t) fresh * item_bytes);
	if (p == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not grow the data cache to %lld images",
						(long long) fresh);
	*block = p;
	*capacity = fresh;
	return PGS_OK;
}

static pgs_status
open_spill_file(pgs_data_cache *cache, pgs_error *err)
{
	cache->fd = open(cache->spill_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (cache->fd < 0)
		return pgs_fail(err, PGS_ERR_IO, "could not create cache file \"%s\": %s", cache->spill_path,
						strerror(errno));
	/* Unlinked at once: the open descriptor keeps it, and no crash can leave it behind. */
	unlink(cache->spill_path);
	return PGS_OK;
}

pgs_status
pgs_data_cache_append(pgs_data_cache *cache, const uint8_t *image, int label, pgs_error *err)
{
	int64_t		i = cache->count;
	pgs_status	st;

	if ((size_t) (i + 1) > cache->total_limit / cache->record_bytes)
		return pgs_fail(err, PGS_ERR_LIMIT, "the data exceed the cache limit of %zu MB after %lld images",
						cache->total_limit >> 20, (long long) i);
	if (label != 0 && label != 1)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "label must be 0 or 1, not %d", label);
	if (i >= cache->labels_capacity &&
		(st = grow((void **) &cache->labels, &cache->labels_capacity, i + 1, 0, 1, err)) != PGS_OK)
		return st;
	if (i < cache->memory_records)
	{
		if (i >= cache->memory_capacity &&
			(st = grow((void **) &cache->memory, &cache->memory_capacity, i + 1, cache->memory_records,
					   cache->record_bytes, err)) != PGS_OK)
			return st;
		memcpy(cache->memory + (size_t) i * cache->record_bytes, image, cache->record_bytes);
	}
	else
	{
		off_t		offset = (off_t) (i - cache->memory_records) * (off_t) cache->record_bytes;
		size_t		done = 0;

		if (cache->fd < 0 && (st = open_spill_file(cache, err)) != PGS_OK)
			return st;
		while (done < cache->record_bytes)
		{
			ssize_t		n = pwrite(cache->fd, image + done, cache->record_bytes - done, offset + done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return pgs_fail(err, PGS_ERR_IO, "could not write to cache file: %s",
								n < 0 ? strerror(errno) : "no space written");
			done += (size_t) n;
		}
	}
	cache->labels[i] = (uint8_t) label;
	cache->positives += label;
	cache->count++;
	return PGS_OK;
}

static pgs_status
read_at(int fd, uint8_t *dst, size_t len, off_t offset, pgs_error *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = pread(fd, dst + done, len - done, offset + (off_t) done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pgs_fail(err, PGS_ERR_IO, "could not read from cache file: %s",
							n < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t) n;
	}
	return PGS_OK;
}

pgs_status
pgs_data_cache_read(const pgs_data_cache *cache, int64_t i, uint8_t *dst, pgs_error *err)
{
	off_t		offset;

	if (i < 0 || i >= cache->count)
		return pgs_fail(err, PGS_ERR_INTERNAL, "cache record %lld out of range", (long long) i);
	if (i < cache->memory_records)
	{
		memcpy(dst, cache->memory + (size_t) i * cache->record_bytes, cache->record_bytes);
		return PGS_OK;
	}
	offset = (off_t) (i - cache->memory_records) * (off_t) cache->record_bytes;
	return read_at(cache->fd, dst, cache->record_bytes, offset, err);
}

size_t
pgs_data_cache_memory_bytes(const pgs_data_cache *cache)
{
	int64_t		n = cache->count < cache->memory_records ? cache->count : cache->memory_records;

	return (size_t) n * cache->record_bytes;
}

size_t
pgs_data_cache_file_bytes(const pgs_data_cache *cache)
{
	return pgs_data_cache_memory_bytes(cache) == (size_t) cache->count * cache->record_bytes ? 0 :
		(size_t) cache->count * cache->record_bytes - pgs_data_cache_memory_bytes(cache);
}

void
pgs_data_cache_free(pgs_data_cache *cache)
{
	free(cache->memory);
	free(cache->labels);
	if (cache->fd >= 0)
		close(cache->fd);
	cache->memory = NULL;
	cache->labels = NULL;
	cache->fd = -1;
	cache->count = 0;
}

static pgs_status
write_all(int fd, const void *data, size_t len, pgs_error *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = write(fd, (const char *) data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pgs_fail(err, PGS_ERR_IO, "could not write the shared data file: %s",
							n < 0 ? strerror(errno) : "no space written");
		done += (size_t) n;
	}
	return PGS_OK;
}

pgs_status
pgs_data_cache_save(const pgs_data_cache *cache, const char *path, pgs_error *err)
{
	uint8_t    *record = malloc(cache->record_bytes);
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pgs_status	st = PGS_OK;

	if (fd < 0 || record == NULL)
	{
		st = fd < 0 ? pgs_fail(err, PGS_ERR_IO, "could not create \"%s\": %s", path, strerror(errno)) :
			pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
		goto done;
	}
	for (int64_t i = 0; i < cache->count && st == PGS_OK; i++)
		if ((st = pgs_data_cache_read(cache, i, record, err)) == PGS_OK)
			st = write_all(fd, record, cache->record_bytes, err);
	if (st == PGS_OK)
		st = write_all(fd, cache->labels, (size_t) cache->count, err);
done:
	if (fd >= 0 && close(fd) != 0 && st == PGS_OK)
		st = pgs_fail(err, PGS_ERR_IO, "could not write \"%s\": %s", path, strerror(errno));
	free(record);
	return st;
}

pgs_status
pgs_data_cache_open_saved(pgs_data_cache *cache, int height, int width, int channels, int64_t count,
						  const char *path, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_data_cache_init(cache, height, width, channels, 0, SIZE_MAX, path, err)) != PGS_OK)
		return st;
	cache->fd = open(path, O_RDONLY);
	cache->labels = malloc(count > 0 ? (size_t) count : 1);
	if (cache->fd < 0 || cache->labels == NULL)
		return cache->fd < 0 ? pgs_fail(err, PGS_ERR_IO, "could not open \"%s\": %s", path, strerror(errno)) :
			pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory");
	if ((st = read_at(cache->fd, cache->labels, (size_t) count, (off_t) count * (off_t) cache->record_bytes,
					  err)) != PGS_OK)
		return st;
	cache->labels_capacity = count;
	cache->count = count;
	for (int64_t i = 0; i < count; i++)
		cache->positives += cache->labels[i];
	return PGS_OK;
}
