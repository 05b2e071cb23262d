/* Counter-based random numbers.
 *
 * Every random value is a pure function of its coordinates (seed, step, site, global example, row,
 * column): there is no generator state to carry or to split.  A batch split over any number of ranks
 * therefore draws exactly the numbers of the single-rank run, as long as each rank passes the global
 * index of its examples and positions that do not depend on its local padding (see dropout.h).
 *
 * The mixer is the 64-bit finaliser of MurmurHash3 / SplitMix64 (a bijection of 64-bit words with full
 * avalanche).  A "key" chains coordinates through it; the value at column c of a row is the
 * SplitMix64 output at counter c/2 of that row's key, low 32 bits for even c and high 32 bits for odd
 * c, so a contiguous row costs one mix per two columns. */
#ifndef MIXPHM_NN_RNG_H
#define MIXPHM_NN_RNG_H

#include <stdint.h>

#define RNG_GAMMA 0x9e3779b97f4a7c15ULL

static inline uint64_t rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Folds one more coordinate into a key. */
static inline uint64_t rng_fold(uint64_t key, uint64_t v)
{
    return rng_mix64(key ^ rng_mix64(v + RNG_GAMMA));
}

/* The 64 random bits at counter i of a row key. */
static inline uint64_t rng_bits64(uint64_t row_key, uint64_t i)
{
    return rng_mix64(row_key + (i + 1) * RNG_GAMMA);
}

/* The 32 random bits of column c of a row key. */
static inline uint32_t rng_bits32(uint64_t row_key, uint32_t c)
{
    uint64_t z = rng_bits64(row_key, c >> 1);
    return (c & 1) ? (uint32_t)(z >> 32) : (uint32_t)z;
}

/* A uniform double in [0, 1) with 53 random bits. */
static inline double rng_uniform(uint64_t row_key, uint64_t i)
{
    return (double)(rng_bits64(row_key, i) >> 11) * 0x1.0p-53;
}

/* A standard normal value (Box-Muller on counters 2i and 2i+1). */
double rng_normal(uint64_t row_key, uint64_t i);

/* Key of a whole stream: rng_key(seed, a, b) = fold(fold(fold(0, seed), a), b). */
uint64_t rng_key(uint64_t seed, uint64_t a, uint64_t b);

#endif
