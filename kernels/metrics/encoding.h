/* Internal to kernels/metrics: order-preserving integer keys for doubles and the varints of the roc form. */
#ifndef PGS_METRICS_ENCODING_H
#define PGS_METRICS_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "roc.h"

/*
 * Scores are sorted and stored as 64-bit keys whose unsigned order is the numeric order of the doubles:
 * the sign bit is flipped for positive numbers and every bit for negative ones. -0.0 is folded into +0.0
 * first, since the two compare equal and must form one tie group.
 */
static inline uint64_t
pgs_score_key(double score)
{
	uint64_t	bits;

	if (score == 0.0)
		score = 0.0;
	memcpy(&bits, &score, sizeof bits);
	return (bits >> 63) ? ~bits : bits ^ ((uint64_t) 1 << 63);
}

static inline double
pgs_key_score(uint64_t key)
{
	uint64_t	bits = (key >> 63) ? key ^ ((uint64_t) 1 << 63) : ~key;
	double		score;

	memcpy(&score, &bits, sizeof score);
	return score;
}

/* True when the key is that of a finite double other than -0.0 (the only keys a roc value may hold). */
static inline bool
pgs_key_is_valid(uint64_t key)
{
	uint64_t	bits = (key >> 63) ? key ^ ((uint64_t) 1 << 63) : ~key;

	if (((bits >> 52) & 0x7ff) == 0x7ff)
		return false;
	return bits != ((uint64_t) 1 << 63);
}

/* Unsigned LEB128: 7 bits per byte, least significant first, at most 10 bytes for 64 bits. */
static inline size_t
pgs_varint_size(uint64_t v)
{
	return 1 + (size_t) (63 - __builtin_clzll(v | 1)) / 7;
}

static inline uint8_t *
pgs_varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/*
 * Read one varint; returns the position after it, or NULL when the bytes run out, the value overflows 64
 * bits, or the encoding is not the shortest one (so every value has exactly one binary form). Varints of up
 * to 8 bytes (values below 2^56: every count and almost every key step) are decoded from one 8-byte load
 * without a loop; the rest byte by byte.
 */
static inline __attribute__((always_inline)) const uint8_t *
pgs_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t	result = 0;

	if (end - p >= 8)
	{
		uint64_t	w,
					stops;

		memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		stops = ~w & 0x8080808080808080ULL;
		if (stops != 0)
		{
			int			len = (__builtin_ctzll(stops) >> 3) + 1;
			uint64_t	x = len == 8 ? w : w & (((uint64_t) 1 << (8 * len)) - 1);

			if (len > 1 && (x >> (8 * (len - 1))) == 0)
				return NULL;
			*v = (x & 0x7f) | ((x >> 1) & (0x7fULL << 7)) | ((x >> 2) & (0x7fULL << 14)) |
				((x >> 3) & (0x7fULL << 21)) | ((x >> 4) & (0x7fULL << 28)) | ((x >> 5) & (0x7fULL << 35)) |
				((x >> 6) & (0x7fULL << 42)) | ((x >> 7) & (0x7fULL << 49));
			return p + len;
		}
	}
	for (int shift = 0; shift < 64; shift += 7)
	{
		uint8_t		byte;

		if (p >= end)
			return NULL;
		byte = *p++;
		if (shift == 63 && byte > 1)
			return NULL;
		result |= (uint64_t) (byte & 0x7f) << shift;
		if ((byte & 0x80) == 0)
		{
			if (byte == 0 && shift > 0)
				return NULL;
			*v = result;
			return p;
		}
	}
	return NULL;
}

/*
 * Pieces of the roc binary form (roc.h describes it): the header after the magic, and one group's entry in
 * the count stream. Keys go to their own stream as plain varints.
 */
static inline size_t
pgs_roc_header_size(int64_t distinct, int64_t positives, int64_t negatives, int64_t skipped, int shift,
					size_t key_bytes)
{
	return 4 + pgs_varint_size((uint64_t) distinct) + pgs_varint_size((uint64_t) positives) +
		pgs_varint_size((uint64_t) negatives) + pgs_varint_size((uint64_t) skipped) +
		pgs_varint_size((uint64_t) shift) + pgs_varint_size((uint64_t) key_bytes);
}

