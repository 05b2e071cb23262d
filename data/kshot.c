#include "data/kshot.h"

#include <stdlib.h>

#include "base/mem.h"

#define MT_N 624
#define MT_M 397

static void init_genrand(struct pyrandom *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MT_N;
}

static void init_by_array(struct pyrandom *r, const uint32_t *key, int len)
{
    uint32_t *mt = r->mt;
    init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k > 0; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) {
            mt[0] = mt[MT_N - 1];
            i = 1;
        }
        if (j >= len)
            j = 0;
    }
    for (int k = MT_N - 1; k > 0; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) {
            mt[0] = mt[MT_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000u;
}

void pyrandom_seed(struct pyrandom *r, int64_t seed)
{
    /* |seed| as 32-bit words; INT64_MIN's magnitude still fits in uint64_t. */
    uint64_t a = seed < 0 ? (uint64_t)0 - (uint64_t)seed : (uint64_t)seed;
    uint32_t key[2] = {(uint32_t)a, (uint32_t)(a >> 32)};
    init_by_array(r, key, key[1] ? 2 : 1);
}

uint32_t pyrandom_next32(struct pyrandom *r)
{
    uint32_t *mt = r->mt;
    if (r->mti >= MT_N) {
        for (int k = 0; k < MT_N; k++) {
            uint32_t y = (mt[k] & 0x80000000u) | (mt[(k + 1) % MT_N] & 0x7fffffffu);
            mt[k] = mt[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        r->mti = 0;
    }
    uint32_t y = mt[r->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t pyrandom_getrandbits(struct pyrandom *r, int k)
{
    return pyrandom_next32(r) >> (32 - k);
}

uint32_t pyrandom_randbelow(struct pyrandom *r, uint32_t n)
{
    int k = 0; /* bit_length(n): of n itself, not n - 1 */
    for (uint32_t v = n; v; v >>= 1)
        k++;
    uint32_t x = pyrandom_getrandbits(r, k);
    while (x >= n)
        x = pyrandom_getrandbits(r, k);
    return x;
}

void pyrandom_shuffle(struct pyrandom *r, int32_t *x, long n)
{
    for (long i = n - 1; i > 0; i--) {
        long j = (long)pyrandom_randbelow(r, (uint32_t)(i + 1));
        int32_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

int kshot_split(long n, long k, int64_t seed, const char *dataset, int32_t *train, int32_t *dev, struct err *e)
{
    if (k < 1 || 2 * k > n)
        return err_set(e, "%s: k = %ld needs %ld pool questions (k for training and k for dev), but the pool "
                       "has %ld", dataset, k, 2 * k, n);
    if (n >= 0x7fffffffL)
        return err_set(e, "%s: a pool of %ld questions is too large for the k-shot sampler", dataset, n);
    int32_t *perm = xmalloc((size_t)n * sizeof *perm);
    for (long i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    struct pyrandom r;
    pyrandom_seed(&r, seed);
    pyrandom_shuffle(&r, perm, n);
    for (long t = 0; t < k; t++) {
        train[t] = perm[t];
        dev[t] = perm[k + t];
    }
    free(perm);
    return 0;
}
