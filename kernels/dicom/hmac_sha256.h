/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104): the keyed function behind pseudonyms, UIDs and date shifts. */
#ifndef PGS_HMAC_SHA256_H
#define PGS_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PGS_SHA256_BYTES 32

typedef struct pgs_sha256
{
	uint32_t	state[8];
	uint64_t	total_bytes;
	uint8_t		block[64];
	size_t		block_len;
} pgs_sha256;

void		pgs_sha256_init(pgs_sha256 *ctx);
void		pgs_sha256_update(pgs_sha256 *ctx, const void *data, size_t len);
void		pgs_sha256_final(pgs_sha256 *ctx, uint8_t digest[PGS_SHA256_BYTES]);

/* HMAC-SHA256 of the concatenation of two messages (a domain label and a value) under key. */
void		pgs_hmac_sha256(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
							const void *msg, size_t msg_len, uint8_t mac[PGS_SHA256_BYTES]);

#ifdef __cplusplus
}
#endif

#endif
