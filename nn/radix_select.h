/* Exact selection of the k-th smallest of many 64-bit keys by most-significant-digit radix passes.
 *
 * The keys are never stored: the caller walks its values once per round, counts each key into a
 * histogram of the current 16-bit digit (radix_select_count, inlined), adds up the histograms of all
 * the places that hold values (in mixphm: an MPI reduction over the ranks), and calls
 * radix_select_advance.  After four rounds the key is known exactly, ties included, whatever the
 * distribution of the values; the memory is one histogram and the traffic four histograms.
 *
 * Non-negative doubles order like their bit patterns read as unsigned integers (IEEE 754: sign bit
 * 0, then the biased exponent, then the mantissa), so radix_key_of(x) makes a double selectable. */
#ifndef MIXPHM_NN_RADIX_SELECT_H
#define MIXPHM_NN_RADIX_SELECT_H

#include <stdint.h>
#include <string.h>

#define RADIX_DIGIT_BITS 16
#define RADIX_BINS (1 << RADIX_DIGIT_BITS) /* histogram length: 65536 counts */
#define RADIX_ROUNDS (64 / RADIX_DIGIT_BITS)

struct radix_select {
    uint64_t k;      /* rank still sought among the keys that share `prefix` (0 = smallest) */
    uint64_t prefix; /* the high digits found so far */
    int shift;       /* position of the current digit: 48, 32, 16, 0; negative when the key is known */
    /* Filled by the last round: */
    uint64_t key;      /* the k-th smallest key */
    uint64_t n_equal;  /* how many keys equal it */
    uint64_t n_before; /* how many keys are smaller (the k asked for minus the ones among the equal) */
    uint64_t next_key; /* the smallest key larger than `key` when it shares the top 48 bits, else
                          UINT64_MAX: then only a further pass over the values can find it */
    uint64_t k0;       /* the rank asked for */
};

/* Key of a non-negative double (+0.0 for -0.0 and NaN must be ruled out by the caller). */
static inline uint64_t radix_key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double radix_value_of(uint64_t key)
{
    double x;
    memcpy(&x, &key, sizeof x);
    return x;
}

void radix_select_begin(struct radix_select *s, uint64_t k);

static inline int radix_select_done(const struct radix_select *s)
{
    return s->shift < 0;
}

/* Counts one key into the histogram of the current round when it shares the prefix found so far.
 * (The double shift keeps each shift below 64 in the first round, where everything counts.) */
static inline void radix_select_count(const struct radix_select *s, uint64_t key, uint64_t *hist /* [RADIX_BINS] */)
{
    if (((key >> s->shift) >> RADIX_DIGIT_BITS) == s->prefix)
        hist[(key >> s->shift) & (RADIX_BINS - 1)]++;
}

/* Takes the histogram of every key of the round (summed over all places) and fixes the next digit.
 * Returns -1 when the histogram holds k or fewer keys: the passes did not see the same keys (a bug in
 * the caller, or a k beyond the number of keys). */
int radix_select_advance(struct radix_select *s, const uint64_t *hist /* [RADIX_BINS] */);

#endif
