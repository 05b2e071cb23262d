#include "train/random_batch.h"

#include <stdlib.h>

#include "base/mem.h"
#include "nn/xent.h"

static uint32_t next(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1;
    return (uint32_t)(*x >> 33);
}

void random_share_fill(struct random_share *s, int lo, int hi, int Lt, int Ld, int R, int feat_dim, int vocab)
{
    const int B = hi - lo > 0 ? hi - lo : 1, words = vocab > 4 ? vocab - 3 : 1;
    s->text = xcalloc((size_t)B * Lt, sizeof *s->text);
    s->labels = xcalloc((size_t)B * Ld, sizeof *s->labels);
    s->feats = xmalloc(sizeof(float) * (size_t)B * R * feat_dim);
    s->boxes = xmalloc(sizeof(float) * (size_t)B * R * 4);
    s->weights = xmalloc(sizeof(float) * (size_t)B);
    for (int b = 0; b < hi - lo; b++) {
        uint64_t x = 88172645463325252ULL + 7919u * (uint64_t)(lo + b);
        const int g = lo + b, tl = Lt - (g % 4), al = Ld - (g % 3); /* some padding in both */
        for (int i = 0; i < Lt; i++)
            s->text[b * Lt + i] = i < tl - 1 ? 3 + (int)(next(&x) % (uint32_t)words) : i == tl - 1;
        for (int i = 0; i < Ld; i++)
            s->labels[b * Ld + i] = i < al - 1 ? 3 + (int)(next(&x) % (uint32_t)words) : i == al - 1 ? 1 : XENT_IGNORE;
        s->weights[b] = 1.0f;
        for (long i = 0; i < (long)R * feat_dim; i++)
            s->feats[(long)b * R * feat_dim + i] = (float)(next(&x) >> 8) * 0x1p-24f;
        for (int i = 0; i < R; i++) {
            float *bx = s->boxes + ((long)b * R + i) * 4;
            bx[0] = 0.5f * (float)(i % 7) / 7, bx[1] = 0.5f * (float)(i % 5) / 5, bx[2] = bx[0] + 0.3f, bx[3] = bx[1] + 0.4f;
        }
    }
}

void random_share_free(struct random_share *s)
{
    free(s->text), free(s->labels), free(s->feats), free(s->boxes), free(s->weights);
}

struct vlt5_batch random_share_batch(const struct random_share *s, int lo, int hi, int Bg, int Lt, int Ld)
{
    return (struct vlt5_batch){.B = hi - lo, .text_len = Lt, .text = s->text, .feats = s->feats, .boxes = s->boxes,
                               .target_len = Ld, .labels = s->labels, .weights = s->weights, .ex0 = (uint64_t)lo,
                               .global_batch = Bg, .seed = 1, .step = 1, .train = 1};
}
