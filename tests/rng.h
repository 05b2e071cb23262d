/* A small deterministic random generator for tests (splitmix64): the same numbers on every rank and
 * every machine for a given seed. */
#ifndef MIXPHM_TESTS_RNG_H
#define MIXPHM_TESTS_RNG_H

#include <math.h>
#include <stdint.h>

struct test_rng {
    uint64_t state;
};

static inline uint64_t rng_next(struct test_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static inline double rng_uniform(struct test_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* standard normal (Box-Muller) */
static inline double rng_normal(struct test_rng *r)
{
    double u = 1.0 - rng_uniform(r), v = rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#endif
