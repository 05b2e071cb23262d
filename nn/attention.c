#include "nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

long attention_scratch_floats(const struct attention_dims *a)
{
    return (long)a->Tq * a->Tk;
}

static int dropout_active(const struct attention_dropout *dr)
{
    return dr && dropout_on(dr->d);
}

/* Pd = dropout(P) for one (example, head) block [Tq, Tk], in place. */
static void drop_block(float *p, const struct attention_dims *a, const struct attention_dropout *dr, uint64_t site_key,
                       int b, int h)
{
    for (int i = 0; i < a->Tq; i++) {
        uint64_t row = ((uint64_t)(uint32_t)h << 32) | (uint32_t)dr->q_ids[i];
        uint64_t key = dropout_row_key_at(site_key, dr->ex0 + (uint64_t)b, row);
        dropout_row(p + (long)i * a->Tk, a->Tk, dr->d, key, dr->k_ids, 0);
    }
}

/* Row-wise masked softmax of S (+ bias) into P, in place.  Hidden keys get -inf before the exponential,
 * so they come out exactly 0. */
static void softmax_block(float *s, const struct attention_dims *a, const struct attention_mask *m, int b, int h)
{
    const unsigned char *valid = m->key_valid ? m->key_valid + (long)b * a->k_stride : NULL;
    const float *bias = m->bias ? m->bias + (long)h * a->Tq * a->Tk : NULL;
    for (int i = 0; i < a->Tq; i++) {
        float *row = s + (long)i * a->Tk;
        int end = a->Tk; /* keys at or after `end` are hidden by the causal mask */
        if (m->causal && m->q0 + i + 1 < end)
            end = m->q0 + i + 1 > 0 ? m->q0 + i + 1 : 0;
        if (bias)
            for (int j = 0; j < end; j++)
                row[j] += bias[(long)i * a->Tk + j];
        if (valid)
            for (int j = 0; j < end; j++)
                row[j] = valid[j] ? row[j] : -INFINITY;
        float mx = -INFINITY;
        for (int j = 0; j < end; j++)
            mx = row[j] > mx ? row[j] : mx;
        if (mx == -INFINITY) { /* no visible key */
            memset(row, 0, sizeof(float) * (size_t)a->Tk);
            continue;
        }
        float sum = 0.0f;
        for (int j = 0; j < end; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j < end; j++)
            row[j] *= inv;
        for (int j = end; j < a->Tk; j++)
            row[j] = 0.0f;
    }
}

void attention_forward(float *out, float *probs, float *probs_drop, float *scratch, const float *q, const float *k,
                       const float *v, const struct attention_dims *a, const struct attention_mask *m,
                       const struct attention_dropout *dr)
{
    const int ld = a->H * a->dk;
    const long blk = (long)a->Tq * a->Tk;
    const uint64_t site_key = dropout_active(dr) ? dropout_site_key(dr->d, dr->site) : 0;
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->H; h++) {
            const float *qb = q + (long)b * a->Tq * ld + (long)h * a->dk;
            const float *kb = k + (long)b * a->k_stride * ld + (long)h * a->dk;
            const float *vb = v + (long)b * a->k_stride * ld + (long)h * a->dk;
            float *ob = out + (long)b * a->Tq * ld + (long)h * a->dk;
            float *p = probs + ((long)b * a->H + h) * blk;
            /* S[Tq, Tk] = Q_bh[Tq, dk] K_bh^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->Tq, a->Tk, a->dk, 1.0f, qb, ld, kb, ld, 0.0f, p,
                        a->Tk);
            softmax_block(p, a, m, b, h);
            const float *pd = p;
            if (dropout_active(dr)) {
                float *pdb = probs_drop ? probs_drop + ((long)b * a->H + h) * blk : scratch;
                memcpy(pdb, p, sizeof(float) * (size_t)blk);
                drop_block(pdb, a, dr, site_key, b, h);
                pd = pdb;
            }
            /* O_bh[Tq, dk] = Pd[Tq, Tk] V_bh[Tk, dk] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->Tq, a->dk, a->Tk, 1.0f, pd, a->Tk, vb, ld, 0.0f,
                        ob, ld);
        }
}

void attention_backward(float *dq, float *dk, float *dv, float *dbias, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs, const float *probs_drop,
                        const struct attention_dims *a, const struct attention_dropout *dr)
{
    const int ld = a->H * a->dk;
    const long blk = (long)a->Tq * a->Tk;
    const int dropped = dropout_active(dr);
    const float scale = dropped ? 1.0f / (1.0f - dr->d->p) : 1.0f;
    float *dp = scratch; /* [Tq, Tk] */
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->H; h++) {
            const long qo = (long)b * a->Tq * ld + (long)h * a->dk;
            const long ko = (long)b * a->k_stride * ld + (long)h * a->dk;
            const float *p = probs + ((long)b * a->H + h) * blk;
            const float *pw = dropped ? probs_drop + ((long)b * a->H + h) * blk : p;
            /* dPd[Tq, Tk] = dO_bh V_bh^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->Tq, a->Tk, a->dk, 1.0f, dout + qo, ld, v + ko, ld,
                        0.0f, dp, a->Tk);
            /* dV_bh[Tk, dk] = Pd^T dO_bh */
            if (dv)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, a->Tk, a->dk, a->Tq, 1.0f, pw, a->Tk, dout + qo, ld,
                            0.0f, dv + ko, ld);
            if (dropped) /* dP = dPd * mask / (1 - p); the mask is where Pd is nonzero */
                for (long e = 0; e < blk; e++)
                    dp[e] = pw[e] != 0.0f ? dp[e] * scale : 0.0f;
            /* dS = P * (dP - rowsum(dP * P)) */
            for (int i = 0; i < a->Tq; i++) {
                float *dr_ = dp + (long)i * a->Tk;
                const float *pr = p + (long)i * a->Tk;
                double dot = 0.0;
                for (int j = 0; j < a->Tk; j++)
                    dot += (double)dr_[j] * pr[j];
                const float c = (float)dot;
                for (int j = 0; j < a->Tk; j++)
                    dr_[j] = pr[j] * (dr_[j] - c);
            }
            if (dbias) {
                float *db = dbias + (long)h * blk;
                for (long e = 0; e < blk; e++)
                    db[e] += dp[e];
            }
            /* dQ_bh[Tq, dk] = dS K_bh;  dK_bh[Tk, dk] = dS^T Q_bh */
            if (dq)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->Tq, a->dk, a->Tk, 1.0f, dp, a->Tk, k + ko,
                            ld, 0.0f, dq + qo, ld);
            if (dk)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, a->Tk, a->dk, a->Tq, 1.0f, dp, a->Tk, q + qo, ld,
                            0.0f, dk + ko, ld);
        }
}
