/* Internals shared by the model/vlt5_*.c files (not an API). */
#ifndef MIXPHM_MODEL_VLT5_INTERNAL_H
#define MIXPHM_MODEL_VLT5_INTERNAL_H

#include "base/mem.h"
#include "model/vlt5.h"

/* Dropout site ids: (stack << 12) | (layer << 4) | kind; embeddings and final norms use layer 0xff. */
enum vlt5_drop_kind {
    DROP_EMBED = 0,
    DROP_SELF_PROBS = 1,
    DROP_SELF_OUT = 2,
    DROP_CROSS_PROBS = 3,
    DROP_CROSS_OUT = 4,
    DROP_FFN_INNER = 5,
    DROP_FFN_OUT = 6,
    DROP_FINAL = 7
};
static inline uint32_t vlt5_drop_site(int stack, int layer, int kind)
{
    return ((uint32_t)stack << 12) | ((uint32_t)(layer & 0xff) << 4) | (uint32_t)kind;
}
#define VLT5_STACK_LAYER 0xff

static inline int vlt5_inner(const struct vlt5_dims *d)
{
    return d->n_heads * d->d_kv;
}

static inline int vlt5_n_layers(const struct vlt5 *m, int stack)
{
    return stack == VLT5_ENCODER ? m->dims.n_enc_layers : m->dims.n_dec_layers;
}

/* What the sub-layer functions need to know about the current pass of one stack. */
struct vlt5_pass {
    int stack;
    int B, T;                   /* examples, rows per example (queries) */
    int Tk;                     /* keys per example for cross-attention (the encoder length) */
    const unsigned char *valid; /* [B, T] self-attention key mask (NULL: none) */
    const unsigned char *kv_valid; /* [B, Tk] cross-attention key mask */
    int causal;
    const float *bias;          /* [H, T, T] self-attention position bias */
    const int32_t *ids;         /* [T] canonical positions */
    const int32_t *kv_ids;      /* [Tk] canonical positions of the cross-attention keys */
    const float *kv_src;        /* [B, Tk, d] encoder output (cross-attention) */
    const struct dropout *drop; /* NULL: no dropout */
    struct vlt5_hook_batch hb;   /* for hooks over the stack's rows */
    struct vlt5_hook_batch hb_kv; /* for the cross-attention k/v hooks (rows of the encoder output) */
};

/* Backward scratch, sized for the maximum batch. */
struct vlt5_backward_bufs {
    float *dx;          /* [B, T, d] gradient of the residual stream (one per stack in turn) */
    float *d_sub;       /* [B, T, d] gradient of a sub-layer output */
    float *d_ln;        /* [B, T, d] gradient of a normed input */
    float *dq, *dk, *dv, *dctx; /* [B, T, inner] */
    float *dh;          /* [B, T, d_ff] */
    float *d_kv_src;    /* [B, T_enc, d] scratch for cross k/v input gradients */
    float *attn_scratch;
    float *dbias;       /* [H, T, T] summed over layers (full mode) */
    float *lm_scratch;  /* [B*Ld, d] */
};

/* vlt5_model.c: the encoder half of a forward (m->enc.out); labels may be absent. */
int vlt5_encode(struct vlt5 *m, const struct vlt5_batch *b, struct err *e);
/* The pass description of each stack for the current batch. */
void vlt5_encoder_pass(struct vlt5 *m, struct vlt5_pass *ps);
void vlt5_decoder_pass(struct vlt5 *m, struct vlt5_pass *ps);

/* vlt5_block.c: a linear with its BitFit bias and hook delta; a sub-layer output hook. */
void vlt5_linear_forward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb,
                         const struct tensor_ref *W, const struct tensor_ref *b, const float *x, float *y, int n, int in,
                         int out);
void vlt5_output_forward(struct vlt5 *m, const struct vlt5_site *s, const struct vlt5_hook_batch *hb, float *h,
                         int n, int d);
/* vlt5_block.c: one sub-layer, in place on the residual stream x [B, T, d]. */
void vlt5_attn_forward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, int cross, float *x);
void vlt5_ffn_forward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, float *x);
/* dx [B, T, d]: gradient of the sub-layer's output stream in, of its input stream out.
 * d_kv_src [B, Tk, d] accumulates the cross-attention's gradient w.r.t. the encoder output (may be NULL). */
void vlt5_attn_backward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, int cross, float *dx,
                        float *d_kv_src);
void vlt5_ffn_backward(struct vlt5 *m, const struct vlt5_pass *ps, int layer, float *dx);

/* vlt5_embed.c */
void vlt5_visual_forward(struct vlt5 *m, const float *feats, const float *boxes, int B, float *out);
void vlt5_visual_backward(struct vlt5 *m, const float *feats, const float *d_vis, int B);
void vlt5_embed_tokens(const struct vlt5 *m, const int32_t *ids, long n, float *out);
void vlt5_embed_tokens_backward(struct vlt5 *m, const int32_t *ids, long n, const float *d_out);

/* Activation buffers: 64-byte aligned, zeroed, never empty. */
static inline float *vlt5_fbuf(long n)
{
    return xaligned_calloc((size_t)(n > 0 ? n : 1), sizeof(float));
}

/* vlt5_sets.c: the model's own activation buffers (set 0, for opts.max_batch examples), and every
 * set's release. */
void vlt5_set_bind(struct vlt5 *m);
void vlt5_sets_free(struct vlt5 *m);

/* vlt5_backward.c */
void vlt5_free_backward(struct vlt5 *m);
/* vlt5_precision.c: after the tensors are registered (bf16: the oneDNN context, detached weights);
 * whether vlt5_pack_weights has run. */
int vlt5_precision_init(struct vlt5 *m, struct err *e);
int vlt5_weights_packed(const struct vlt5 *m);
/* vlt5_generate.c */
void vlt5_free_generate(struct vlt5 *m);

#endif
