/* MixPHM's redundancy regulariser (the authors' active form, docs/methods.md) over the FFN adapters,
 * split as peft.h describes for a batch spread over ranks.
 *
 * Per layer l of stack s (L_s layers), with the layer's tokens u_m = h_a and r_m = h (the FFN output):
 *   L_red^l = lambda / B * sum_{p != q} C_pq^2,     C = sum_m rownorm(u_m)^T rownorm(r_m)   (nn/xcorr.h)
 *   L_MI^l  = E_neg - E_pos of the JSD estimator between u_m and g_j (nn/jsd_mi.h),
 *             g_j = the mean over all positions of stack s's final output for example j (not detached)
 *   loss    = red_weight * 0.5 (mean_enc L_red + mean_dec L_red) + mi_weight * 0.5 (mean_enc L_MI + mean_dec L_MI)
 * B is the global batch.  Tokens: in the decoder every position (the code's decoder mask is all ones,
 * answer padding included); in the encoder the first mask.sum() = (text tokens + regions) positions of
 * each example, which is what the code's `x[i][:mask.sum()]` keeps: with padded text that includes the
 * padding and drops as many of the last regions (a quirk, reproduced).
 *
 * stats = [C of every layer (encoder layers, then decoder layers), d x d each, when red_weight > 0;
 *          the token counts M_enc, M_dec]; pooled rows = [g_enc | g_dec] when mi_weight > 0. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/peft/adapter.h"
#include "nn/jsd_mi.h"
#include "nn/xcorr.h"

struct reg_state {
    /* a site's normalised rows, example after example (the regulariser's `keep` rows of each) */
    float *uhat, *rhat, *unorm, *rnorm; /* [rows, d], [rows] */
    float *du, *dr, *dC;                /* [rows, d], [rows, d], [d, d] */
    long *row0;                         /* [max_batch + 1]: example b's first row in uhat */
    int one_product;                    /* peft_options.reg_one_product */
    int *own;                           /* [T] */
    float *g, *dg, *mi_scratch;         /* [B, d], [B, d], [T, B]: grown to the global batch */
    long g_cap;
};

static int use_red(const struct adapter *A)
{
    return A->c.red_weight > 0;
}

static int use_mi(const struct adapter *A)
{
    return A->c.mi_weight > 0;
}

void adapter_reg_bind(struct adapter *A)
{
    const struct vlt5 *m = A->pf->model;
    const int d = m->dims.d_model, T = peft_max_T(m);
    const size_t enc = (size_t)peft_max_rows(m, 1), dec = (size_t)peft_max_rows(m, 0);
    const size_t rows = enc > dec ? enc : dec;
    struct reg_state *r = xcalloc(1, sizeof *r);
    r->uhat = xcalloc(rows * d, sizeof(float)), r->rhat = xcalloc(rows * d, sizeof(float));
    r->du = xcalloc(rows * d, sizeof(float)), r->dr = xcalloc(rows * d, sizeof(float));
    r->unorm = xcalloc(rows, sizeof(float)), r->rnorm = xcalloc(rows, sizeof(float));
    r->dC = xcalloc((size_t)d * d, sizeof(float));
    r->row0 = xcalloc((size_t)m->opts.max_batch + 1, sizeof(long));
    r->one_product = A->pf->opts.reg_one_product;
    r->own = xcalloc((size_t)T, sizeof(int));
    A->reg = r;
}

void adapter_reg_free(struct adapter *A)
{
    struct reg_state *r = A->reg;
    if (!r)
        return;
    free(r->uhat), free(r->rhat), free(r->du), free(r->dr), free(r->unorm), free(r->rnorm), free(r->dC);
    free(r->row0), free(r->own), free(r->g), free(r->dg), free(r->mi_scratch), free(r);
    A->reg = NULL;
}

static int n_layers(const struct vlt5 *m, int stack)
{
    return stack == VLT5_ENCODER ? m->dims.n_enc_layers : m->dims.n_dec_layers;
}

