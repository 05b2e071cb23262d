#include "model/vqa_target.h"

#include "nn/rng.h"

/* Stream tag of answer sampling in rng_key, so it never shares numbers with dropout. */
#define ANSWER_STREAM 0x616e73776572ULL /* "answer" */

int vqa_sample_answer(uint64_t seed, uint64_t epoch, uint64_t example, const float *scores, int n)
{
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += scores[i] > 0.0f ? scores[i] : 0.0;
    if (total <= 0.0)
        return -1;
    const double u = rng_uniform(rng_fold(rng_key(seed, ANSWER_STREAM, epoch), example), 0) * total;
    double cum = 0.0;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (scores[i] <= 0.0f)
            continue;
        cum += scores[i];
        last = i;
        if (u < cum)
            return i;
    }
    return last; /* u * total rounded up to the last boundary */
}
