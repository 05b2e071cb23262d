/* VL-T5's activation buffers as sets: the model's own (set 0, allocated at bind) and the kept sets
 * of vlt5_sets_alloc, each holding one training forward until its backward.  Selecting a set moves
 * the pointers of struct vlt5_set in and out of the model; no activation is copied. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vlt5_internal.h"

/* Allocates, or with `bytes` non-NULL only counts, the buffers of a set. */
struct set_alloc {
    size_t *bytes;
};

static float *fbuf(struct set_alloc *a, long n)
{
    if (a->bytes) {
        *a->bytes += (size_t)(n > 0 ? n : 1) * sizeof(float);
        return NULL;
    }
    return vlt5_fbuf(n);
}

static void *zbuf(struct set_alloc *a, long n, size_t size)
{
    if (a->bytes) {
        *a->bytes += (size_t)(n > 0 ? n : 1) * size;
        return NULL;
    }
    return xcalloc((size_t)(n > 0 ? n : 1), size);
}

static void alloc_attn(struct set_alloc *al, struct vlt5_attn_acts *a, long rows, long kv_rows, long probs, int d,
                       int inner)
{
    a->x = fbuf(al, rows * d), a->rstd = fbuf(al, rows), a->ln = fbuf(al, rows * d);
    a->q = fbuf(al, rows * inner), a->ctx = fbuf(al, rows * inner);
    a->k = fbuf(al, kv_rows * inner), a->v = fbuf(al, kv_rows * inner);
    a->probs = fbuf(al, probs), a->probs_drop = fbuf(al, probs);
}

static void free_attn(struct vlt5_attn_acts *a)
{
    free(a->x), free(a->rstd), free(a->ln), free(a->q), free(a->ctx), free(a->k), free(a->v), free(a->probs);
    free(a->probs_drop);
}

static void alloc_stack(struct set_alloc *al, const struct vlt5 *m, struct vlt5_stack_acts *s, int stack, long B,
                        int T_max, int T_enc_max)
{
    const struct vlt5_dims *d = &m->dims;
    const long rows = B * T_max, dm = d->d_model, in = vlt5_inner(d);
    const int L = vlt5_n_layers(m, stack);
    s->emb = fbuf(al, rows * dm), s->x_final = fbuf(al, rows * dm), s->rstd_final = fbuf(al, rows);
    s->out = fbuf(al, rows * dm), s->d_out = fbuf(al, rows * dm), s->d_emb = fbuf(al, rows * dm);
    s->bias = fbuf(al, (long)d->n_heads * T_max * T_max);
    s->ids = zbuf(al, T_max, sizeof(int32_t));
    s->layer = zbuf(al, L, sizeof *s->layer);
    for (int l = 0; l < L; l++) {
        struct vlt5_layer_acts scratch, *a = s->layer ? &s->layer[l] : &scratch;
        alloc_attn(al, &a->self, rows, rows, B * d->n_heads * T_max * T_max, (int)dm, (int)in);
        if (stack == VLT5_DECODER)
            alloc_attn(al, &a->cross, rows, B * T_enc_max, B * d->n_heads * T_max * T_enc_max, (int)dm, (int)in);
        a->ffn.x = fbuf(al, rows * dm), a->ffn.rstd = fbuf(al, rows), a->ffn.ln = fbuf(al, rows * dm);
        a->ffn.h = fbuf(al, rows * d->d_ff);
    }
}

static void free_stack(struct vlt5_stack_acts *s, int L, int has_cross)
{
    for (int l = 0; s->layer && l < L; l++) {
        free_attn(&s->layer[l].self);
        if (has_cross)
            free_attn(&s->layer[l].cross);
        free(s->layer[l].ffn.x), free(s->layer[l].ffn.rstd), free(s->layer[l].ffn.ln), free(s->layer[l].ffn.h);
    }
    free(s->layer), free(s->emb), free(s->x_final), free(s->rstd_final), free(s->out), free(s->d_out);
    free(s->d_emb), free(s->bias), free(s->ids);
}

/* The buffers of a set of B examples (zeroed), or their bytes. */
static void alloc_set(struct set_alloc *al, const struct vlt5 *m, struct vlt5_set *st, int B)
{
    const struct vlt5_dims *d = &m->dims;
    const long R = d->n_regions, dm = d->d_model;
    const int T_enc = m->opts.max_text + d->n_regions, T_dec = m->opts.max_target;
    memset(st, 0, sizeof *st);
    st->batch_cap = B;
    alloc_stack(al, m, &st->enc, VLT5_ENCODER, B, T_enc, T_enc);
    alloc_stack(al, m, &st->dec, VLT5_DECODER, B, T_dec, T_enc);
    st->vis.a_pre = fbuf(al, B * R * dm), st->vis.a_rstd = fbuf(al, B * R), st->vis.pos = fbuf(al, B * R * 5);
    st->vis.c_pre = fbuf(al, B * R * dm), st->vis.c_rstd = fbuf(al, B * R), st->vis.cond = fbuf(al, B * dm);
    st->vis.c_norm = fbuf(al, B * R * dm);
    st->enc_valid = zbuf(al, B * T_enc, 1);
    st->dec_in = zbuf(al, B * T_dec, sizeof(int32_t));
    const long rows = B * T_dec;
    st->lm_in = fbuf(al, rows * dm), st->logits = fbuf(al, rows * d->vocab);
    st->row_loss = fbuf(al, rows), st->row_lse = fbuf(al, rows), st->row_w = fbuf(al, rows);
    st->example_loss = fbuf(al, B);
    st->dec_valid = zbuf(al, rows, 1);
}

