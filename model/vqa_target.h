/* The answer a training example learns from in a given epoch (docs/data.md, "Answer targets"): one of
 * its candidate answers, drawn with probability score / sum(scores) (MixPHM's np.random.multinomial),
 * with the loss weighted by that answer's score.
 *
 * The draw is counter-based (nn/rng.h): a pure function of (seed, epoch, global example id), so every
 * rank, any batch split and a resumed run draw the same answer. */
#ifndef MIXPHM_MODEL_VQA_TARGET_H
#define MIXPHM_MODEL_VQA_TARGET_H

#include <stdint.h>

/* Index of the drawn answer among scores[n], or -1 when every score is 0 (the empty answer with
 * weight 0).  Negative scores count as 0. */
int vqa_sample_answer(uint64_t seed, uint64_t epoch, uint64_t example, const float *scores, int n);

#endif
