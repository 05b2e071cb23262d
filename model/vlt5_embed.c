/* Embeddings: token lookup in the shared table, and the VL-T5 visual embedding (docs/vlt5.md):
 *
 *   pos_n = [x1, y1, x2, y2, area],  area = (b3 - b2) * (b1 - b0)      (VL-T5's quirk, kept)
 *   vis_n = RMS_f(W_f feat_n (+ b_f)) + RMS_p(W_p pos_n (+ b_p)) + img_order[0] + shared[vocab - 1 - n]
 */
#include <string.h>

#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "model/vlt5_parallel.h"
#include "nn/linear.h"
#include "nn/norm.h"

void vlt5_embed_tokens(const struct vlt5 *m, const int32_t *ids, long n, float *out)
{
    const int d = m->dims.d_model;
    for (long i = 0; i < n; i++)
        memcpy(out + i * d, m->shared.w + (long)ids[i] * d, sizeof(float) * (size_t)d);
}

void vlt5_embed_tokens_backward(struct vlt5 *m, const int32_t *ids, long n, const float *d_out)
{
    const int d = m->dims.d_model;
    if (!m->shared.g)
        return;
    for (long i = 0; i < n; i++) {
        float *g = m->shared.g + (long)ids[i] * d;
        for (int j = 0; j < d; j++)
            g[j] += d_out[i * d + j];
    }
}

/* out [B, R, d]; keeps the pre-norm projections for backward. */
void vlt5_visual_forward(struct vlt5 *m, const float *feats, const float *boxes, int B, float *out)
{
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model, R = dm->n_regions, N = B * R;
    struct vlt5_visual_acts *v = &m->vis;
    for (int i = 0; i < N; i++) {
        const float *b = boxes + (long)i * 4;
        float *p = v->pos + (long)i * 5;
        p[0] = b[0], p[1] = b[1], p[2] = b[2], p[3] = b[3];
        p[4] = (b[3] - b[2]) * (b[1] - b[0]);
    }
    frozen_linear_forward(m->frozen, m->feat_w.h, m->feat_w.w, m->feat_b.w, v->a_pre, feats, N, dm->feat_dim, d);
    par_rmsnorm_forward(m, out, v->a_rstd, v->a_pre, m->feat_ln.w, N, d, T5_NORM_EPS);
    linear_forward(v->c_pre, v->pos, m->pos_w.w, m->pos_b.w, N, 5, d, 0);
    float *c = v->c_norm; /* [N, d] */
    par_rmsnorm_forward(m, c, v->c_rstd, v->c_pre, m->pos_ln.w, N, d, T5_NORM_EPS);
    const float *img = m->img_order.w; /* row 0 */
    for (int bi = 0; bi < B; bi++)
        for (int n = 0; n < R; n++) {
            float *o = out + ((long)bi * R + n) * d;
            const float *cr = c + ((long)bi * R + n) * d;
            const float *obj = m->shared.w + (long)(dm->vocab - 1 - n) * d;
            for (int j = 0; j < d; j++)
                o[j] = ((o[j] + cr[j]) + img[j]) + obj[j];
        }
}

/* d_vis [B, R, d]: gradients of the visual tokens; only trainable tensors receive anything. */
void vlt5_visual_backward(struct vlt5 *m, const float *feats, const float *d_vis, int B)
{
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model, R = dm->n_regions, N = B * R;
    struct vlt5_visual_acts *v = &m->vis;
    float *d_pre = m->bwd->d_ln; /* [N, d] */
    if (m->feat_w.g || m->feat_b.g || m->feat_ln.g) {
        memset(d_pre, 0, sizeof(float) * (size_t)N * d);
        par_rmsnorm_backward(m, d_pre, m->feat_ln.g, d_vis, v->a_pre, v->a_rstd, m->feat_ln.w, N, d, 0);
        linear_backward(NULL, m->feat_w.g, m->feat_b.g, d_pre, feats, m->feat_w.w, N, dm->feat_dim, d, 0);
    }
    if (m->pos_w.g || m->pos_b.g || m->pos_ln.g) {
        par_rmsnorm_backward(m, d_pre, m->pos_ln.g, d_vis, v->c_pre, v->c_rstd, m->pos_ln.w, N, d, 0);
        linear_backward(NULL, m->pos_w.g, m->pos_b.g, d_pre, v->pos, m->pos_w.w, N, 5, d, 0);
    }
    for (int i = 0; i < N; i++) {
        const float *g = d_vis + (long)i * d;
        if (m->img_order.g)
            for (int j = 0; j < d; j++)
                m->img_order.g[j] += g[j];
        if (m->shared.g) {
            float *s = m->shared.g + (long)(dm->vocab - 1 - i % R) * d;
            for (int j = 0; j < d; j++)
                s[j] += g[j];
        }
    }
}
