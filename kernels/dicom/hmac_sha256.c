/* SHA-256 and HMAC-SHA256, small and dependency-free (no PostgreSQL, no OpenSSL in kernels/). */
#include "hmac_sha256.h"

#include <string.h>

static const uint32_t round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static uint32_t
rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void
compress_block(uint32_t state[8], const uint8_t block[64])
{
	uint32_t	w[64],
				v[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t) block[4 * i] << 24 | (uint32_t) block[4 * i + 1] << 16 |
			(uint32_t) block[4 * i + 2] << 8 | block[4 * i + 3];
	for (int i = 16; i < 64; i++)
	{
		uint32_t	s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t	s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, state, sizeof(v));
	for (int i = 0; i < 64; i++)
	{
		uint32_t	s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
		uint32_t	ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t	t1 = v[7] + s1 + ch + round_constants[i] + w[i];
		uint32_t	s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
		uint32_t	maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);

		memmove(v + 1, v, 7 * sizeof(uint32_t));
		v[4] += t1;
		v[0] = t1 + s0 + maj;
	}
	for (int i = 0; i < 8; i++)
		state[i] += v[i];
}

void
pgs_sha256_init(pgs_sha256 *ctx)
{
	static const uint32_t initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(ctx->state, initial, sizeof(initial));
	ctx->total_bytes = 0;
	ctx->block_len = 0;
}

void
pgs_sha256_update(pgs_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	ctx->total_bytes += len;
	while (len > 0)
	{
		size_t		take = 64 - ctx->block_len < len ? 64 - ctx->block_len : len;

		memcpy(ctx->block + ctx->block_len, p, take);
		ctx->block_len += take;
		p += take;
		len -= take;
		if (ctx->block_len == 64)
		{
			compress_block(ctx->state, ctx->block);
			ctx->block_len = 0;
		}
	}
}

void
pgs_sha256_final(pgs_sha256 *ctx, uint8_t digest[PGS_SHA256_BYTES])
{
	uint64_t	bits = ctx->total_bytes * 8;
	uint8_t		pad = 0x80,
				zero = 0,
				length[8];

	pgs_sha256_update(ctx, &pad, 1);
	while (ctx->block_len != 56)
		pgs_sha256_update(ctx, &zero, 1);
	for (int i = 0; i < 8; i++)
		length[i] = (uint8_t) (bits >> (56 - 8 * i));
	pgs_sha256_update(ctx, length, 8);
	for (int i = 0; i < 8; i++)
	{
		digest[4 * i] = (uint8_t) (ctx->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t) (ctx->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t) (ctx->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t) ctx->state[i];
	}
}

void
pgs_hmac_sha256(const uint8_t *key, size_t key_len, const void *label, size_t label_len,
				const void *msg, size_t msg_len, uint8_t mac[PGS_SHA256_BYTES])
{
	uint8_t		block_key[64] = {0},
				pad[64],
				inner[PGS_SHA256_BYTES];
	pgs_sha256	ctx;

	if (key_len > 64)
	{
		pgs_sha256_init(&ctx);
		pgs_sha256_update(&ctx, key, key_len);
		pgs_sha256_final(&ctx, block_key);
	}
	else if (key_len > 0)
		memcpy(block_key, key, key_len);

	for (int i = 0; i < 64; i++)
		pad[i] = block_key[i] ^ 0x36;
	pgs_sha256_init(&ctx);
	pgs_sha256_update(&ctx, pad, 64);
	pgs_sha256_update(&ctx, label, label_len);
	pgs_sha256_update(&ctx, msg, msg_len);
	pgs_sha256_final(&ctx, inner);

	for (int i = 0; i < 64; i++)
		pad[i] = block_key[i] ^ 0x5c;
	pgs_sha256_init(&ctx);
	pgs_sha256_update(&ctx, pad, 64);
	pgs_sha256_update(&ctx, inner, sizeof(inner));
	pgs_sha256_final(&ctx, mac);
	memset(block_key, 0, sizeof(block_key));
	memset(pad, 0, sizeof(pad));
}
