/* palloc-backed allocators for kernel results, including one whose blocks are ready-made bytea values. */
#include "pgscreen.h"

#include "utils/memutils.h"

/*
 * Kernels expect NULL on failure, never a longjmp (libpng and libjpeg frames may be on the stack), so
 * every allocation uses MCXT_ALLOC_NO_OOM and realloc is done by hand: PostgreSQL 15 has no repalloc
 * that returns NULL. Each block starts with a header recording its size, which realloc needs: a 4-byte
 * one in bytea mode, where it is also the varlena header of the finished value, else 8 bytes. Between that
 * header and the data lie `headroom` bytes the caller may fill afterwards (an NPY header in front of
 * decoded pixels), so a result needs neither a second buffer nor a copy.
 */
static size_t
header_size(const PgscreenAllocator *a)
{
	return (a->as_bytea ? VARHDRSZ : sizeof(uint64)) + a->headroom;
}

static size_t
block_size(const PgscreenAllocator *a, const char *ptr)
{
	const char *block = ptr - header_size(a);

	if (a->as_bytea)
		return *(const uint32 *) block;
	return (size_t) *(const uint64 *) block;
}

static void *
palloc_block(void *ctx, size_t size)
{
	PgscreenAllocator *a = ctx;
	size_t		header = header_size(a);
	char	   *p;

	if (a->as_bytea && size > MaxAllocSize - header)
	{
		a->too_large = true;
		return NULL;
	}
	if (size > MaxAllocHugeSize - header)
		return NULL;
	p = MemoryContextAllocExtended(a->context ? a->context : CurrentMemoryContext, size + header,
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (p == NULL)
		return NULL;
	if (a->as_bytea)
		*(uint32 *) p = (uint32) size;
	else
		*(uint64 *) p = (uint64) size;
	return p + header;
}

static void
pfree_block(void *ctx, void *ptr)
{
	PgscreenAllocator *a = ctx;

	if (ptr != NULL)
		pfree((char *) ptr - header_size(a));
}

static void *
repalloc_block(void *ctx, void *ptr, size_t size)
{
	PgscreenAllocator *a = ctx;
	char	   *fresh;

	if (ptr == NULL)
		return palloc_block(ctx, size);
	fresh = palloc_block(ctx, size);
	if (fresh == NULL)
		return NULL;
	memcpy(fresh, ptr, Min(size, block_size(a, ptr)));
	pfree_block(ctx, ptr);
	return fresh;
}

void
pgscreen_allocator_init(PgscreenAllocator *allocator, bool as_bytea)
{
	allocator->base.alloc = palloc_block;
	allocator->base.realloc = repalloc_block;
	allocator->base.free = pfree_block;
	allocator->base.ctx = allocator;
	allocator->as_bytea = as_bytea;
	allocator->too_large = false;
	allocator->headroom = 0;
	allocator->context = NULL;
}

void
pgscreen_allocator_init_in(PgscreenAllocator *allocator, MemoryContext context)
{
	pgscreen_allocator_init(allocator, false);
	allocator->context = context;
}

bytea *
pgscreen_bytea_result(const PgscreenAllocator *allocator, void *data, size_t len)
{
	bytea	   *result = (bytea *) ((char *) data - header_size(allocator));

	Assert(allocator->as_bytea);
	SET_VARSIZE(result, VARHDRSZ + allocator->headroom + len);
	return result;
}

void
pgscreen_raise_if_too_large(const PgscreenAllocator *allocator, pgs_status st)
{
	if (st != PGS_OK && allocator->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("result would exceed the 1 GB limit of a bytea value")));
}
