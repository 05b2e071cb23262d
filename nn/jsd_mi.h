/* The Jensen-Shannon mutual-information estimator of Deep InfoMax / InfoGraph as MixPHM's code uses it
 * (r2_loss.py MILoss.compute_mi; docs/methods.md): tokens u_m against pooled vectors g_j, critic
 * s_mj = <u_m, g_j>, positive pair (m, own(m)), negatives (m, j) for every other j:
 *
 *   E_pos = (1/M) sum_m [log 2 - sp(-s_m,own)]
 *   E_neg = 1/(M (B-1)) sum_m sum_{j != own} [sp(s_mj) - log 2]        (sp = softplus)
 *   L     = E_neg - E_pos
 *
 * M (all tokens) and B (all pooled vectors) are global counts; a rank passes its own tokens with the
 * weights w_pos = 1/M and w_neg = 1/(M (B-1)) (times the loss weight) and gets its share of L and of
 * the gradients: dg is a partial sum to be added over ranks.  With B = 1 there are no negatives; the
 * authors' code divides 0 by 0 there, this term is taken as 0 instead. */
#ifndef MIXPHM_NN_JSD_MI_H
#define MIXPHM_NN_JSD_MI_H

/* u [n, d], own [n] (row of g of each token's example), g [B, d].  Returns this part of the loss;
 * du [n, d] and dg [B, d] are added to (either may be NULL); scratch [n * B]. */
double jsd_mi(const float *u, const int *own, const float *g, int n, int B, int d, double w_pos, double w_neg,
              float *du, float *dg, float *scratch);

#endif
