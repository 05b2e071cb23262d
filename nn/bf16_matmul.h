/* Products with frozen bf16 weights on oneDNN (model.precision: bf16).
 *
 * A frozen weight W [out, in] (PyTorch's layout, as nn/linear.h) is converted once to bf16 and reordered
 * into the layout oneDNN's matmul prefers for this CPU (its `any` format: blocked for AMX and AVX-512
 * BF16), so it takes half the memory of the fp32 tensor.  Each product converts its fp32 input to bf16
 * (round to nearest even), multiplies with fp32 accumulation and writes fp32:
 *
 *   forward    y[N, out]  (+)= bf16(x[N, in])   W^T
 *   backward   dx[N, in]  (+)= bf16(dy[N, out]) W        (a second layout of W, made at the first call)
 *
 * The context owns oneDNN's engine and stream, one scratchpad, and the primitives, created once per
 * shape (rows, in, out, accumulate) and kept in a small table: the steady state creates none.  A run
 * with more distinct shapes than the table holds (BF16_MAX_PRIMITIVES) empties it and starts again,
 * which costs about 0.4 ms per shape (oneDNN keeps its own cache of recent ones too).
 *
 * Every row of a product gets the same result whatever the number of rows (so a batch split over
 * ranks sums to the whole batch's gradients, as in fp32): oneDNN 2.6's AMX kernels give a row a result
 * that depends on the rows only when the sum runs over more than 768 inputs (it then splits it by a
 * rule of its own) or there are fewer than 5 rows (another kernel).  So the weights are packed in
 * chunks of BF16_K_CHUNK inputs whose sums are added in order, and a product of fewer than
 * BF16_MIN_ROWS rows runs on rows padded with zeros.  tests/unit/test_nn_bf16 checks this.
 *
 * Set-up (bf16_ctx_create, bf16_weight_pack) reports failures through struct err: no oneDNN in the
 * build (make DNNL=0), or a CPU for which oneDNN has no bf16 matmul.  A product that fails later is an
 * internal error (the same shapes were accepted at set-up): it prints the shape and oneDNN's status
 * and aborts, as running out of memory does.
 *
 * Threads: oneDNN's OpenMP pool uses OMP_NUM_THREADS when it is set, else OpenBLAS's thread count
 * (mpi/world.c gives each of several ranks per node one), so one setting governs both libraries. */
#ifndef MIXPHM_NN_BF16_MATMUL_H
#define MIXPHM_NN_BF16_MATMUL_H

#include <stddef.h>

#include "base/err.h"

#define BF16_MAX_PRIMITIVES 1024
#define BF16_K_CHUNK 768 /* t5-base's d_model: its products are one chunk */
#define BF16_MIN_ROWS 16

struct bf16_ctx;
struct bf16_weight;

/* 1 when mixphm was built with oneDNN (DNNL=1, the default). */
int bf16_built(void);
/* 1 when bf16_ctx_create succeeds here: built with oneDNN and this CPU gets a bf16 matmul (AVX-512). */
int bf16_runs_here(void);
/* The ISA oneDNN dispatches to on this CPU ("avx512_core_amx", "avx2", ...; "none" without oneDNN). */
const char *bf16_cpu_isa(void);

/* The engine and stream; checks that this CPU gets a bf16 matmul from oneDNN (refused, naming the CPU
 * flags it needs, when it does not). */
int bf16_ctx_create(struct bf16_ctx **out, struct err *e);
void bf16_ctx_free(struct bf16_ctx *c);
/* One line for the start-up log: oneDNN's version, the ISA it dispatches to, whether bf16 is native
 * or emulated, the matmul kernel and the threads. */
void bf16_ctx_describe(const struct bf16_ctx *c, char *out, size_t n);
/* 1 when the CPU has bf16 instructions oneDNN uses (AVX-512 BF16 or AMX); 0 when it emulates them. */
int bf16_ctx_native(const struct bf16_ctx *c);
/* The OpenMP threads oneDNN's products run on (1 without an OpenMP runtime): the model's own
 * row-parallel loops use as many (model/vlt5_parallel.h). */
int bf16_ctx_threads(const struct bf16_ctx *c);
/* Primitives created so far (the tests check that a repeated step creates none), and how many of them
 * run oneDNN's reference code instead of a JIT kernel (the tests check none do). */
long bf16_ctx_primitives_created(const struct bf16_ctx *c);
long bf16_ctx_reference_kernels(const struct bf16_ctx *c);

/* W [out, in] fp32, row-major: packed for the forward product; W may be freed afterwards. */
int bf16_weight_pack(struct bf16_ctx *c, const float *W, int out, int in, struct bf16_weight **w, struct err *e);
void bf16_weight_free(struct bf16_weight *w);
/* Bytes of the packed layouts made so far (forward; backward once it was used). */
size_t bf16_weight_bytes(const struct bf16_weight *w);

/* y[N, out] = bf16(x[N, in]) W^T, or += with accumulate. */
void bf16_linear_forward(struct bf16_ctx *c, const struct bf16_weight *w, float *y, const float *x, int N,
                         int accumulate);
/* dx[N, in] = bf16(dy[N, out]) W, or += with accumulate; makes W's second layout at the first call. */
void bf16_linear_backward_dx(struct bf16_ctx *c, struct bf16_weight *w, float *dx, const float *dy, int N,
                             int accumulate);

/* x rounded to the nearest bf16 (ties to even) and widened back: what the products see of their
 * inputs and weights (for tests and references). */
float bf16_round(float x);

#endif
