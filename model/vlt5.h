/* VL-T5: the T5 encoder-decoder with a visual embedding, as MixPHM uses it (docs/vlt5.md).
 *
 *   encoder input  [padded text embeddings ; R visual tokens]            [B, Lt + R, d]
 *                  visual token n = RMS_f(W_f feat_n) + RMS_p(W_p [x1, y1, x2, y2, area])
 *                                   + img_order_embedding[0] + shared[vocab - 1 - n]
 *                  (area = (b3 - b2) (b1 - b0): VL-T5's quirk, kept)
 *   encoder        blocks of (RMS norm, self-attention with unscaled logits, relative position bias
 *                  on text-text pairs only, dropout, residual) and (RMS norm, ReLU FFN, dropout,
 *                  residual); final RMS norm and dropout
 *   decoder        the same with causal self-attention (its own causal relative bias) and a
 *                  cross-attention sub-layer over the encoder output; starts from token 0 (pad)
 *   LM head        tied with the token embedding: logits = (h * d^-0.5) shared^T
 *
 * Dropout (rate `dropout`, training only) sits where HF T5 has it: on the embeddings, on the attention
 * weights, after the attention output, inside the FFN after the ReLU, after the FFN output and after
 * the final norm of each stack.
 *
 * Life cycle:
 *     struct params p; params_init(&p);
 *     vlt5_register(&m, &p, &dims, &opts, &e);    backbone tensors (trainable only in full mode)
 *     ... a PEFT method registers its tensors and attaches hooks (vlt5_hooks.h) ...
 *     params_alloc(&p); vlt5_bind(&m);            views and activation buffers, allocated once
 *     vlt5_load(&m, "backbone.h5", &e) or vlt5_init_random(&m, seed)
 *     per step: params_zero_grad; vlt5_forward; vlt5_loss; [regularisers]; vlt5_backward; optimizer
 *     evaluation: vlt5_generate
 * The model keeps pointers into the batch between vlt5_forward and vlt5_backward. */
#ifndef MIXPHM_MODEL_VLT5_H
#define MIXPHM_MODEL_VLT5_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/params.h"
#include "model/vlt5_hooks.h"
#include "nn/dropout.h"

#define VLT5_PAD 0
#define VLT5_EOS 1
#define VLT5_REGIONS 36
#define VLT5_MAX_LAYERS 64

struct vlt5_dims {
    int d_model, n_heads, d_kv, d_ff;
    int n_enc_layers, n_dec_layers;
    int vocab;     /* 32200 for VL-T5; the synthetic benchmark's own vocabulary otherwise */
    int feat_dim;  /* region feature size (2048) */
    int n_regions; /* visual tokens per example (36) */
    int rel_buckets, rel_max_distance; /* 32, 128 */
};

/* "tiny", "t5-small" or "t5-base" with vocab 32200, feat_dim 2048, 36 regions; -1 for another name. */
int vlt5_preset(const char *size, struct vlt5_dims *d);
int vlt5_dims_check(const struct vlt5_dims *d, struct err *e);
/* Backbone parameters (tied tensors once, visual biases when asked). */
long vlt5_param_count(const struct vlt5_dims *d, int visual_bias);

/* Precision of the frozen backbone's linear layers (model/frozen_linear.h); everything else is fp32. */
enum vlt5_precision { VLT5_FP32 = 0, VLT5_BF16 = 1 };

struct vlt5_options {
    int train_backbone; /* 1: full fine-tuning, every backbone tensor trainable */
    int precision;      /* enum vlt5_precision; bf16 refuses train_backbone */
    int threads;        /* bf16: threads of the model's own loops (vlt5_parallel.h); 0: as many as oneDNN's */
    int visual_bias;    /* use the FewVLM biases of the two visual-embedding linears */
    int linear_bias;    /* BitFit: a trainable bias (zero-initialised) on every block linear */
    float dropout;      /* T5's rate, 0.1 */
    /* Activation buffers are sized for these once: */
    int max_batch, max_text, max_target;
    int max_generate; /* tokens generate() may produce (19 = HF max_length 20) */
};

