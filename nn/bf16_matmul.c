#include "nn/bf16_matmul.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

float bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
        u |= 0x00400000u; /* NaN stays NaN (the carry below could turn it into infinity) */
    else
        u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

#if MIXPHM_DNNL

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <oneapi/dnnl/dnnl_version.h>
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#endif

#include "nn/blas_env.h"

/* Rows of the product that asks oneDNN for its preferred weight layout; the layout depends on the
 * weight's shape and the CPU, not on the rows (checked for 1 to 896 rows on AMX). */
#define PROBE_ROWS 128
#define TABLE_SLOTS 2048 /* a power of two, half full at most */

enum prim_op { OP_CONVERT = 1, OP_MATMUL = 2 };

/* One primitive and its memory objects, whose data handles are set at each call.  A matmul's key is
 * (rows, k, n, accumulate): its weight layout is a function of (k, n), so forward products and
 * backward ones of the same shape share it.  A conversion's is (rows, k, lda): lda is the row stride
 * of its f32 input (a chunk of a wider one). */
struct prim {
    int op; /* 0: free slot */
    int rows, k, n, lda, accumulate;
    dnnl_primitive_t p;
    dnnl_memory_t src, wei, dst, scratch; /* wei NULL for a conversion, scratch NULL when none is needed */
};

struct bf16_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    struct prim table[TABLE_SLOTS];
    int count;
    long created;
    long reference; /* primitives that run oneDNN's reference (not JIT) code */
    uint16_t *xb;  /* [rows, k] the bf16 input of the current product (rows padded to BF16_MIN_ROWS) */
    size_t xb_cap; /* bytes */
    float *yb;     /* [BF16_MIN_ROWS, n] the output of a product of fewer rows */
    size_t yb_cap; /* bytes */
    void *scratch; /* oneDNN's scratchpad, shared by every primitive (they run one at a time) */
    size_t scratch_cap;
    int threads;
    dnnl_cpu_isa_t isa;
    char kernel[64]; /* the matmul implementation oneDNN picked for the probe */
};

/* One K-chunk of a weight: rows k0 .. k0 + k - 1 of the product's k x n weight matrix. */
struct chunk {
    int k0, k;
    dnnl_memory_desc_t md;
    void *data;
};

struct bf16_weight {
    int out, in;
    int n_fwd, n_bwd;
    struct chunk *fwd; /* [n_fwd] K = in:  y = x W^T */
    struct chunk *bwd; /* [n_bwd] K = out: dx = dy W, made at the first backward (n_bwd 0 before) */
};