/* Positions of example b that the regulariser uses (see the header comment). */
int adapter_reg_tokens(const struct vlt5 *m, int stack, int b)
{
    if (stack == VLT5_DECODER)
        return m->dec.T;
    const int T = m->enc.T;
    int k = 0;
    for (int t = 0; t < T; t++)
        k += m->enc_valid[(long)b * T + t];
    return k < 1 ? 1 : k; /* clamp(min=1) */
}

void adapter_reg_sizes(const struct peft *pf, size_t *stats_len, size_t *pooled_width)
{
    const struct adapter *A = pf->method;
    const struct vlt5 *m = pf->model;
    const size_t d = (size_t)m->dims.d_model;
    *stats_len = *pooled_width = 0;
    if (!use_red(A) && !use_mi(A))
        return;
    *stats_len = (use_red(A) ? (size_t)(m->dims.n_enc_layers + m->dims.n_dec_layers) * d * d : 0) + 2;
    *pooled_width = use_mi(A) ? 2 * d : 0;
}

/* Offset of layer l of `stack` in stats, and of the counts. */
static size_t c_offset(const struct vlt5 *m, int stack, int l)
{
    const size_t d = (size_t)m->dims.d_model;
    return (size_t)(stack == VLT5_ENCODER ? l : m->dims.n_enc_layers + l) * d * d;
}

static size_t count_offset(const struct adapter *A, const struct vlt5 *m)
{
    return use_red(A) ? c_offset(m, VLT5_DECODER, m->dims.n_dec_layers) : 0;
}

/* The normalised rows of every example at a site, one after the other: r->uhat (of h_a), r->rhat (of h),
 * example b's from row r->row0[b]. */
static void normalise_site(struct reg_state *r, const struct vlt5 *m, const struct adapter_site *st, int d)
{
    r->row0[0] = 0;
    for (int b = 0; b < m->B; b++) {
        const int keep = adapter_reg_tokens(m, st->site.stack, b);
        const long off = (long)b * st->T * d, row = r->row0[b];
        rownorm_forward(r->uhat + row * d, r->unorm + row, st->ha + off, keep, d);
        rownorm_forward(r->rhat + row * d, r->rnorm + row, st->x + off, keep, d);
        r->row0[b + 1] = row + keep;
    }
}

/* C [d, d] += the site's U^T R, as one product or one per example (r->one_product). */
static void site_xcorr(const struct reg_state *r, int B, float *C, int d)
{
    if (r->one_product) {
        xcorr_accumulate(C, r->uhat, r->rhat, (int)r->row0[B], d);
        return;
    }
    for (int b = 0; b < B; b++) {
        const long row = r->row0[b];
        xcorr_accumulate(C, r->uhat + row * d, r->rhat + row * d, (int)(r->row0[b + 1] - row), d);
    }
}

/* r->du = R dC^T and r->dr = U dC over the site's rows, grouped as site_xcorr groups them. */
static void site_xcorr_backward(struct reg_state *r, int B, int d)
{
    if (r->one_product) {
        xcorr_backward(r->du, r->dr, r->dC, r->uhat, r->rhat, (int)r->row0[B], d);
        return;
    }
    for (int b = 0; b < B; b++) {
        const long row = r->row0[b];
        xcorr_backward(r->du + row * d, r->dr + row * d, r->dC, r->uhat + row * d, r->rhat + row * d,
                       (int)(r->row0[b + 1] - row), d);
    }
}

void adapter_reg_local(struct peft *pf, const struct vlt5 *m, float *stats, float *pooled)
{
    struct adapter *A = pf->method;
    struct reg_state *r = A->reg;
    if (!r)
        return;
    const int d = m->dims.d_model, B = m->B;
    size_t stats_len, width;
    adapter_reg_sizes(pf, &stats_len, &width);
    memset(stats, 0, sizeof(float) * stats_len);
    for (int s = 0; s < 2; s++) {
        double M = 0;
        for (int b = 0; b < B; b++)
            M += adapter_reg_tokens(m, s, b);
        stats[count_offset(A, m) + (size_t)s] = (float)M;
        for (int l = 0; use_red(A) && l < n_layers(m, s); l++) {
            normalise_site(r, m, A->ffn[s][l], d);
            site_xcorr(r, B, stats + c_offset(m, s, l), d);
        }
        if (!use_mi(A))
            continue;
        peft_final_pool(m, s, pooled + (long)s * d, 2L * d);
    }
}

