/* VL-T5 teacher-forced forward, the score-weighted answer loss, and backward. */
#include <math.h>
#include <string.h>

#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"
#include "model/vlt5_parallel.h"
#include "nn/norm.h"
#include "nn/relpos.h"
#include "nn/xent.h"

static int check_batch(const struct vlt5 *m, const struct vlt5_batch *b, struct err *e)
{
    const struct vlt5_options *o = &m->opts;
    const int V = m->dims.vocab;
    if (b->B < 1 || b->B > m->batch_cap)
        return err_set(e, "batch of %d examples: the model %s for 1 to %d", b->B,
                       m->batch_cap == o->max_batch ? "was built" : "'s current activation set is", m->batch_cap);
    if (b->text_len < 1 || b->text_len > o->max_text)
        return err_set(e, "text length %d: the model was built for 1 to %d", b->text_len, o->max_text);
    if (b->labels && (b->target_len < 1 || b->target_len > o->max_target))
        return err_set(e, "answer length %d: the model was built for 1 to %d", b->target_len, o->max_target);
    if (b->labels && !b->weights)
        return err_set(e, "batch: answer labels without their scores (the loss weights)");
    if (!b->visual && (!b->feats || !b->boxes))
        return err_set(e, "batch: region features and boxes, or embedded visual tokens, are needed");
    if (b->visual && o->train_backbone)
        return err_set(e, "full fine-tuning trains the visual embedding: give region features, not embedded "
                          "visual tokens");
    if (b->global_batch < b->B)
        return err_set(e, "global batch %ld is smaller than the local batch %d", b->global_batch, b->B);
    for (long i = 0; i < (long)b->B * b->text_len; i++)
        if (b->text[i] < 0 || b->text[i] >= V)
            return err_set(e, "example %ld, text position %ld: token id %d is outside the vocabulary of %d",
                           i / b->text_len, i % b->text_len, b->text[i], V);
    for (long i = 0; b->labels && i < (long)b->B * b->target_len; i++)
        if (b->labels[i] != XENT_IGNORE && (b->labels[i] < 0 || b->labels[i] >= V))
            return err_set(e, "example %ld, answer position %ld: token id %d is outside the vocabulary of %d",
                           i / b->target_len, i % b->target_len, b->labels[i], V);
    return 0;
}

static void hook_batch(struct vlt5 *m, struct vlt5_hook_batch *hb, int T, const unsigned char *valid)
{
    *hb = (struct vlt5_hook_batch){.train = m->batch.train,
                                   .B = m->B,
                                   .T = T,
                                   .pos0 = 0,
                                   .valid = valid,
                                   .cond = m->vis.cond,
                                   .ex0 = m->batch.ex0,
                                   .global_batch = m->batch.global_batch,
                                   .dropout = &m->drop};
}

void vlt5_encoder_pass(struct vlt5 *m, struct vlt5_pass *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->stack = VLT5_ENCODER;
    ps->B = m->B, ps->T = m->enc.T;
    ps->valid = m->enc_valid, ps->bias = m->enc.bias, ps->ids = m->enc.ids;
    ps->drop = dropout_on(&m->drop) ? &m->drop : NULL;
    hook_batch(m, &ps->hb, m->enc.T, m->enc_valid);
}

void vlt5_decoder_pass(struct vlt5 *m, struct vlt5_pass *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->stack = VLT5_DECODER;
    ps->B = m->B, ps->T = m->dec.T, ps->Tk = m->enc.T;
    ps->causal = 1, ps->bias = m->dec.bias, ps->ids = m->dec.ids;
    ps->kv_src = m->enc.out, ps->kv_valid = m->enc_valid, ps->kv_ids = m->enc.ids;
    ps->drop = dropout_on(&m->drop) ? &m->drop : NULL;
    hook_batch(m, &ps->hb, m->dec.T, m->dec_valid);
    hook_batch(m, &ps->hb_kv, m->enc.T, m->enc_valid);
}