int bf16_built(void)
{
    return 1;
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

const char *bf16_cpu_isa(void)
{
    return isa_name(dnnl_get_effective_cpu_isa());
}

static int isa_native(dnnl_cpu_isa_t isa)
{
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

/* A product that fails after set-up accepted its shapes is an internal error. */
static void die(const char *what, dnnl_status_t s, int rows, int k, int n)
{
    fprintf(stderr, "mixphm: internal error: oneDNN: %s failed (%s) for a [%d, %d] x [%d, %d] product\n", what,
            dnnl_status2str(s), rows, k, k, n);
    abort();
}

static dnnl_status_t md2(dnnl_memory_desc_t *md, long d0, long d1, dnnl_data_type_t type, dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {d0, d1};
    return dnnl_memory_desc_init_by_tag(md, 2, dims, type, tag);
}

static dnnl_status_t md2_strided(dnnl_memory_desc_t *md, long d0, long d1, dnnl_data_type_t type, long s0, long s1)
{
    dnnl_dims_t dims = {d0, d1}, strides = {s0, s1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

/* dst[rows, n] (f32, += with accumulate) = src[rows, k] (bf16, contiguous: oneDNN 2.6 runs a strided
 * one on its reference kernel) x wei[k, n] (bf16, wmd or `any`). */
static dnnl_status_t matmul_pd(struct bf16_ctx *c, dnnl_primitive_desc_t *pd, long rows, long k, long n,
                               const dnnl_memory_desc_t *wmd, int accumulate)
{
    dnnl_memory_desc_t s, w, d;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = md2(&s, rows, k, dnnl_bf16, dnnl_ab);
    if (st == dnnl_success) {
        if (wmd)
            w = *wmd;
        else
            st = md2(&w, k, n, dnnl_bf16, dnnl_format_tag_any);
    }
    if (st == dnnl_success)
        st = md2(&d, rows, n, dnnl_f32, dnnl_ab);
    if (st == dnnl_success)
        st = dnnl_matmul_desc_init(&desc, &s, &w, NULL, &d);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && accumulate) { /* dst = 1.0 dst + product */
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(pd, &desc, attr, c->engine, NULL);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return st;
}

/* The f32 [rows, k] (row stride lda) -> bf16 [rows, k] conversion of a chunk of a product's input. */
static dnnl_status_t convert_pd(struct bf16_ctx *c, dnnl_primitive_desc_t *pd, long rows, long k, long lda)
{
    dnnl_memory_desc_t s, d;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st = md2_strided(&s, rows, k, dnnl_f32, lda, 1);
    if (st == dnnl_success)
        st = md2(&d, rows, k, dnnl_bf16, dnnl_ab);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(pd, &s, c->engine, &d, c->engine, attr);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return st;
}

/* A one-off reorder (packing weights): src in smd at `from` to dmd at `to`. */
static dnnl_status_t reorder_once(struct bf16_ctx *c, const dnnl_memory_desc_t *smd, const void *from,
                                  const dnnl_memory_desc_t *dmd, void *to)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, smd, c->engine, dmd, c->engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&p, pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&ms, smd, c->engine, (void *)from);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, dmd, c->engine, to);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
        st = dnnl_primitive_execute(p, c->stream, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(c->stream);
    if (md)
        dnnl_memory_destroy(md);
    if (ms)
        dnnl_memory_destroy(ms);
    if (p)
        dnnl_primitive_destroy(p);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

/* The layout oneDNN prefers for weights of k x n (logical) on this CPU. */
static dnnl_status_t preferred_layout(struct bf16_ctx *c, long k, long n, dnnl_memory_desc_t *out)
{
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = matmul_pd(c, &pd, PROBE_ROWS, k, n, NULL, 0);
    if (st != dnnl_success)
        return st;
    *out = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    return dnnl_success;
}

static void prim_destroy(struct prim *p)
{
    dnnl_memory_t *mem[4] = {&p->src, &p->wei, &p->dst, &p->scratch};
    for (int i = 0; i < 4; i++)
        if (*mem[i])
            dnnl_memory_destroy(*mem[i]);
    if (p->p)
        dnnl_primitive_destroy(p->p);
    memset(p, 0, sizeof *p);
}

static void table_flush(struct bf16_ctx *c)
{
    for (int i = 0; i < TABLE_SLOTS; i++)
        if (c->table[i].op)
            prim_destroy(&c->table[i]);
    c->count = 0;
}

static unsigned slot_of(int op, int rows, int k, int n, int lda, int accumulate)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const int key[6] = {op, rows, k, n, lda, accumulate};
    for (int i = 0; i < 6; i++)
        h = (h ^ (uint32_t)key[i]) * 0x100000001b3ULL;
    return (unsigned)(h ^ (h >> 29)) & (TABLE_SLOTS - 1);
}

static void grow(void **buf, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return;
    free(*buf);
    *buf = xaligned_calloc(bytes, 1);
    *cap = bytes;
}

/* The primitive of a key, created at its first use. */
static struct prim *get(struct bf16_ctx *c, int op, int rows, int k, int n, int lda, int accumulate,
                        const dnnl_memory_desc_t *wmd)
{
    unsigned i = slot_of(op, rows, k, n, lda, accumulate);
    for (; c->table[i].op; i = (i + 1) & (TABLE_SLOTS - 1)) {
        const struct prim *p = &c->table[i];
        if (p->op == op && p->rows == rows && p->k == k && p->n == n && p->lda == lda && p->accumulate == accumulate)
            return &c->table[i];
    }
    if (c->count >= BF16_MAX_PRIMITIVES) {
        table_flush(c);
        i = slot_of(op, rows, k, n, lda, accumulate);
    }
    struct prim *p = &c->table[i];
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = op == OP_CONVERT ? convert_pd(c, &pd, rows, k, lda)
                                        : matmul_pd(c, &pd, rows, k, n, wmd, accumulate);
    if (st != dnnl_success)
        die(op == OP_CONVERT ? "creating the bf16 conversion" : "creating the bf16 matmul", st, rows, k, n);
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
        strncmp(impl, "ref", 3) == 0)
        c->reference++; /* a hundred times slower than the JIT kernels: the tests insist on none */
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    const size_t scratch = dnnl_memory_desc_get_size(smd);
    grow(&c->scratch, &c->scratch_cap, scratch);
    st = dnnl_primitive_create(&p->p, pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&p->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), c->engine,
                                DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&p->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), c->engine,
                                DNNL_MEMORY_NONE);
    if (st == dnnl_success && op == OP_MATMUL)
        st = dnnl_memory_create(&p->wei, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), c->engine,
                                DNNL_MEMORY_NONE);
    if (st == dnnl_success && scratch > 0)
        st = dnnl_memory_create(&p->scratch, smd, c->engine, DNNL_MEMORY_NONE);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        die("creating a primitive", st, rows, k, n);
    p->op = op, p->rows = rows, p->k = k, p->n = n, p->lda = lda, p->accumulate = accumulate;
    c->count++;
    c->created++;
    return p;
}

