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

/*
 * Blocks of at least this size (decoded images, tensors, archives) are reserved against
 * pgscreen.image_memory_budget before they are allocated. Each carries, after its data, a pointer to its
 * reservation, which lives in the same memory context: freeing the block releases it at once, and a block
 * freed with its context (a result handed to PostgreSQL, an error) is released by the context's callback.
 */
#define BUDGETED_BLOCK_BYTES ((size_t) 1 << 20)

static bool
is_budgeted(const PgscreenAllocator *a, size_t size)
{
	return a->budgeted && size >= BUDGETED_BLOCK_BYTES;
}

typedef struct BlockReservation
{
	MemoryContextCallback callback;
	size_t		bytes;			/* 0 once released */
} BlockReservation;

static void
release_reservation(void *arg)
{
	BlockReservation *r = arg;

	pgscreen_image_budget_release(r->bytes);
	r->bytes = 0;
}

static BlockReservation *
reserve_block(MemoryContext context, size_t size)
{
	BlockReservation *r;

	if (!pgscreen_image_budget_reserve(size))
		return NULL;
	r = MemoryContextAllocExtended(context, sizeof(BlockReservation), MCXT_ALLOC_NO_OOM);
	if (r == NULL)
	{
		pgscreen_image_budget_release(size);
		return NULL;
	}
	r->bytes = size;
	r->callback.func = release_reservation;
	r->callback.arg = r;
	MemoryContextRegisterResetCallback(context, &r->callback);
	return r;
}

static void *
palloc_block(void *ctx, size_t size)
{
	PgscreenAllocator *a = ctx;
	size_t		header = header_size(a);
	size_t		trailer = is_budgeted(a, size) ? sizeof(BlockReservation *) : 0;
	MemoryContext context = a->context ? a->context : CurrentMemoryContext;
	BlockReservation *reservation = NULL;
	char	   *p;

	if (a->as_bytea && size > MaxAllocSize - header - trailer)
	{
		a->too_large = true;
		return NULL;
	}
	if (size > MaxAllocHugeSize - header - trailer)
		return NULL;
	if (trailer > 0 && (reservation = reserve_block(context, size)) == NULL)
		return NULL;
	p = MemoryContextAllocExtended(context, size + header + trailer, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (p == NULL)
	{
		if (reservation != NULL)
			release_reservation(reservation);
		return NULL;
	}
	if (a->as_bytea)
		*(uint32 *) p = (uint32) size;
	else
		*(uint64 *) p = (uint64) size;
	if (trailer > 0)
		memcpy(p + header + size, &reservation, sizeof(reservation));
	return p + header;
}

static void
pfree_block(void *ctx, void *ptr)
{
	PgscreenAllocator *a = ctx;
	size_t		size;

	if (ptr == NULL)
		return;
	size = block_size(a, ptr);
	if (is_budgeted(a, size))
	{
		BlockReservation *reservation;

		memcpy(&reservation, (char *) ptr + size, sizeof(reservation));
		release_reservation(reservation);
	}
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
	allocator->budgeted = true;
}

void
pgscreen_allocator_init_in(PgscreenAllocator *allocator, MemoryContext context)
{
	pgscreen_allocator_init(allocator, false);
	allocator->context = context;
	/* Aggregate state grows with the rows aggregated, as PostgreSQL's own aggregates do: not an image. */
	allocator->budgeted = false;
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