/* Final RMS norm and dropout of a stack: out = Dropout(RMS(x_final)). */
static void stack_final(struct vlt5 *m, struct vlt5_stack_acts *s, const struct vlt5_pass *ps,
                        const struct tensor_ref *ln)
{
    const int d = m->dims.d_model, N = ps->B * ps->T;
    par_rmsnorm_forward(m, s->out, s->rstd_final, s->x_final, ln->w, N, d, T5_NORM_EPS);
    par_dropout_apply(m, s->out, ps->B, ps->T, d, ps->drop, vlt5_drop_site(ps->stack, VLT5_STACK_LAYER, DROP_FINAL),
                  ps->hb.ex0, ps->ids);
}

/* Encoder input [B, Lt + R, d] and the mean visual token of each example. */
static void encoder_embed(struct vlt5 *m)
{
    const struct vlt5_batch *b = &m->batch;
    const int d = m->dims.d_model, R = m->dims.n_regions, Lt = m->Lt, T = m->enc.T;
    const float *vis = b->visual;
    if (!vis) {
        vlt5_visual_forward(m, b->feats, b->boxes, m->B, m->tmp_out);
        vis = m->tmp_out;
    }
    for (int bi = 0; bi < m->B; bi++) {
        float *row = m->enc.emb + (long)bi * T * d;
        vlt5_embed_tokens(m, b->text + (long)bi * Lt, Lt, row);
        memcpy(row + (long)Lt * d, vis + (long)bi * R * d, sizeof(float) * (size_t)R * d);
        float *cond = m->vis.cond + (long)bi * d;
        for (int j = 0; j < d; j++) {
            double s = 0.0;
            for (int n = 0; n < R; n++)
                s += vis[((long)bi * R + n) * d + j];
            cond[j] = (float)(s / R);
        }
        for (int t = 0; t < T; t++)
            m->enc_valid[(long)bi * T + t] = t < Lt ? b->text[(long)bi * Lt + t] != VLT5_PAD : 1;
    }
    for (int t = 0; t < T; t++)
        m->enc.ids[t] = t < Lt ? t : DROPOUT_VIS_BASE + (t - Lt);
}

int vlt5_encode(struct vlt5 *m, const struct vlt5_batch *b, struct err *e)
{
    if (check_batch(m, b, e) || vlt5_pack_weights(m, e))
        return -1;
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model;
    m->batch = *b;
    m->B = b->B, m->Lt = b->text_len, m->Ld = b->labels ? b->target_len : 0;
    m->drop = (struct dropout){.p = b->train ? m->opts.dropout : 0.0f, .seed = b->seed, .step = b->step};
    m->enc.T = m->Lt + dm->n_regions;
    m->pass_ready = 0;
    struct vlt5_pass ps;
    encoder_embed(m);
    vlt5_encoder_pass(m, &ps);
    const long enc_rows = (long)m->B * m->enc.T;
    memcpy(m->enc.x_final, m->enc.emb, sizeof(float) * (size_t)enc_rows * d);
    par_dropout_apply(m, m->enc.x_final, m->B, m->enc.T, d, ps.drop,
                  vlt5_drop_site(VLT5_ENCODER, VLT5_STACK_LAYER, DROP_EMBED), b->ex0, m->enc.ids);
    relpos_bias_forward(m->enc.bias, m->enc_rel.w, dm->n_heads, m->enc.T, m->enc.T, m->Lt, m->Lt, 0, 1,
                        dm->rel_buckets, dm->rel_max_distance);
    for (int l = 0; l < dm->n_enc_layers; l++) {
        vlt5_attn_forward(m, &ps, l, 0, m->enc.x_final);
        vlt5_ffn_forward(m, &ps, l, m->enc.x_final);
    }
    stack_final(m, &m->enc, &ps, &m->enc_final_ln);
    return 0;
}

