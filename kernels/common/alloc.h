/* Host allocator interface: kernels allocate their results through it so the caller owns the memory. */
#ifndef PGS_ALLOC_H
#define PGS_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Results (decoded pixels, encoded files) are allocated through a pgs_allocator supplied by the caller:
 * extension/ passes one backed by palloc in the current memory context, so an error raised later frees
 * them with the context; tests and tools use pgs_malloc_allocator. Every function returns NULL on failure
 * and never longjmps. Temporaries private to a kernel use malloc/free directly and are freed before return.
 */
typedef struct pgs_allocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} pgs_allocator;

extern const pgs_allocator pgs_malloc_allocator;

static inline void *
pgs_alloc(const pgs_allocator *a, size_t size)
{
	return a->alloc(a->ctx, size);
}

static inline void *
pgs_realloc(const pgs_allocator *a, void *ptr, size_t size)
{
	return a->realloc(a->ctx, ptr, size);
}

static inline void
pgs_free(const pgs_allocator *a, void *ptr)
{
	if (ptr != NULL)
		a->free(a->ctx, ptr);
}

/* A growable byte buffer whose storage comes from an allocator (used by encoders). */
typedef struct pgs_buffer
{
	unsigned char *data;
	size_t		len;
	size_t		cap;
	const pgs_allocator *allocator;
} pgs_buffer;

void		pgs_buffer_init(pgs_buffer *buf, const pgs_allocator *allocator);
/* Append bytes; returns 0 on success, -1 when memory ran out (the buffer keeps its old contents). */
int			pgs_buffer_append(pgs_buffer *buf, const void *bytes, size_t n);
void		pgs_buffer_release(pgs_buffer *buf);

#ifdef __cplusplus
}
#endif

#endif
