/* Random benchmark inputs in the shapes of a VQA batch (bench_vlt5, bench_parallel): questions and
 * answers of a few lengths (so there is padding), region features and boxes.  Header-only: every
 * benchmark source is a program of its own. */
#ifndef MIXPHM_BENCH_RANDOM_BATCH_H
#define MIXPHM_BENCH_RANDOM_BATCH_H

#include <stdint.h>
#include <stdlib.h>

#include "base/mem.h"
#include "nn/xent.h"

struct share {
    int32_t *text, *labels; /* [B, Lt], [B, Ld] */
    float *feats, *boxes;   /* [B, R, feat_dim], [B, R, 4] */
    float *weights;         /* [B] */
};

/* Random questions, regions and answers for this rank's examples [lo, hi) of the global batch (the
 * contents depend on the global index only, so any rank count sees the same batch). */
static void share_fill(struct share *s, int lo, int hi, int Lt, int Ld, int R, int feat_dim)
{
    const int B = hi - lo > 0 ? hi - lo : 1;
    s->text = xcalloc((size_t)B * Lt, sizeof *s->text);
    s->labels = xcalloc((size_t)B * Ld, sizeof *s->labels);
    s->feats = xmalloc(sizeof(float) * (size_t)B * R * feat_dim);
    s->boxes = xmalloc(sizeof(float) * (size_t)B * R * 4);
    s->weights = xmalloc(sizeof(float) * (size_t)B);
    for (int b = 0; b < hi - lo; b++) {
        uint64_t x = 88172645463325252ULL + 7919u * (uint64_t)(lo + b);
        const int g = lo + b, tl = Lt - (g % 4), al = Ld - (g % 3); /* some padding in both */
        for (int i = 0; i < Lt; i++)
            s->text[b * Lt + i] = i < tl - 1 ? 3 + (int)((x = x * 6364136223846793005ULL + 1) >> 33) % 31000 : i == tl - 1;
        for (int i = 0; i < Ld; i++)
            s->labels[b * Ld + i] = i < al - 1 ? 3 + (int)((x = x * 6364136223846793005ULL + 1) >> 33) % 31000
                                    : i == al - 1 ? 1 : XENT_IGNORE;
        s->weights[b] = 1.0f;
        for (long i = 0; i < (long)R * feat_dim; i++)
            s->feats[(long)b * R * feat_dim + i] = (float)((x = x * 6364136223846793005ULL + 1) >> 40) * 0x1p-24f;
        for (int i = 0; i < R; i++) {
            float *bx = s->boxes + ((long)b * R + i) * 4;
            bx[0] = 0.5f * (float)(i % 7) / 7, bx[1] = 0.5f * (float)(i % 5) / 5, bx[2] = bx[0] + 0.3f, bx[3] = bx[1] + 0.4f;
        }
    }
}

static void share_free(struct share *s)
{
    free(s->text), free(s->labels), free(s->feats), free(s->boxes), free(s->weights);
}

#endif