static void run(struct bf16_ctx *c, struct prim *p, const void *src, const void *wei, void *dst)
{
    dnnl_exec_arg_t args[4];
    int n = 0;
    dnnl_status_t st = dnnl_memory_set_data_handle(p->src, (void *)src);
    args[n++] = (dnnl_exec_arg_t){p->op == OP_CONVERT ? DNNL_ARG_FROM : DNNL_ARG_SRC, p->src};
    if (st == dnnl_success)
        st = dnnl_memory_set_data_handle(p->dst, dst);
    args[n++] = (dnnl_exec_arg_t){p->op == OP_CONVERT ? DNNL_ARG_TO : DNNL_ARG_DST, p->dst};
    if (st == dnnl_success && p->wei) {
        st = dnnl_memory_set_data_handle(p->wei, (void *)wei);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, p->wei};
    }
    if (st == dnnl_success && p->scratch) {
        st = dnnl_memory_set_data_handle(p->scratch, c->scratch);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    }
    if (st == dnnl_success)
        st = dnnl_primitive_execute(p->p, c->stream, n, args);
    if (st == dnnl_success)
        st = dnnl_stream_wait(c->stream);
    if (st != dnnl_success)
        die(p->op == OP_CONVERT ? "the bf16 conversion" : "the bf16 matmul", st, p->rows, p->k, p->n);
}

/* The rows a product runs with: at least BF16_MIN_ROWS (see the header). */
static int padded_rows(int rows)
{
    return rows < BF16_MIN_ROWS ? BF16_MIN_ROWS : rows;
}

/* The bf16 input chunk by chunk: chunk i of x[rows, k] (its columns k0 .. k0 + k_i - 1) becomes
 * c->xb[rp * k0 ...] = [rp, k_i] contiguous, rp = padded_rows(rows), the padding rows 0. */
static void convert(struct bf16_ctx *c, const float *x, int rows, int k, const struct chunk *ch, int n_chunks)
{
    const int rp = padded_rows(rows);
    grow((void **)&c->xb, &c->xb_cap, (size_t)rp * (size_t)k * sizeof(uint16_t));
    for (int i = 0; i < n_chunks; i++) {
        uint16_t *to = c->xb + (size_t)rp * ch[i].k0;
        run(c, get(c, OP_CONVERT, rows, ch[i].k, 0, k, 0, NULL), x + ch[i].k0, NULL, to);
        if (rp > rows)
            memset(to + (size_t)rows * ch[i].k, 0, (size_t)(rp - rows) * (size_t)ch[i].k * sizeof(uint16_t));
    }
}

