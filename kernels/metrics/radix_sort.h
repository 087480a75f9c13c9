/* LSD radix sorts of 64-bit keys (score keys from encoding.h), alone or with a 64-bit payload. */
#ifndef PGS_RADIX_SORT_H
#define PGS_RADIX_SORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgs_keyed
{
	uint64_t	key;
	uint64_t	payload;
} pgs_keyed;

/* Sort keys[0..n) ascending; scratch must hold n keys. The result is in keys. */
void		pgs_radix_sort_keys(uint64_t *keys, uint64_t *scratch, size_t n);

/* Sort items[0..n) by key, ascending and stable; scratch must hold n items. The result is in items. */
void		pgs_radix_sort_keyed(pgs_keyed *items, pgs_keyed *scratch, size_t n);

#endif
