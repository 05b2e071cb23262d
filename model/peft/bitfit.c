/* BitFit (Ben Zaken et al.; docs/methods.md): the backbone registers a trainable bias on every block
 * linear (q, k, v, o of every attention, wi and wo of every FFN) when vlt5_options.linear_bias is set
 * (peft_backbone_options); they start at zero.  The authors' code goes further: its BitFit also adds
 * biases to every T5 layer norm and, since it trains every parameter whose name contains "bias", the
 * relative position tables; docs/methods.md says why those are left out. */
#include "model/peft/peft_internal.h"

static void bitfit_init(struct peft *pf, uint64_t seed)
{
    (void)seed;
    for (int h = 0; h < pf->params->n; h++)
        if (pf->params->t[h].owner == PARAM_PEFT && pf->params->t[h].trainable)
            peft_fill_zero(pf, h);
}

const struct peft_method_ops peft_bitfit_ops = {.init = bitfit_init};
