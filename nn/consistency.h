/* Half of AdaMix's consistency loss (the authors' symmetric_KL_loss; docs/methods.md): for each row,
 * the KL divergence from the detached distribution of another pass to this pass's distribution,
 *
 *     L = scale * sum_rows sum_v q_v (log q_v - log p_v),    p = softmax(z), q = softmax(target)
 *     dL/dz = scale * (p - q)                                 (no gradient into target)
 *
 * which is F.kl_div(log_softmax(z), softmax(target.detach()), reduction="batchmean") with
 * scale = 1/rows.  The symmetric loss 0.5 [KL(q||p) + KL(p||q)] with both targets detached is two calls,
 * one per pass, each with scale 0.5 / rows. */
#ifndef MIXPHM_NN_CONSISTENCY_H
#define MIXPHM_NN_CONSISTENCY_H

/* z, target [rows, V]; dz [rows, V] is overwritten (it may be z itself) or, with accumulate, added to
 * (NULL: no gradient).  Returns the loss in double. */
double kl_to_target(const float *z, const float *target, float *dz, int rows, int V, double scale, int accumulate);

#endif