void peft_final_pool(const struct vlt5 *m, int stack, float *g, long ld)
{
    const int d = m->dims.d_model, T = stack == VLT5_ENCODER ? m->enc.T : m->dec.T;
    const float *out = stack == VLT5_ENCODER ? m->enc.out : m->dec.out; /* [B, T, d] */
    for (int b = 0; b < m->B; b++) /* g_b: the mean over every position, padding included */
        for (int j = 0; j < d; j++) {
            double sum = 0.0;
            for (int t = 0; t < T; t++)
                sum += out[((long)b * T + t) * d + j];
            g[(long)b * ld + j] = (float)(sum / T);
        }
}

/* ---- the same representations for the analysis (peft_repr_*) ---------------------------------- */

int adapter_repr_enable(struct peft *pf, struct err *e)
{
    struct adapter *A = pf->method;
    const struct vlt5 *m = pf->model;
    const int d = m->dims.d_model;
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < n_layers(m, s); l++) {
            struct adapter_site *st = A->ffn[s][l];
            if (!st)
                return err_set(e, "%s: no adapter after the FFN of %s layer %d", peft_kind_name(pf->opts.method),
                               s == VLT5_ENCODER ? "encoder" : "decoder", l);
            if (!st->ha) /* kept already when the regulariser is on */
                st->ha = xcalloc((size_t)peft_max_rows(m, s == VLT5_ENCODER) * d, sizeof(float));
        }
    return 0;
}

/* Mean over the regulariser's tokens of example b's rows x [T, d] into out [d]. */
static void pool_tokens(const float *x, int keep, int d, float *out)
{
    for (int j = 0; j < d; j++) {
        double sum = 0.0;
        for (int t = 0; t < keep; t++)
            sum += x[(long)t * d + j];
        out[j] = (float)(sum / keep);
    }
}

void adapter_repr_pool(const struct peft *pf, const struct vlt5 *m, int stack, int layer, float *h, float *ha)
{
    const struct adapter *A = pf->method;
    const struct adapter_site *st = A->ffn[stack][layer];
    const int d = m->dims.d_model;
    for (int b = 0; b < st->B; b++) {
        const int keep = adapter_reg_tokens(m, stack, b);
        const long off = (long)b * st->T * d;
        pool_tokens(st->x + off, keep, d, h + (long)b * d);
        pool_tokens(st->ha + off, keep, d, ha + (long)b * d);
    }
}

static void grow(struct reg_state *r, long B, int d, int T)
{
    if (B <= r->g_cap)
        return;
    r->g = xrealloc(r->g, sizeof(float) * (size_t)B * d);
    r->dg = xrealloc(r->dg, sizeof(float) * (size_t)B * d);
    r->mi_scratch = xrealloc(r->mi_scratch, sizeof(float) * (size_t)B * T);
    r->g_cap = B;
}

/* Stack s's pooled vectors of the global batch, contiguous in r->g; r->dg zeroed. */
static void load_pooled(struct reg_state *r, int s, long Bg, int d, const float *pooled_all)
{
    for (long j = 0; j < Bg; j++)
        memcpy(r->g + j * d, pooled_all + j * 2 * d + (long)s * d, sizeof(float) * (size_t)d);
    memset(r->dg, 0, sizeof(float) * (size_t)Bg * d);
}

/* r->dg, stack s's gradient with respect to the pooled vectors, added into dpooled_all [Bg, 2d]. */
static void store_dpooled(const struct reg_state *r, int s, long Bg, int d, float *dpooled_all)
{
    for (long j = 0; j < Bg; j++)
        for (int k = 0; k < d; k++)
            dpooled_all[j * 2 * d + (long)s * d + k] += r->dg[j * d + k];
}

