/* model.precision for the VL-T5 backbone: which of its tensors are linear weights that run in bf16,
 * their packing once the weights are in place, and the line the start-up log prints
 * (model/frozen_linear.h).
 *
 * In bf16 the products of every block (q, k, v, o of each attention, wi and wo of each FFN), of the
 * visual feature projection and of the tied LM head use packed bf16 weights.  The box projection
 * (5 inputs per region) stays fp32: it is too small to gain anything.  The tied embedding keeps its
 * float32 values, which the token lookup reads; the other packed weights give theirs back. */
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "model/frozen_linear.h"
#include "model/vlt5_internal.h"

/* The packed weights in order, the tied embedding last; returns how many (refs has room for them). */
static int linear_refs(struct vlt5 *m, struct tensor_ref **refs)
{
    int n = 0;
    for (int stack = 0; stack < 2; stack++)
        for (int l = 0; l < vlt5_n_layers(m, stack); l++) {
            struct vlt5_layer_w *w = stack == VLT5_ENCODER ? &m->enc_w[l] : &m->dec_w[l];
            struct vlt5_attn_w *attn[2] = {&w->self, stack == VLT5_DECODER ? &w->cross : NULL};
            for (int a = 0; a < 2 && attn[a]; a++) {
                refs[n++] = &attn[a]->q, refs[n++] = &attn[a]->k;
                refs[n++] = &attn[a]->v, refs[n++] = &attn[a]->o;
            }
            refs[n++] = &w->ffn.wi, refs[n++] = &w->ffn.wo;
        }
    refs[n++] = &m->feat_w;
    refs[n++] = &m->shared;
    return n;
}

static struct tensor_ref **alloc_refs(const struct vlt5 *m)
{
    return xcalloc((size_t)(6 * m->dims.n_enc_layers + 10 * m->dims.n_dec_layers + 2), sizeof(struct tensor_ref *));
}

int vlt5_precision_init(struct vlt5 *m, struct err *e)
{
    if (m->opts.precision == VLT5_FP32)
        return 0;
    if (m->opts.precision != VLT5_BF16)
        return err_set(e, "model precision %d: expected fp32 (%d) or bf16 (%d)", m->opts.precision, VLT5_FP32,
                       VLT5_BF16);
    if (m->opts.train_backbone)
        return err_set(e, "model.precision bf16 runs the frozen backbone's products in bf16, and full fine-tuning "
                          "trains the backbone: use model.precision fp32 for peft.method full");
    if (frozen_linears_create(&m->frozen, FROZEN_BF16, e) != 0)
        return -1;
    m->threads = m->opts.threads > 0 ? m->opts.threads : bf16_ctx_threads(m->frozen->ctx);
    struct tensor_ref **refs = alloc_refs(m);
    const int n = linear_refs(m, refs);
    for (int i = 0; i < n - 1; i++) /* not the tied embedding (last): the lookup reads it */
        params_set_detached(m->params, refs[i]->h);
    free(refs);
    return 0;
}

int vlt5_pack_weights(struct vlt5 *m, struct err *e)
{
    if (!m->frozen || m->frozen->packed)
        return 0;
    struct tensor_ref **refs = alloc_refs(m);
    const int n = linear_refs(m, refs);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = frozen_linears_pack(m->frozen, m->params, refs[i]->h, e);
        if (refs[i]->h >= 0)
            refs[i]->w = params_data(m->params, refs[i]->h); /* NULL once released */
    }
    free(refs);
    if (rc != 0)
        return err_prefix(e, "model.precision bf16: packing the backbone's weights");
    m->frozen->packed = 1;
    return 0;
}

int vlt5_weights_packed(const struct vlt5 *m)
{
    return m->frozen && m->frozen->packed;
}

void vlt5_precision_describe(const struct vlt5 *m, char *out, size_t n)
{
    frozen_linears_describe(m->frozen, out, n);
}
