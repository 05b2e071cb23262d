/* The routing functions of Qu, Tuytelaars and Moens (ECCV 2024; docs/methods.md) inside a low-rank
 * bottleneck: x_t = W_down x_H (the rows of the text/LM stream) and x_v = W_down x_R (one visual vector
 * per example, through the same W_down) are combined before the up projection (or the adapter's
 * non-linearity).  Per example b and row t of that example (T rows each, r columns):
 *
 *   mul     g = x_t (.) x_v                          dx_t = dg (.) x_v,      dx_v = sum_t dg (.) x_t
 *   add     g = x_t + x_v                            dx_t = dg,              dx_v = sum_t dg
 *   proj    g = (x_t x_v^T) x_v = <x_t, x_v> x_v     dx_t = <dg, x_v> x_v,
 *                                                    dx_v = sum_t <dg, x_v> x_t + <x_t, x_v> dg
 *   expand  g = x_t x''_v = (sum_i x_t[i]) x_v       dx_t[i] = <dg, x_v> for every i,
 *           (x''_v: x_v repeated as r rows)          dx_v = sum_t (sum_i x_t[i]) dg
 *
 * With one pooled visual vector, proj's x_v^T is the authors' reshape and transpose alike. */
#ifndef MIXPHM_NN_ROUTING_H
#define MIXPHM_NN_ROUTING_H

/* The same order as peft.routing (none first). */
enum route_kind { ROUTE_NONE, ROUTE_MUL, ROUTE_ADD, ROUTE_PROJ, ROUTE_EXPAND };

/* g [B*T, r] from xt [B*T, r] and xv [B, r] (g may not alias xt).  ROUTE_NONE copies xt. */
void route_forward(int kind, float *g, const float *xt, const float *xv, int B, int T, int r);
/* dxt [B*T, r] and dxv [B, r] are overwritten (no aliasing with dg, xt, xv). */
void route_backward(int kind, float *dxt, float *dxv, const float *dg, const float *xt, const float *xv, int B, int T,
                    int r);

#endif
