#include "nn/radix_select.h"

void radix_select_begin(struct radix_select *s, uint64_t k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->k0 = k;
    s->shift = 64 - RADIX_DIGIT_BITS;
    s->next_key = UINT64_MAX;
}

int radix_select_advance(struct radix_select *s, const uint64_t *hist)
{
    if (radix_select_done(s))
        return -1;
    uint64_t below = 0;
    int b = 0;
    for (; b < RADIX_BINS; b++) {
        if (s->k < below + hist[b])
            break;
        below += hist[b];
    }
    if (b == RADIX_BINS)
        return -1;
    s->k -= below;
    s->prefix = (s->prefix << RADIX_DIGIT_BITS) | (uint64_t)b;
    s->shift -= RADIX_DIGIT_BITS;
    if (s->shift >= 0)
        return 0;
    /* Last digit: the prefix is the whole key, the bin holds exactly the keys equal to it. */
    s->key = s->prefix;
    s->n_equal = hist[b];
    s->n_before = s->k0 - s->k;
    s->next_key = UINT64_MAX;
    for (int c = b + 1; c < RADIX_BINS; c++)
        if (hist[c]) {
            s->next_key = (s->key & ~(uint64_t)(RADIX_BINS - 1)) | (uint64_t)c;
            break;
        }
    return 0;
}