/* One batch.  Labels use XENT_IGNORE (-100) for padding; the decoder input is the labels shifted
 * right with start token 0 (docs/vlt5.md, "Decoder, LM head and loss"). */
struct vlt5_batch {
    int B;                 /* local examples */
    int text_len;          /* Lt: padded text length */
    const int32_t *text;   /* [B, Lt]: token ids, 0 = padding (the mask is ids != 0) */
    const float *feats;    /* [B, R, feat_dim] region features, or NULL when `visual` is given */
    const float *boxes;    /* [B, R, 4] normalised, clamped x1, y1, x2, y2 */
    const float *visual;   /* [B, R, d_model] visual embedding already applied (vlt5_visual_embed), or NULL */
    int target_len;        /* Ld */
    const int32_t *labels; /* [B, Ld] answer ids, XENT_IGNORE after the end */
    const float *weights;  /* [B] the answer's score (the loss weight) */
    uint64_t ex0;          /* global index of local example 0 (dropout masks, loss denominator) */
    long global_batch;     /* examples over all ranks: the loss is a mean over them */
    uint64_t seed, step;   /* dropout coordinates */
    int train;             /* 1: dropout on */
};

struct tensor_ref {
    int h;    /* params handle, -1: absent */
    float *w; /* values */
    float *g; /* gradient, NULL when frozen or absent */
};

struct vlt5_attn_w {
    struct tensor_ref ln, q, k, v, o, bq, bk, bv, bo; /* q..o [inner, d] / [d, inner]; b*: BitFit biases */
};
struct vlt5_ffn_w {
    struct tensor_ref ln, wi, wo, bi, bo; /* wi [d_ff, d], wo [d, d_ff] */
};
struct vlt5_layer_w {
    struct vlt5_attn_w self, cross; /* cross: decoder only */
    struct vlt5_ffn_w ffn;
};

/* Activations of one sub-layer, kept for backward; buffers sized for the maximum batch. */
struct vlt5_attn_acts {
    float *x;     /* [B, Tq, d] sub-layer input (residual stream) */
    float *rstd;  /* [B, Tq] */
    float *ln;    /* [B, Tq, d] normed input */
    float *q;     /* [B, Tq, inner] */
    float *k, *v; /* [B, Tk, inner] (cross-attention: from the encoder output) */
    float *probs; /* [B, H, Tq, Tk] attention weights before dropout */
    float *probs_drop; /* [B, H, Tq, Tk] after dropout (training with dropout only) */
    float *ctx;   /* [B, Tq, inner] weighted values, the input of o */
};
struct vlt5_ffn_acts {
    float *x, *rstd, *ln; /* as above */
    float *h;             /* [B, T, d_ff] dropout(ReLU(wi ln)), the input of wo */
};
struct vlt5_layer_acts {
    struct vlt5_attn_acts self, cross;
    struct vlt5_ffn_acts ffn;
};

struct vlt5_stack_acts {
    int T;              /* sequence length of the current pass */
    float *emb;         /* [B, T, d] embedded input before dropout (input gradients are w.r.t. this) */
    float *x_final;     /* [B, T, d] residual stream after the last block */
    float *rstd_final;  /* [B, T] */
    float *out;         /* [B, T, d] final norm + dropout: the stack's output */
    float *d_out;       /* [B, T, d] gradient w.r.t. out (regularisers add here before backward) */
    float *d_emb;       /* [B, T, d] gradient w.r.t. emb (when input gradients are asked for) */
    float *bias;        /* [H, T, T] relative position bias of this pass */
    int32_t *ids;       /* [T] canonical positions for dropout */
    struct vlt5_layer_acts *layer;
};

struct vlt5_visual_acts {
    float *a_pre, *a_rstd; /* [B*R, d], [B*R]: feature projection before its RMS norm */
    float *pos;            /* [B*R, 5] x1, y1, x2, y2, area */
    float *c_pre, *c_rstd; /* [B*R, d], [B*R]: box projection before its RMS norm */
    float *c_norm;         /* [B*R, d] the normed box projection */
    float *cond;           /* [B, d] x_R: mean over regions of the visual tokens */
};