/* The JSD estimator's weights of a layer of a stack with L layers and M tokens in the batch. */
static void mi_weights(const struct adapter *A, int L, double M, long Bg, double *w_pos, double *w_neg)
{
    const double coef = A->c.mi_weight * 0.5 / L;
    *w_pos = coef / M;
    *w_neg = Bg > 1 ? coef / (M * (double)(Bg - 1)) : 0.0;
}

/* The MI term of one example's `keep` rows ha [keep, d] (global example ex): its value; the gradients
 * added into dha [keep, d] (unless NULL) and r->dg. */
static double mi_example(struct reg_state *r, const float *ha, int keep, uint64_t ex, long Bg, int d, double w_pos,
                         double w_neg, float *dha)
{
    for (int k = 0; k < keep; k++)
        r->own[k] = (int)ex;
    return jsd_mi(ha, r->own, r->g, keep, (int)Bg, d, w_pos, w_neg, dha, r->dg, r->mi_scratch);
}

/* The redundancy term of one layer: its value, and its gradients into the site's dreg buffers. */
static double red_layer(struct adapter *A, const struct vlt5 *m, struct adapter_site *st, const float *C,
                        double scale)
{
    struct reg_state *r = A->reg;
    const int d = m->dims.d_model;
    const double loss = offdiag_sq_loss(C, r->dC, d, scale);
    normalise_site(r, m, st, d);
    site_xcorr_backward(r, m->B, d);
    for (int b = 0; b < m->B; b++) {
        const long off = (long)b * st->T * d, row = r->row0[b];
        const int keep = (int)(r->row0[b + 1] - row);
        rownorm_backward(st->dreg_ha + off, r->du + row * d, r->uhat + row * d, r->unorm + row, keep, d, 1);
        rownorm_backward(st->dreg_h + off, r->dr + row * d, r->rhat + row * d, r->rnorm + row, keep, d, 1);
    }
    return loss;
}

double adapter_reg_backward(struct peft *pf, const struct vlt5 *m, const float *stats_sum, const float *pooled_all,
                            long global_batch, uint64_t ex0, float *dpooled_all, double *loss_partial)
{
    struct adapter *A = pf->method;
    struct reg_state *r = A->reg;
    const int d = m->dims.d_model;
    const long Bg = global_batch;
    double shared = 0.0, partial = 0.0;
    if (!r)
        return 0.0;
    if (use_mi(A))
        grow(r, Bg, d, peft_max_T(m));
    for (int s = 0; s < 2; s++) {
        const int L = n_layers(m, s);
        const double M = stats_sum[count_offset(A, m) + (size_t)s];
        if (use_mi(A))
            load_pooled(r, s, Bg, d, pooled_all);
        for (int l = 0; l < L; l++) {
            struct adapter_site *st = A->ffn[s][l];
            const size_t rows = (size_t)st->B * st->T;
            memset(st->dreg_h, 0, sizeof(float) * rows * d);
            memset(st->dreg_ha, 0, sizeof(float) * rows * d);
            if (use_red(A))
                shared += red_layer(A, m, st, stats_sum + c_offset(m, s, l),
                                    A->c.red_weight * 0.5 / L * A->c.red_lambda / (double)Bg);
            if (use_mi(A)) {
                double w_pos, w_neg;
                mi_weights(A, L, M, Bg, &w_pos, &w_neg);
                for (int b = 0; b < m->B; b++) {
                    const long off = (long)b * st->T * d;
                    partial += mi_example(r, st->ha + off, adapter_reg_tokens(m, s, b), ex0 + (uint64_t)b, Bg, d,
                                          w_pos, w_neg, st->dreg_ha + off);
                }
            }
            st->reg_ready = 1;
        }
        if (use_mi(A))
            store_dpooled(r, s, Bg, d, dpooled_all);
    }
    *loss_partial = partial;
    return shared;
}

