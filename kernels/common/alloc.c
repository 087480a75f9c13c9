/* The malloc-backed allocator and the growable buffer used by encoders. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static void *
malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size == 0 ? 1 : size);
}

static void *
malloc_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	return realloc(ptr, size == 0 ? 1 : size);
}

static void
malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const pgs_allocator pgs_malloc_allocator = {malloc_alloc, malloc_realloc, malloc_free, NULL};

void
pgs_buffer_init(pgs_buffer *buf, const pgs_allocator *allocator)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->allocator = allocator;
}

int
pgs_buffer_append(pgs_buffer *buf, const void *bytes, size_t n)
{
	if (n > buf->cap - buf->len)
	{
		size_t		want = buf->len + n;
		size_t		cap = buf->cap ? buf->cap : 4096;
		unsigned char *grown;

		if (want < buf->len)
			return -1;			/* size_t overflow */
		while (cap < want)
		{
			if (cap > ((size_t) -1) / 2)
				return -1;
			cap *= 2;
		}
		grown = buf->data ? pgs_realloc(buf->allocator, buf->data, cap)
			: pgs_alloc(buf->allocator, cap);
		if (grown == NULL)
			return -1;
		buf->data = grown;
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, bytes, n);
	buf->len += n;
	return 0;
}

void
pgs_buffer_release(pgs_buffer *buf)
{
	pgs_free(buf->allocator, buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}