/* What one training forward writes and its backward reads: the fields of struct vlt5 under "the
 * current pass", kept aside while another set is in use (vlt5_sets_alloc). */
struct vlt5_set {
    struct vlt5_batch batch;
    struct dropout drop;
    int pass_ready, B, Lt, Ld, batch_cap;
    unsigned char *enc_valid, *dec_valid;
    int32_t *dec_in;
    struct vlt5_stack_acts enc, dec;
    struct vlt5_visual_acts vis;
    float *lm_in, *logits, *row_loss, *row_lse, *row_w, *example_loss;
};

struct vlt5_backward_bufs; /* vlt5_backward's scratch, allocated at its first call */
struct frozen_linears;     /* the bf16 weights and oneDNN's primitives (NULL: fp32) */
struct vlt5_generate_bufs; /* vlt5_generate's caches, allocated at its first call */

struct vlt5 {
    struct vlt5_dims dims;
    struct vlt5_options opts;
    struct params *params;
    /* weights (views into params) */
    struct tensor_ref shared, enc_rel, dec_rel, enc_final_ln, dec_final_ln;
    struct tensor_ref feat_w, feat_b, feat_ln, pos_w, pos_b, pos_ln, img_order;
    struct vlt5_layer_w *enc_w, *dec_w;
    /* hooks: [stack][layer][sublayer][linear] and [stack][layer][sublayer], NULL: none */
    struct vlt5_hook **linear_hooks;
    struct vlt5_hook **output_hooks;
    int input_grad; /* 1: vlt5_backward also computes the gradient w.r.t. the embedded inputs */
    /* the current pass: one struct vlt5_set (model/vlt5_sets.c moves these fields as one) */
    struct vlt5_batch batch;
    struct dropout drop;
    int pass_ready; /* a training forward whose backward has not run yet */
    int B, Lt, Ld;
    unsigned char *enc_valid; /* [B, T_enc] text mask then R ones */
    int32_t *dec_in;          /* [B, Ld] decoder input ids */
    struct vlt5_stack_acts enc, dec;
    struct vlt5_visual_acts vis;
    float *lm_in;    /* [B*Ld, d] decoder output * d^-0.5 */
    float *logits;   /* [B*Ld, vocab]; dlogits after vlt5_loss */
    float *row_loss; /* [B*Ld] */
    float *row_lse;  /* [B*Ld] */
    float *row_w;    /* [B*Ld] loss weight of each target token */
    float *example_loss; /* [B] score * mean token loss of each example */
    unsigned char *dec_valid; /* [B, Ld] 1 where the decoder position predicts a target token */
    int batch_cap;       /* examples these buffers hold: opts.max_batch, or a kept set's size */
    /* the kept activation sets (vlt5_sets_alloc); sets[cur_set] is stale while the model holds it */
    struct vlt5_set *sets;
    int n_sets, cur_set;
    /* scratch */
    float *tmp_out;      /* [B, T, d] forward scratch: a sub-layer's output */
    float *attn_tmp;     /* forward scratch of the attention kernel */
    struct vlt5_backward_bufs *bwd;
    struct vlt5_generate_bufs *gen;
    struct frozen_linears *frozen;
    int threads; /* of the model's own row-parallel loops: oneDNN's in bf16, 1 in fp32 (vlt5_parallel.h) */
};

int vlt5_register(struct vlt5 *m, struct params *p, const struct vlt5_dims *d, const struct vlt5_options *o,
                  struct err *e);
/* After params_alloc: resolves the tensor views and allocates the activation buffers. */
void vlt5_bind(struct vlt5 *m);
/* The backbone alone (no PEFT method): params_init, vlt5_register, params_alloc, vlt5_bind. */
int vlt5_build(struct vlt5 *m, struct params *p, const struct vlt5_dims *d, const struct vlt5_options *o,
               struct err *e);
void vlt5_free(struct vlt5 *m);

