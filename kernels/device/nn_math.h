/* Element-wise network maths shared verbatim by the CPU reference and the CUDA kernels (see PGS_HOSTDEV). */
#ifndef PGS_NN_MATH_H
#define PGS_NN_MATH_H

#include <math.h>
#include <stdint.h>

#include "../common/hostdev.h"

/* splitmix64's output function: a bijective 64-bit mix with good avalanche, cheap on both devices. */
PGS_HOSTDEV uint64_t
pgs_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * Dropout's mask as a pure function of (seed, index): element i of splitmix64's stream for `seed`, its top
 * 24 bits as a uniform number in [0, 1). Storing no mask means backward recomputes it, and the CPU and the
 * GPU drop exactly the same elements for the same seed.
 */
PGS_HOSTDEV int
pgs_dropout_keep(uint64_t seed, uint64_t index, float p)
{
	uint64_t	h = pgs_mix64(seed + (index + 1) * 0x9E3779B97F4A7C15ULL);
	float		u = (float) (h >> 40) * (1.0f / 16777216.0f);

	return u >= p;
}

PGS_HOSTDEV float
pgs_relu(float x)
{
	return x > 0.0f ? x : 0.0f;
}

PGS_HOSTDEV float
pgs_sigmoid(float z)
{
	/* Two branches so exp never overflows. */
	if (z >= 0.0f)
		return 1.0f / (1.0f + expf(-z));
	float		e = expf(z);

	return e / (1.0f + e);
}

/* −[t·log σ(z) + (1 − t)·log(1 − σ(z))] without forming σ(z): max(z, 0) − z·t + log(1 + e^−|z|). */
PGS_HOSTDEV float
pgs_bce_with_logit(float z, float t)
{
	return fmaxf(z, 0.0f) - z * t + log1pf(expf(-fabsf(z)));
}

/* ∂/∂z of the above: σ(z) − t. */
PGS_HOSTDEV float
pgs_bce_with_logit_grad(float z, float t)
{
	return pgs_sigmoid(z) - t;
}

#endif
