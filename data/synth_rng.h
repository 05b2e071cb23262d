/* A small seedable random generator (xoshiro256**, seeded through splitmix64) for the synthetic
 * benchmark.  Every generator is derived from (seed, stream, index), so that image 17's scene does not
 * depend on how many images or questions came before it.  Not Python's random: the k-shot splits use
 * data/kshot.h. */
#ifndef MIXPHM_DATA_SYNTH_RNG_H
#define MIXPHM_DATA_SYNTH_RNG_H

#include <stdint.h>

struct synth_rng {
    uint64_t s[4];
};

/* Streams of the synthetic benchmark (one per kind of thing drawn). */
enum synth_rng_stream {
    RNG_SCENE = 1,
    RNG_REGIONS,
    RNG_DETECTOR,
    RNG_FEATURE_NOISE,
    RNG_QUESTION_POOL,
    RNG_QUESTION_TEST,
    RNG_PRETRAIN,
    RNG_PRETRAIN_OBJECTIVE,
    RNG_LANGUAGE,
};

void synth_rng_seed(struct synth_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t synth_rng_next(struct synth_rng *r);
/* Uniform on [0, 1). */
double synth_rng_uniform(struct synth_rng *r);
/* Uniform on {0, ..., n-1}; n >= 1. */
long synth_rng_below(struct synth_rng *r, long n);
/* Uniform on {lo, ..., hi}. */
long synth_rng_between(struct synth_rng *r, long lo, long hi);
/* Standard normal (Box-Muller; each call draws two uniforms). */
double synth_rng_normal(struct synth_rng *r);
/* Shuffles idx[0..n-1]. */
void synth_rng_shuffle(struct synth_rng *r, int *idx, int n);

#endif
