/* Deterministic pseudo-random numbers (SplitMix64 seeding, xoshiro256**) for synthetic data and augmentation. */
#ifndef PGS_PRNG_H
#define PGS_PRNG_H

#include <math.h>
#include <stdint.h>

/*
 * Everything pgscreen draws at random must be reproducible from a seed: the same seed gives the same
 * synthetic photograph and the same augmentation on every run and every machine. xoshiro256** (Blackman and
 * Vigna) is small, fast and passes BigCrush; SplitMix64 expands a 64-bit seed into its state and also
 * derives independent sub-streams, e.g. one per image of a batch, so results never depend on the order in
 * which images are processed.
 */
typedef struct pgs_prng
{
	uint64_t	s[4];
} pgs_prng;

static inline uint64_t
pgs_splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A well-mixed 64-bit value from a seed and a stream number (stream = image index, purpose, ...). */
static inline uint64_t
pgs_prng_mix(uint64_t seed, uint64_t stream)
{
	uint64_t	x = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));

	pgs_splitmix64(&x);
	return pgs_splitmix64(&x);
}

static inline void
pgs_prng_seed(pgs_prng *rng, uint64_t seed, uint64_t stream)
{
	uint64_t	x = pgs_prng_mix(seed, stream);

	for (int i = 0; i < 4; i++)
		rng->s[i] = pgs_splitmix64(&x);
}

static inline uint64_t
pgs_prng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
pgs_prng_next(pgs_prng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = pgs_prng_rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = pgs_prng_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double
pgs_prng_uniform(pgs_prng *rng)
{
	return (double) (pgs_prng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi). */
static inline double
pgs_prng_range(pgs_prng *rng, double lo, double hi)
{
	return lo + (hi - lo) * pgs_prng_uniform(rng);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for small n). */
static inline int
pgs_prng_below(pgs_prng *rng, int n)
{
	return (int) (((pgs_prng_next(rng) >> 32) * (uint64_t) n) >> 32);
}

static inline int
pgs_prng_chance(pgs_prng *rng, double p)
{
	return pgs_prng_uniform(rng) < p;
}

/* Standard normal by Box–Muller (one value per call; simplicity over speed). */
static inline double
pgs_prng_normal(pgs_prng *rng)
{
	double		u = 1.0 - pgs_prng_uniform(rng);	/* (0, 1]: log is finite */
	double		v = pgs_prng_uniform(rng);

	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Poisson by Knuth's product of uniforms: exact, fine for the small means used here (< 60). */
static inline int
pgs_prng_poisson(pgs_prng *rng, double mean)
{
	double		limit = exp(-mean),
				p = 1.0;
	int			k = -1;

	do
	{
		k++;
		p *= pgs_prng_uniform(rng);
	} while (p > limit && k < 1000);
	return k;
}

#endif
