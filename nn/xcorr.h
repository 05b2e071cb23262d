/* The redundancy-reduction term of MixPHM (the authors' r2_loss.py; docs/methods.md): the off-diagonal
 * cross-correlation between two row-normalised token matrices, written as local sums and a final
 * reduction so that the tokens may be spread over ranks.
 *
 *   rows:      u^ = u / max(||u||, 1e-12)            (F.normalize(dim=1): no centring)
 *   local sum: C [d, d] += U^^T R^                  over this rank's tokens (summed over ranks after)
 *   loss:      scale * sum_{p != q} C_pq^2          dC = 2 scale C off the diagonal, 0 on it
 *   backward:  dU^ = R^ dC^T,  dR^ = U^ dC,  then through the normalisation:
 *              dx = (dy - y <y, dy>) / ||x||  (||x|| > eps),  dy / eps  otherwise. */
#ifndef MIXPHM_NN_XCORR_H
#define MIXPHM_NN_XCORR_H

#define ROWNORM_EPS 1e-12

/* y [n, d] = rows of x over max(||row||, eps); norm [n] keeps max(||row||, eps). */
void rownorm_forward(float *y, float *norm, const float *x, int n, int d);
/* dx [n, d] (+)= the gradient through the normalisation of dy [n, d], given y and norm. */
void rownorm_backward(float *dx, const float *dy, const float *y, const float *norm, int n, int d, int accumulate);

/* C [d, d] += U^T R for U, R [n, d]. */
void xcorr_accumulate(float *C, const float *U, const float *R, int n, int d);
/* Returns scale * sum_{p != q} C_pq^2 (in double); dC [d, d] = its gradient (NULL: not wanted). */
double offdiag_sq_loss(const float *C, float *dC, int d, double scale);
/* dU [n, d] = R dC^T and dR [n, d] = U dC (overwritten). */
void xcorr_backward(float *dU, float *dR, const float *dC, const float *U, const float *R, int n, int d);

#endif