int vlt5_forward(struct vlt5 *m, const struct vlt5_batch *b, struct err *e)
{
    if (!b->labels)
        return err_set(e, "vlt5_forward: the batch has no answer labels (use vlt5_generate to decode)");
    if (vlt5_encode(m, b, e))
        return -1;
    const struct vlt5_dims *dm = &m->dims;
    const int d = dm->d_model, H = dm->n_heads;
    const long enc_rows = (long)m->B * m->enc.T;
    m->dec.T = m->Ld;
    struct vlt5_pass ps;

    /* decoder: labels shifted right, starting from the pad token */
    const int Ld = m->Ld;
    for (int bi = 0; bi < m->B; bi++)
        for (int t = 0; t < Ld; t++) {
            const int32_t prev = t ? b->labels[(long)bi * Ld + t - 1] : VLT5_PAD;
            m->dec_in[(long)bi * Ld + t] = prev == XENT_IGNORE ? VLT5_PAD : prev;
            m->dec_valid[(long)bi * Ld + t] = b->labels[(long)bi * Ld + t] != XENT_IGNORE;
        }
    for (int t = 0; t < Ld; t++)
        m->dec.ids[t] = t;
    vlt5_decoder_pass(m, &ps);
    const long dec_rows = (long)m->B * Ld;
    vlt5_embed_tokens(m, m->dec_in, dec_rows, m->dec.emb);
    memcpy(m->dec.x_final, m->dec.emb, sizeof(float) * (size_t)dec_rows * d);
    par_dropout_apply(m, m->dec.x_final, m->B, Ld, d, ps.drop, vlt5_drop_site(VLT5_DECODER, VLT5_STACK_LAYER, DROP_EMBED),
                  b->ex0, m->dec.ids);
    relpos_bias_forward(m->dec.bias, m->dec_rel.w, H, Ld, Ld, Ld, Ld, 0, 0, dm->rel_buckets, dm->rel_max_distance);
    for (int l = 0; l < dm->n_dec_layers; l++) {
        vlt5_attn_forward(m, &ps, l, 0, m->dec.x_final);
        vlt5_attn_forward(m, &ps, l, 1, m->dec.x_final);
        vlt5_ffn_forward(m, &ps, l, m->dec.x_final);
    }
    stack_final(m, &m->dec, &ps, &m->dec_final_ln);

    /* LM head, tied with the embedding: logits = (h * d^-0.5) shared^T */
    const float scale = (float)pow((double)d, -0.5);
    for (long i = 0; i < dec_rows * d; i++)
        m->lm_in[i] = m->dec.out[i] * scale;
    frozen_linear_forward(m->frozen, m->shared.h, m->shared.w, NULL, m->logits, m->lm_in, (int)dec_rows, d, dm->vocab);
    memset(m->enc.d_out, 0, sizeof(float) * (size_t)enc_rows * d);
    memset(m->dec.d_out, 0, sizeof(float) * (size_t)dec_rows * d);
    m->pass_ready = 1;
    return 0;
}

double vlt5_loss(struct vlt5 *m, float *example_loss)
{
    const int V = m->dims.vocab, Ld = m->Ld, N = m->B * Ld;
    const int32_t *labels = m->batch.labels;
    par_xent_forward(m, m->row_loss, m->row_lse, m->logits, labels, N, V);
    double total = 0.0;
    for (int b = 0; b < m->B; b++) {
        int count = 0;
        double sum = 0.0;
        for (int t = 0; t < Ld; t++)
            if (labels[b * Ld + t] != XENT_IGNORE)
                count++, sum += m->row_loss[b * Ld + t];
        const double denom = count > 0 ? count : 1;
        const float w = m->batch.weights[b];
        m->example_loss[b] = (float)(sum / denom * w);
        total += m->example_loss[b];
        for (int t = 0; t < Ld; t++)
            m->row_w[b * Ld + t] = (float)((double)w / (denom * (double)m->batch.global_batch));
    }
    if (example_loss)
        memcpy(example_loss, m->example_loss, sizeof(float) * (size_t)m->B);
    par_xent_backward(m, m->logits, m->row_lse, labels, m->row_w, N, V);
    m->pass_ready = 2; /* logits now hold their gradient */
    return total / (double)m->batch.global_batch;
}

float *vlt5_final_hidden(struct vlt5 *m, int stack)
{
    return stack == VLT5_ENCODER ? m->enc.out : m->dec.out;
}

float *vlt5_final_grad(struct vlt5 *m, int stack)
{
    return stack == VLT5_ENCODER ? m->enc.d_out : m->dec.d_out;
}