/* ---- the MI term from kept inputs (a chunk computed before the batch's statistics were known) ---- */

/* Layout of one chunk's record: [B, keep of each example in the encoder then the decoder, then per
 * stack and layer each example's first `keep` rows of h_a]. */
size_t adapter_reg_keep_size(const struct peft *pf, int B)
{
    const struct adapter *A = pf->method;
    const struct vlt5 *m = pf->model;
    if (!A->reg || !use_mi(A))
        return 0;
    const size_t d = (size_t)m->dims.d_model;
    return 1 + 2 * (size_t)B + (size_t)m->dims.n_enc_layers * (size_t)peft_max_rows(m, 1) / m->opts.max_batch * B * d +
           (size_t)m->dims.n_dec_layers * (size_t)peft_max_rows(m, 0) / m->opts.max_batch * B * d;
}

void adapter_reg_keep(const struct peft *pf, const struct vlt5 *m, float *kept)
{
    const struct adapter *A = pf->method;
    if (!A->reg || !use_mi(A))
        return;
    const int d = m->dims.d_model, B = m->B;
    float *rows = kept + 1 + 2L * B;
    kept[0] = (float)B;
    for (int s = 0; s < 2; s++) {
        for (int b = 0; b < B; b++)
            kept[1 + (long)s * B + b] = (float)adapter_reg_tokens(m, s, b);
        for (int l = 0; l < n_layers(m, s); l++) {
            const struct adapter_site *st = A->ffn[s][l];
            for (int b = 0; b < B; b++) {
                const size_t n = (size_t)adapter_reg_tokens(m, s, b) * d;
                memcpy(rows, st->ha + (long)b * st->T * d, n * sizeof *rows);
                rows += n;
            }
        }
    }
}

double adapter_reg_kept_mi(struct peft *pf, const float *kept, const float *stats_sum, const float *pooled_all,
                           long global_batch, uint64_t ex0, float *dpooled_all)
{
    struct adapter *A = pf->method;
    struct reg_state *r = A->reg;
    const struct vlt5 *m = pf->model;
    const int d = m->dims.d_model, B = (int)kept[0];
    const long Bg = global_batch;
    const float *rows = kept + 1 + 2L * B;
    double partial = 0.0;
    if (!r || !use_mi(A))
        return 0.0;
    grow(r, Bg, d, peft_max_T(m));
    for (int s = 0; s < 2; s++) {
        const int L = n_layers(m, s);
        load_pooled(r, s, Bg, d, pooled_all);
        double w_pos, w_neg;
        mi_weights(A, L, stats_sum[count_offset(A, m) + (size_t)s], Bg, &w_pos, &w_neg);
        for (int l = 0; l < L; l++)
            for (int b = 0; b < B; b++) { /* the order of adapter_reg_backward: the same bits */
                const int keep = (int)kept[1 + (long)s * B + b];
                partial += mi_example(r, rows, keep, ex0 + (uint64_t)b, Bg, d, w_pos, w_neg, NULL);
                rows += (long)keep * d;
            }
        store_dpooled(r, s, Bg, d, dpooled_all);
    }
    return partial;
}

void adapter_reg_pooled_grad(struct peft *pf, struct vlt5 *m, const float *dpooled_sum, uint64_t ex0)
{
    struct adapter *A = pf->method;
    if (!A->reg || !use_mi(A))
        return;
    const int d = m->dims.d_model;
    for (int s = 0; s < 2; s++) {
        const int T = s == VLT5_ENCODER ? m->enc.T : m->dec.T;
        float *grad = vlt5_final_grad(m, s);
        for (int b = 0; b < m->B; b++) {
            const float *dg = dpooled_sum + (long)(ex0 + (uint64_t)b) * 2 * d + (long)s * d;
            for (int t = 0; t < T; t++)
                for (int j = 0; j < d; j++)
                    grad[((long)b * T + t) * d + j] += dg[j] / (float)T;
        }
    }
}