/* Attaching hooks (before or after bind). */
void vlt5_set_linear_hook(struct vlt5 *m, const struct vlt5_site *s, struct vlt5_hook *h);
void vlt5_set_output_hook(struct vlt5 *m, const struct vlt5_site *s, struct vlt5_hook *h);
struct vlt5_hook *vlt5_linear_hook(const struct vlt5 *m, int stack, int layer, int sublayer, int linear);
struct vlt5_hook *vlt5_output_hook(const struct vlt5 *m, int stack, int layer, int sublayer);

/* Weights: the backbone tensors of a weights file (params_h5.h); the FewVLM visual biases are skipped
 * when the model does not use them.  vlt5_save writes the backbone with its dimensions as attributes. */
int vlt5_load(struct vlt5 *m, const char *path, struct err *e);
int vlt5_save(const struct vlt5 *m, const char *path, struct err *e);
/* The dimensions recorded in a weights file (vocab, feat_dim and the layer sizes; 36 regions). */
int vlt5_dims_from_weights(const char *path, struct vlt5_dims *d, struct err *e);
/* T5's initialisation (factor 1.0), from counter-based normals keyed on (seed, tensor name). */
void vlt5_init_random(struct vlt5 *m, uint64_t seed);
/* bf16: packs the frozen linear weights and releases the float32 values nothing else reads.  vlt5_load
 * does it; after vlt5_init_random (or weights written by hand) the first forward does it.  Weights
 * cannot be loaded or initialised again afterwards.  No-op in fp32 and once packed. */
int vlt5_pack_weights(struct vlt5 *m, struct err *e);
/* One line for the start-up log: "fp32", or the bf16 engine, its ISA and the memory of the weights. */
void vlt5_precision_describe(const struct vlt5 *m, char *out, size_t n);

/* Activation sets, for a caller that runs several training forwards before their backwards (a
 * rank's chunks under a regulariser, train/step.c): n sets, set 0 the model's own buffers and sets
 * 1 .. n-1 of up to B examples each.  vlt5_set_select makes set i the current pass (forward writes
 * it, backward reads it); select 0 before decoding or another batch size.  Hooks that keep
 * activations need the same (peft_sets_alloc).  Called again, it replaces the sets. */
void vlt5_sets_alloc(struct vlt5 *m, int n, int B);
void vlt5_set_select(struct vlt5 *m, int i);
/* Bytes of one set of B examples. */
size_t vlt5_set_bytes(const struct vlt5 *m, int B);

/* Teacher-forced forward: encoder, decoder and logits (m->logits). */
int vlt5_forward(struct vlt5 *m, const struct vlt5_batch *b, struct err *e);
/* Score-weighted answer loss of the local examples divided by the global batch size (sum it over
 * ranks for the global loss); turns m->logits into its gradient.  example_loss [B] may be NULL. */
double vlt5_loss(struct vlt5 *m, float *example_loss);
/* Backward of the last forward: gradients accumulate into the trainable tensors (params.grad). */
void vlt5_backward(struct vlt5 *m);
/* The stack's output of the last forward and the gradient buffer that backward starts from. */
float *vlt5_final_hidden(struct vlt5 *m, int stack);
float *vlt5_final_grad(struct vlt5 *m, int stack);

/* The visual tokens [B, R, d] of region features [B, R, F] and boxes [B, R, 4] (frozen, no dropout):
 * what the features stage may store.  Uses the model's visual buffers: not between forward and backward. */
int vlt5_visual_embed(struct vlt5 *m, const float *feats, const float *boxes, int B, float *out, struct err *e);

/* Greedy decoding with a key/value cache: starts from token 0, appends the arg-max token, stops per
 * example at EOS (1) and pads finished rows with 0; at most max_new tokens (19 = HF's max_length 20).
 * out [B, max_new] (without the start token); lengths [B] tokens up to and including EOS. */
int vlt5_generate(struct vlt5 *m, const struct vlt5_batch *b, int max_new, int32_t *out, int *lengths,
                  struct err *e);

#endif
