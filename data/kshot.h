/* The k-shot splits of the papers' code: `random.seed(s); random.shuffle(pool)`, train = the first k,
 * dev = the next k.  Python's generator is reproduced bit for bit (docs/data.md, "The k-shot splits"):
 * MT19937 seeded with init_by_array, getrandbits, randbelow by rejection with bit_length(n), Fisher-Yates
 * from the last element down.  tests/reference/kshot_split_reference.py is the reference. */
#ifndef MIXPHM_DATA_KSHOT_H
#define MIXPHM_DATA_KSHOT_H

#include <stdint.h>

#include "base/err.h"

/* The state of CPython's random.Random after random.seed(seed) with an integer seed. */
struct pyrandom {
    uint32_t mt[624];
    int mti;
};

/* random.seed(seed): the key is |seed| in 32-bit words, least significant first (0 gives [0]). */
void pyrandom_seed(struct pyrandom *r, int64_t seed);
uint32_t pyrandom_next32(struct pyrandom *r);
/* random.getrandbits(k) for 1 <= k <= 32. */
uint32_t pyrandom_getrandbits(struct pyrandom *r, int k);
/* random._randbelow(n) for 1 <= n < 2^32. */
uint32_t pyrandom_randbelow(struct pyrandom *r, uint32_t n);
/* random.shuffle(x) of x[0..n-1]. */
void pyrandom_shuffle(struct pyrandom *r, int32_t *x, long n);

/* Pool positions of the k training and k dev examples for `seed`: train[t] = perm[t], dev[t] =
 * perm[k + t] with perm = shuffle([0..n-1]).  2k > n is an error naming `dataset`, k and n. */
int kshot_split(long n, long k, int64_t seed, const char *dataset, int32_t *train, int32_t *dev, struct err *e);

#endif
