/* Unit tests of the training data cache: memory, spilling to an unlinked file, limits, labels, sharing. */
#include "unit.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../kernels/train/data_cache.h"

static void
fill(uint8_t *image, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		image[i] = (uint8_t) (i * 7 + seed * 13);
}

static void
test_memory_then_file(void)
{
	pgs_data_cache cache;
	pgs_error	err;
	uint8_t		image[4 * 5 * 3],
				back[4 * 5 * 3];
	char		path[] = "/tmp/pgs-cache-test-XXXXXX";
	int			fd = mkstemp(path);
	struct stat st;

	close(fd);
	unlink(path);
	/* Room for 3 images in memory, 10 in all. */
	CHECK_OK(pgs_data_cache_init(&cache, 4, 5, 3, 3 * sizeof(image), 10 * sizeof(image), path, &err), &err);
	for (int i = 0; i < 8; i++)
	{
		fill(image, sizeof(image), i);
		CHECK_OK(pgs_data_cache_append(&cache, image, i % 3 == 0, &err), &err);
	}
	CHECK(cache.count == 8 && cache.positives == 3);
	CHECK(pgs_data_cache_memory_bytes(&cache) == 3 * sizeof(image));
	CHECK(pgs_data_cache_file_bytes(&cache) == 5 * sizeof(image));
	CHECK(stat(path, &st) != 0);	/* the spill file is unlinked at once */
	for (int i = 7; i >= 0; i--)
	{
		fill(image, sizeof(image), i);
		CHECK_OK(pgs_data_cache_read(&cache, i, back, &err), &err);
		CHECKF(memcmp(image, back, sizeof(image)) == 0, "image %d", i);
		CHECK(pgs_data_cache_label(&cache, i) == (i % 3 == 0));
	}
	CHECK_FAILS(pgs_data_cache_read(&cache, 8, back, &err), PGS_ERR_INTERNAL, &err);
	pgs_data_cache_free(&cache);
}

static void
test_limits(void)
{
	pgs_data_cache cache;
	pgs_error	err;
	uint8_t		image[2 * 2];

	fill(image, sizeof(image), 1);
	CHECK_OK(pgs_data_cache_init(&cache, 2, 2, 1, 1 << 20, 2 * sizeof(image), "/tmp/unused", &err), &err);
	CHECK_OK(pgs_data_cache_append(&cache, image, 1, &err), &err);
	CHECK_OK(pgs_data_cache_append(&cache, image, 0, &err), &err);
	CHECK_FAILS(pgs_data_cache_append(&cache, image, 0, &err), PGS_ERR_LIMIT, &err);
	CHECK(strstr(err.message, "after 2 images") != NULL);
	CHECK_FAILS(pgs_data_cache_append(&cache, image, 2, &err), PGS_ERR_LIMIT, &err);
	pgs_data_cache_free(&cache);

	CHECK_OK(pgs_data_cache_init(&cache, 2, 2, 1, 1 << 20, 1 << 20, "/tmp/unused", &err), &err);
	CHECK_FAILS(pgs_data_cache_append(&cache, image, 2, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK(cache.count == 0);
	pgs_data_cache_free(&cache);
	CHECK_FAILS(pgs_data_cache_init(&cache, 0, 2, 1, 1, 1, "/tmp/unused", &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_many_in_memory(void)
{
	pgs_data_cache cache;
	pgs_error	err;
	uint8_t		image[3],
				back[3];

	CHECK_OK(pgs_data_cache_init(&cache, 1, 1, 3, 1 << 20, 1 << 20, "/tmp/unused", &err), &err);
	for (int i = 0; i < 1000; i++)
	{
		fill(image, 3, i);
		CHECK_OK(pgs_data_cache_append(&cache, image, i & 1, &err), &err);
	}
	CHECK(pgs_data_cache_file_bytes(&cache) == 0);
	fill(image, 3, 567);
	CHECK_OK(pgs_data_cache_read(&cache, 567, back, &err), &err);
	CHECK(memcmp(image, back, 3) == 0);
	pgs_data_cache_free(&cache);
}

/* A cache half in memory, half spilled, saved for a replica and opened again: the same records and labels. */
static void
test_save_and_open_saved(void)
{
	pgs_data_cache cache,
				shared;
	uint8_t		image[4 * 3 * 3],
				back[4 * 3 * 3];
	char		path[] = "/tmp/pgs_cache_saved_XXXXXX";
	int			fd = mkstemp(path);
	pgs_error	err;

	close(fd);
	CHECK_OK(pgs_data_cache_init(&cache, 4, 3, 3, 5 * sizeof(image), 1 << 20, "/tmp/pgs_cache_save_spill", &err),
			 &err);
	for (int i = 0; i < 11; i++)
	{
		fill(image, sizeof(image), i);
		CHECK_OK(pgs_data_cache_append(&cache, image, i % 4 == 0, &err), &err);
	}
	CHECK(pgs_data_cache_file_bytes(&cache) > 0);
	CHECK_OK(pgs_data_cache_save(&cache, path, &err), &err);
	CHECK_OK(pgs_data_cache_open_saved(&shared, 4, 3, 3, 11, path, &err), &err);
	CHECK(shared.count == 11 && shared.positives == cache.positives && shared.positives == 3);
	for (int i = 0; i < 11; i++)
	{
		fill(image, sizeof(image), i);
		CHECK_OK(pgs_data_cache_read(&shared, i, back, &err), &err);
		CHECKF(memcmp(image, back, sizeof(image)) == 0, "record %d", i);
		CHECK(pgs_data_cache_label(&shared, i) == (i % 4 == 0));
	}
	pgs_data_cache_free(&shared);
	CHECK_FAILS(pgs_data_cache_open_saved(&shared, 4, 3, 3, 12, path, &err), PGS_ERR_IO, &err);
	pgs_data_cache_free(&shared);
	pgs_data_cache_free(&cache);
	unlink(path);
}

int
main(void)
{
	RUN(test_memory_then_file);
	RUN(test_limits);
	RUN(test_save_and_open_saved);
	RUN(test_many_in_memory);
	return unit_done();
}
