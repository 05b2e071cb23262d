#include "nn/rng.h"

#include <math.h>

double rng_normal(uint64_t row_key, uint64_t i)
{
    /* u1 in (0, 1] so that log(u1) is finite. */
    double u1 = 1.0 - rng_uniform(row_key, 2 * i);
    double u2 = rng_uniform(row_key, 2 * i + 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

uint64_t rng_key(uint64_t seed, uint64_t a, uint64_t b)
{
    return rng_fold(rng_fold(rng_fold(0, seed), a), b);
}
