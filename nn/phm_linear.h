/* The PHM linear layer with low-rank factors (Compacter's and MixPHM's "PHMLinear", docs/methods.md):
 *
 *     y[N, out] = x[N, in] H + b,     H[in, out] = sum_{i<n} S_i (x) W_i,     W_i = T_i U_i
 *     S [n, n, n]        S_i[a, c] = S[i][a][c]  (the "phm rule")
 *     T [n, in/n, r]     T_i         ("W_left")
 *     U [n, r, out/n]    U_i         ("W_right")
 * Block (a, c) of S_i (x) W_i is S_i[a, c] W_i: input index a*(in/n) + k, output index c*(out/n) + p.
 *
 * H is never formed.  With x read as [N*n, in/n] (row (m, a) = block a of row m):
 *     P[(m,a), i*r+j] = (x_a T_i)[m, j]                     n GEMMs into column blocks of P [N*n, n*r]
 *     R[(m,c), i*r+j] = sum_a S_i[a, c] P[(m,a), i*r+j]     the n x n mixing, O(N n^3 r)
 *     y[(m,c), :]     = R[(m,c), :] [U_0; ...; U_{n-1}]     one GEMM: U is already [n*r, out/n]
 * so a projection costs N*in*n*r + N*n*r*out multiply-adds instead of N*in*out.  P and R are kept
 * (`cache`, 2 N n^2 r floats) for backward, which runs the same steps in reverse:
 *     db += sum_m dy;  dU += R^T dy;  dR = dy U^T;  dS_i[a,c] += <dR[(.,c), i], P[(.,a), i]>;
 *     dP[(m,a), i] = sum_c S_i[a,c] dR[(m,c), i];  dT_i += x_a^T dP_i;  dx_a (+)= dP_i T_i^T. */
#ifndef MIXPHM_NN_PHM_LINEAR_H
#define MIXPHM_NN_PHM_LINEAR_H

#include <stddef.h>

struct phm_dims {
    int in, out; /* both divisible by n */
    int n;       /* PHM dimension */
    int r;       /* rank of each W_i */
};

/* Floats of the forward cache (P and R) and of backward's scratch (dR and dP) for N rows. */
size_t phm_cache_floats(int N, const struct phm_dims *p);
size_t phm_scratch_floats(int N, const struct phm_dims *p);
/* Parameters of one projection (T, U and b; S is shared and not counted). */
long phm_param_count(const struct phm_dims *p);

/* y[N, out] = x H + b (b may be NULL); cache [phm_cache_floats]. */
void phm_linear_forward(float *y, const float *x, const float *S, const float *T, const float *U, const float *b,
                        int N, const struct phm_dims *p, float *cache);
/* Gradients accumulate into dS, dT, dU, db (any may be NULL); dx[N, in] is overwritten, or added to
 * with accumulate_dx (NULL: not wanted).  scratch [phm_scratch_floats]. */
void phm_linear_backward(float *dx, float *dS, float *dT, float *dU, float *db, const float *dy, const float *x,
                         const float *S, const float *T, const float *U, int N, const struct phm_dims *p,
                         const float *cache, float *scratch, int accumulate_dx);

/* H [in, out] formed explicitly, the plain Kronecker sum (tests). */
void phm_weight(float *H, const float *S, const float *T, const float *U, const struct phm_dims *p);

#endif
