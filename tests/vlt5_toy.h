/* A small VL-T5 and a batch of up to 8 examples with different text and answer lengths (tests only):
 * d 32, 2 heads of 8, d_ff 48, 2+2 layers, vocabulary 50, 8-dimensional region features. */
#ifndef MIXPHM_TESTS_VLT5_TOY_H
#define MIXPHM_TESTS_VLT5_TOY_H

#include "model/vlt5.h"
#include "nn/xent.h"
#include "tests/fd.h"

#define TOY_MAX 8
#define TOY_TEXT 7
#define TOY_ANSWER 4
static const int TOY_TEXT_LEN[TOY_MAX] = {3, 7, 2, 5, 4, 6, 1, 7};
static const int TOY_ANSWER_LEN[TOY_MAX] = {2, 4, 1, 3, 3, 1, 2, 4};

struct toy_data {
    int32_t text[TOY_MAX * TOY_TEXT], labels[TOY_MAX * TOY_ANSWER];
    float feats[TOY_MAX * 36 * 8], boxes[TOY_MAX * 36 * 4], weights[TOY_MAX];
};

static inline void toy_dims(struct vlt5_dims *d)
{
    vlt5_preset("tiny", d);
    d->d_model = 32, d->n_heads = 2, d->d_kv = 8, d->d_ff = 48, d->vocab = 50, d->feat_dim = 8;
}

/* Token ids 3..13 ending in EOS (1), padded with 0; answers padded with -100; example 5 has score 0. */
static inline void toy_data_fill(struct toy_data *x)
{
    for (int b = 0; b < TOY_MAX; b++) {
        for (int i = 0; i < TOY_TEXT; i++)
            x->text[b * TOY_TEXT + i] = i < TOY_TEXT_LEN[b] - 1 ? 3 + (b * 7 + i * 3) % 11 : i == TOY_TEXT_LEN[b] - 1;
        for (int i = 0; i < TOY_ANSWER; i++)
            x->labels[b * TOY_ANSWER + i] = i < TOY_ANSWER_LEN[b] - 1   ? 3 + (b * 5 + i) % 9
                                            : i == TOY_ANSWER_LEN[b] - 1 ? 1
                                                                         : XENT_IGNORE;
        x->weights[b] = b == 5 ? 0.0f : 0.2f * (float)(b + 1);
    }
    fd_fill(x->feats, TOY_MAX * 36 * 8, 9, 0, 2);
    fd_fill(x->boxes, TOY_MAX * 36 * 4, 10, 0, 1);
}

/* Examples [first, first + n) padded to their own longest text and answer (text and labels are the
 * caller's buffers of TOY_MAX rows), with a global batch of `global`, dropout on, seed 5, step 3. */
static inline struct vlt5_batch toy_batch(const struct toy_data *x, int first, int n, int global, int32_t *text,
                                          int32_t *labels)
{
    int Lt = 1, Ld = 1;
    for (int b = first; b < first + n; b++) {
        Lt = TOY_TEXT_LEN[b] > Lt ? TOY_TEXT_LEN[b] : Lt;
        Ld = TOY_ANSWER_LEN[b] > Ld ? TOY_ANSWER_LEN[b] : Ld;
    }
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < Lt; i++)
            text[b * Lt + i] = x->text[(first + b) * TOY_TEXT + i];
        for (int i = 0; i < Ld; i++)
            labels[b * Ld + i] = x->labels[(first + b) * TOY_ANSWER + i];
    }
    return (struct vlt5_batch){.B = n, .text_len = Lt, .text = text, .feats = x->feats + (long)first * 36 * 8,
                               .boxes = x->boxes + (long)first * 36 * 4, .target_len = Ld, .labels = labels,
                               .weights = x->weights + first, .ex0 = (uint64_t)first, .global_batch = global,
                               .seed = 5, .step = 3, .train = 1};
}

#endif