static inline uint8_t *
pgs_roc_put_header(uint8_t *p, int64_t distinct, int64_t positives, int64_t negatives, int64_t skipped,
				   int shift, size_t key_bytes)
{
	memcpy(p, "ROC\x01", 4);
	p = pgs_varint_put(p + 4, (uint64_t) distinct);
	p = pgs_varint_put(p, (uint64_t) positives);
	p = pgs_varint_put(p, (uint64_t) negatives);
	p = pgs_varint_put(p, (uint64_t) skipped);
	p = pgs_varint_put(p, (uint64_t) shift);
	return pgs_varint_put(p, (uint64_t) key_bytes);
}

/* Largest count one entry can hold (the count shares its varint with a 2-bit tag). */
#define PGS_ROC_MAX_GROUP_COUNT ((int64_t) 1 << 61)

static inline size_t
pgs_roc_count_size(int64_t positives, int64_t negatives)
{
	if (negatives == 0)
		return pgs_varint_size((uint64_t) positives << 2);
	if (positives == 0)
		return pgs_varint_size((uint64_t) negatives << 2 | 1);
	return pgs_varint_size((uint64_t) positives << 2 | 2) + pgs_varint_size((uint64_t) negatives);
}

static inline uint8_t *
pgs_roc_put_count(uint8_t *p, int64_t positives, int64_t negatives)
{
	if (negatives == 0)
		return pgs_varint_put(p, (uint64_t) positives << 2);
	if (positives == 0)
		return pgs_varint_put(p, (uint64_t) negatives << 2 | 1);
	p = pgs_varint_put(p, (uint64_t) positives << 2 | 2);
	return pgs_varint_put(p, (uint64_t) negatives);
}

/* The shift of a set of keys: how many low bits are zero in all of them (0 for none). */
static inline int
pgs_roc_key_shift(uint64_t keys_or)
{
	return keys_or == 0 ? 0 : __builtin_ctzll(keys_or);
}

/*
 * The body of pgs_roc_cursor_next (roc.h), inline for the kernels' own loops: with the cursor's fields in
 * registers and no branch on the class of a group, the key and count streams decode in parallel.
 */
static inline __attribute__((always_inline)) int
pgs_roc_cursor_step(pgs_roc_cursor *cursor, pgs_roc_group *group)
{
	const pgs_roc_view *view = cursor->view;
	const uint8_t *kp = cursor->key_p,
			   *cp = cursor->count_p;
	uint64_t	step,
				code,
				key,
				count,
				tag,
				second = 0;

	if (cursor->read == view->distinct)
		return (kp == view->counts && cp == view->end && cursor->positives == view->positives &&
				cursor->negatives == view->negatives &&
				(view->distinct == 0 || (cursor->keys_or & 1))) ? 0 : -1;
	if ((kp = pgs_varint_get(kp, view->counts, &step)) == NULL ||
		(cp = pgs_varint_get(cp, view->end, &code)) == NULL)
		return -1;
	if (cursor->read == 0)
	{
		if (view->shift > 0 && step >> (64 - view->shift) != 0)
			return -1;			/* the key would not fit 64 bits */
		key = step;
	}
	else if (step == 0 || step > cursor->key)
		return -1;				/* keys must strictly decrease */
	else
		key = cursor->key - step;
	if (!pgs_key_is_valid(key << view->shift))
		return -1;
	count = code >> 2;
	tag = code & 3;
	if (tag >= 2)
	{
		if (tag == 3 || (cp = pgs_varint_get(cp, view->end, &second)) == NULL || second == 0 ||
			second > (uint64_t) INT64_MAX)
			return -1;
	}
	group->positives = tag == 1 ? 0 : (int64_t) count;
	group->negatives = tag == 1 ? (int64_t) count : (int64_t) second;
	if (count == 0 || group->positives > view->positives - cursor->positives ||
		group->negatives > view->negatives - cursor->negatives)
		return -1;
	cursor->positives += group->positives;
	cursor->negatives += group->negatives;
	cursor->keys_or |= key;
	cursor->key = key;
	cursor->key_p = kp;
	cursor->count_p = cp;
	cursor->read++;
	group->score = pgs_key_score(key << view->shift);
	return 1;
}

#endif