/* y[rows, n] (+)= bf16(x) W from the converted chunks, in order, each after the first adding to y, so
 * the sum of each output is the same sequence of chunk sums whatever the rows. */
static void product(struct bf16_ctx *c, const struct chunk *ch, int n_chunks, int n, float *y, int rows,
                    int accumulate)
{
    const int rp = padded_rows(rows);
    float *dst = y;
    if (rp > rows) { /* fewer rows than the kernels' minimum: through a padded output */
        grow((void **)&c->yb, &c->yb_cap, (size_t)rp * (size_t)n * sizeof(float));
        dst = c->yb;
        if (accumulate)
            memcpy(dst, y, (size_t)rows * (size_t)n * sizeof(float));
    }
    for (int i = 0; i < n_chunks; i++)
        run(c, get(c, OP_MATMUL, rp, ch[i].k, n, 0, accumulate || i > 0, &ch[i].md), c->xb + (size_t)rp * ch[i].k0,
            ch[i].data, dst);
    if (dst != y)
        memcpy(y, dst, (size_t)rows * (size_t)n * sizeof(float));
}

int bf16_ctx_create(struct bf16_ctx **out, struct err *e)
{
    *out = NULL;
    struct bf16_ctx *c = xcalloc(1, sizeof *c);
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
    if (!getenv("OMP_NUM_THREADS"))
        omp_set_num_threads(blas_threads());
    c->threads = omp_get_max_threads();
#endif
    c->isa = dnnl_get_effective_cpu_isa();
    dnnl_status_t st = dnnl_engine_create(&c->engine, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        bf16_ctx_free(c);
        return err_set(e, "model.precision bf16: oneDNN cannot open its CPU engine (%s)", dnnl_status2str(st));
    }
    const dnnl_version_t *v = dnnl_version();
    dnnl_primitive_desc_t pd;
    st = matmul_pd(c, &pd, PROBE_ROWS, 64, 64, NULL, 0);
    if (st != dnnl_success) {
        err_set(e, "model.precision bf16: oneDNN %d.%d.%d has no bf16 matmul for this CPU (%s: it dispatches to "
                   "%s); it needs AVX-512 (CPU flags avx512f, avx512bw, avx512vl, avx512dq: bf16 emulated) and "
                   "runs bf16 natively with avx512_bf16 or amx_bf16; check ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA "
                   "if they are set, or use model.precision fp32 on this machine",
                v->major, v->minor, v->patch, dnnl_status2str(st), isa_name(c->isa));
        bf16_ctx_free(c);
        return -1;
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        impl = "unknown";
    snprintf(c->kernel, sizeof c->kernel, "%s", impl);
    dnnl_primitive_desc_destroy(pd);
    *out = c;
    return 0;
}

void bf16_ctx_free(struct bf16_ctx *c)
{
    if (!c)
        return;
    table_flush(c);
    if (c->stream)
        dnnl_stream_destroy(c->stream);
    if (c->engine)
        dnnl_engine_destroy(c->engine);
    free(c->xb);
    free(c->yb);
    free(c->scratch);
    free(c);
}

void bf16_ctx_describe(const struct bf16_ctx *c, char *out, size_t n)
{
    const dnnl_version_t *v = dnnl_version();
    snprintf(out, n, "oneDNN %d.%d.%d, ISA %s (%s), matmul %s, %d thread%s", v->major, v->minor, v->patch,
             isa_name(c->isa),
             c->isa == dnnl_cpu_isa_avx512_core_amx ? "bf16 on AMX"
             : isa_native(c->isa)                   ? "bf16 on AVX-512 BF16"
                                                    : "no bf16 instructions: emulated, slower than fp32",
             c->kernel, c->threads, c->threads == 1 ? "" : "s");
}

int bf16_ctx_native(const struct bf16_ctx *c)
{
    return isa_native(c->isa);
}

int bf16_ctx_threads(const struct bf16_ctx *c)
{
    return c->threads > 0 ? c->threads : 1;
}

long bf16_ctx_primitives_created(const struct bf16_ctx *c)
{
    return c->created;
}

long bf16_ctx_reference_kernels(const struct bf16_ctx *c)
{
    return c->reference;
}

static struct chunk *chunks_alloc(int K, int *n)
{
    *n = (K + BF16_K_CHUNK - 1) / BF16_K_CHUNK;
    struct chunk *ch = xcalloc((size_t)*n, sizeof *ch);
    for (int i = 0; i < *n; i++) {
        ch[i].k0 = i * BF16_K_CHUNK;
        ch[i].k = K - ch[i].k0 < BF16_K_CHUNK ? K - ch[i].k0 : BF16_K_CHUNK;
    }
    return ch;
}

static void chunks_free(struct chunk *ch, int n)
{
    for (int i = 0; ch && i < n; i++)
        free(ch[i].data);
    free(ch);
}

int bf16_weight_pack(struct bf16_ctx *c, const float *W, int out, int in, struct bf16_weight **wout, struct err *e)
{
    *wout = NULL;
    struct bf16_weight *w = xcalloc(1, sizeof *w);
    w->out = out, w->in = in;
    w->fwd = chunks_alloc(in, &w->n_fwd);
    dnnl_status_t st = dnnl_success;
    for (int i = 0; i < w->n_fwd && st == dnnl_success; i++) {
        struct chunk *ch = &w->fwd[i];
        dnnl_memory_desc_t src; /* columns k0.. of W [out, in]: the chunk's [k, out], column-major */
        st = preferred_layout(c, ch->k, out, &ch->md);
        if (st == dnnl_success) {
            ch->data = xaligned_calloc(dnnl_memory_desc_get_size(&ch->md), 1);
            st = md2_strided(&src, ch->k, out, dnnl_f32, 1, in);
        }
        if (st == dnnl_success)
            st = reorder_once(c, &src, W + ch->k0, &ch->md, ch->data);
    }
    if (st != dnnl_success) {
        bf16_weight_free(w);
        return err_set(e, "packing a [%d, %d] weight for oneDNN's bf16 matmul: %s", out, in, dnnl_status2str(st));
    }
    *wout = w;
    return 0;
}

/* W's layout for dx = dy W, from the forward chunks (the fp32 values may be gone): through plain bf16
 * W [out, in], whose columns k0.. are a forward chunk's [k, out] column-major and whose rows k0.. are
 * a backward chunk's [k, in] row-major. */
static void pack_backward(struct bf16_ctx *c, struct bf16_weight *w)
{
    uint16_t *plain = xaligned_calloc((size_t)w->out * (size_t)w->in, sizeof(uint16_t));
    dnnl_status_t st = dnnl_success;
    for (int i = 0; i < w->n_fwd && st == dnnl_success; i++) {
        const struct chunk *ch = &w->fwd[i];
        dnnl_memory_desc_t view;
        st = md2_strided(&view, ch->k, w->out, dnnl_bf16, 1, w->in);
        if (st == dnnl_success)
            st = reorder_once(c, &ch->md, ch->data, &view, plain + ch->k0);
    }
    int n = 0;
    struct chunk *bwd = chunks_alloc(w->out, &n);
    for (int i = 0; i < n && st == dnnl_success; i++) {
        struct chunk *ch = &bwd[i];
        dnnl_memory_desc_t view;
        st = preferred_layout(c, ch->k, w->in, &ch->md);
        if (st == dnnl_success) {
            ch->data = xaligned_calloc(dnnl_memory_desc_get_size(&ch->md), 1);
            st = md2_strided(&view, ch->k, w->in, dnnl_bf16, w->in, 1);
        }
        if (st == dnnl_success)
            st = reorder_once(c, &view, plain + (size_t)ch->k0 * w->in, &ch->md, ch->data);
    }
    free(plain);
    if (st != dnnl_success)
        die("packing the weight for the backward product", st, 0, w->out, w->in);
    w->bwd = bwd, w->n_bwd = n;
}

void bf16_weight_free(struct bf16_weight *w)
{
    if (!w)
        return;
    chunks_free(w->fwd, w->n_fwd);
    chunks_free(w->bwd, w->n_bwd);
    free(w);
}

size_t bf16_weight_bytes(const struct bf16_weight *w)
{
    size_t b = 0;
    for (int i = 0; i < w->n_fwd; i++)
        b += dnnl_memory_desc_get_size(&w->fwd[i].md);
    for (int i = 0; i < w->n_bwd; i++)
        b += dnnl_memory_desc_get_size(&w->bwd[i].md);
    return b;
}

void bf16_linear_forward(struct bf16_ctx *c, const struct bf16_weight *w, float *y, const float *x, int N,
                         int accumulate)
{
    if (N <= 0 || w->out <= 0)
        return;
    convert(c, x, N, w->in, w->fwd, w->n_fwd);
    product(c, w->fwd, w->n_fwd, w->out, y, N, accumulate ? 1 : 0);
}

void bf16_linear_backward_dx(struct bf16_ctx *c, struct bf16_weight *w, float *dx, const float *dy, int N,
                             int accumulate)
{
    if (N <= 0 || w->in <= 0)
        return;
    if (!w->bwd)
        pack_backward(c, w);
    convert(c, dy, N, w->out, w->bwd, w->n_bwd);
    product(c, w->bwd, w->n_bwd, w->in, dx, N, accumulate ? 1 : 0);
}

#else /* built without oneDNN (make DNNL=0): fp32 only */

struct bf16_ctx {
    int unused;
};

static void unavailable(void)
{
    fprintf(stderr, "mixphm: internal error: a bf16 product in a build without oneDNN (make DNNL=0)\n");
    abort();
}

int bf16_built(void)
{
    return 0;
}

const char *bf16_cpu_isa(void)
{
    return "none";
}

static int refuse(struct err *e)
{
    return err_set(e, "model.precision bf16 needs oneDNN, and this mixphm was built without it (make DNNL=0): "
                      "install libdnnl-dev (make deps) and rebuild with make, or use model.precision fp32");
}

int bf16_ctx_create(struct bf16_ctx **out, struct err *e)
{
    *out = NULL;
    return refuse(e);
}

void bf16_ctx_free(struct bf16_ctx *c)
{
    (void)c;
}

void bf16_ctx_describe(const struct bf16_ctx *c, char *out, size_t n)
{
    (void)c;
    snprintf(out, n, "no oneDNN (make DNNL=0)");
}

int bf16_ctx_native(const struct bf16_ctx *c)
{
    (void)c;
    return 0;
}

int bf16_ctx_threads(const struct bf16_ctx *c)
{
    (void)c;
    return 1;
}

long bf16_ctx_primitives_created(const struct bf16_ctx *c)
{
    (void)c;
    return 0;
}

long bf16_ctx_reference_kernels(const struct bf16_ctx *c)
{
    (void)c;
    return 0;
}

int bf16_weight_pack(struct bf16_ctx *c, const float *W, int out, int in, struct bf16_weight **w, struct err *e)
{
    (void)c, (void)W, (void)out, (void)in;
    *w = NULL;
    return refuse(e);
}

void bf16_weight_free(struct bf16_weight *w)
{
    (void)w;
}

size_t bf16_weight_bytes(const struct bf16_weight *w)
{
    (void)w;
    return 0;
}

void bf16_linear_forward(struct bf16_ctx *c, const struct bf16_weight *w, float *y, const float *x, int N,
                         int accumulate)
{
    (void)c, (void)w, (void)y, (void)x, (void)N, (void)accumulate;
    unavailable();
}

void bf16_linear_backward_dx(struct bf16_ctx *c, struct bf16_weight *w, float *dx, const float *dy, int N,
                             int accumulate)
{
    (void)c, (void)w, (void)dx, (void)dy, (void)N, (void)accumulate;
    unavailable();
}

#endif

int bf16_runs_here(void)
{
    struct bf16_ctx *c = NULL;
    struct err e;
    err_clear(&e);
    if (bf16_ctx_create(&c, &e) != 0)
        return 0;
    bf16_ctx_free(c);
    return 1;
}