static void free_set(const struct vlt5 *m, struct vlt5_set *st)
{
    if (!st->enc.layer)
        return;
    free_stack(&st->enc, m->dims.n_enc_layers, 0);
    free_stack(&st->dec, m->dims.n_dec_layers, 1);
    free(st->vis.a_pre), free(st->vis.a_rstd), free(st->vis.pos), free(st->vis.c_pre), free(st->vis.c_rstd);
    free(st->vis.cond), free(st->vis.c_norm), free(st->enc_valid), free(st->dec_in), free(st->lm_in);
    free(st->logits), free(st->row_loss), free(st->row_lse), free(st->row_w), free(st->example_loss);
    free(st->dec_valid);
    memset(st, 0, sizeof *st);
}

/* The model's current pass into st, and st into the model: every field of struct vlt5_set. */
static void set_save(const struct vlt5 *m, struct vlt5_set *st)
{
    st->batch = m->batch, st->drop = m->drop;
    st->pass_ready = m->pass_ready, st->B = m->B, st->Lt = m->Lt, st->Ld = m->Ld, st->batch_cap = m->batch_cap;
    st->enc_valid = m->enc_valid, st->dec_valid = m->dec_valid, st->dec_in = m->dec_in;
    st->enc = m->enc, st->dec = m->dec, st->vis = m->vis;
    st->lm_in = m->lm_in, st->logits = m->logits, st->row_loss = m->row_loss, st->row_lse = m->row_lse;
    st->row_w = m->row_w, st->example_loss = m->example_loss;
}

static void set_load(struct vlt5 *m, const struct vlt5_set *st)
{
    m->batch = st->batch, m->drop = st->drop;
    m->pass_ready = st->pass_ready, m->B = st->B, m->Lt = st->Lt, m->Ld = st->Ld, m->batch_cap = st->batch_cap;
    m->enc_valid = st->enc_valid, m->dec_valid = st->dec_valid, m->dec_in = st->dec_in;
    m->enc = st->enc, m->dec = st->dec, m->vis = st->vis;
    m->lm_in = st->lm_in, m->logits = st->logits, m->row_loss = st->row_loss, m->row_lse = st->row_lse;
    m->row_w = st->row_w, m->example_loss = st->example_loss;
}

void vlt5_set_bind(struct vlt5 *m)
{
    struct set_alloc al = {0};
    struct vlt5_set own;
    alloc_set(&al, m, &own, m->opts.max_batch);
    set_load(m, &own);
}

size_t vlt5_set_bytes(const struct vlt5 *m, int B)
{
    size_t bytes = 0;
    struct set_alloc al = {&bytes};
    struct vlt5_set st;
    alloc_set(&al, m, &st, B);
    return bytes;
}

void vlt5_set_select(struct vlt5 *m, int i)
{
    if (i == m->cur_set || i < 0 || i >= (m->n_sets > 0 ? m->n_sets : 1))
        return;
    set_save(m, &m->sets[m->cur_set]);
    set_load(m, &m->sets[i]);
    m->cur_set = i;
}

/* The kept sets 1 .. n-1 released; the model holds set 0 again. */
static void free_kept(struct vlt5 *m)
{
    if (!m->sets)
        return;
    vlt5_set_select(m, 0);
    for (int i = 1; i < m->n_sets; i++)
        free_set(m, &m->sets[i]);
    free(m->sets);
    m->sets = NULL, m->n_sets = 0, m->cur_set = 0;
}

void vlt5_sets_alloc(struct vlt5 *m, int n, int B)
{
    free_kept(m);
    if (n < 2)
        return;
    struct set_alloc al = {0};
    m->sets = xcalloc((size_t)n, sizeof *m->sets);
    m->n_sets = n, m->cur_set = 0;
    for (int i = 1; i < n; i++)
        alloc_set(&al, m, &m->sets[i], B);
}

void vlt5_sets_free(struct vlt5 *m)
{
    free_kept(m);
    struct vlt5_set own;
    set_save(m, &own);
    free_set(m, &own);
    memset(&own, 0, sizeof own);
    set_load(m, &own);
}
