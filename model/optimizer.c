#include "model/optimizer.h"

#include <math.h>
#include <string.h>

int param_no_decay(const char *name)
{
    return strstr(name, "bias") != NULL || strstr(name, "LayerNorm.weight") != NULL;
}

double params_grad_norm(const struct params *p)
{
    return p->grad ? sqrt(sum_squares(p->grad, p->n_train)) : 0.0;
}

double params_clip_grad(struct params *p, double max_norm)
{
    const double norm = params_grad_norm(p);
    const float f = clip_factor(norm, max_norm);
    if (f != 1.0f)
        scale_floats(p->grad, p->n_train, f);
    return norm;
}

void params_adamw_step(struct params *p, double lr, double weight_decay, const struct adamw_hparams *h,
                       const unsigned char *updated)
{
    for (int i = 0; i < p->n; i++) {
        const struct param_tensor *pt = &p->t[i];
        if (!pt->trainable || (updated && !updated[i]))
            continue;
        const size_t o = pt->offset;
        adamw_update(p->train + o, p->grad + o, p->adam_m + o, p->adam_v + o, pt->numel, lr,
                     param_no_decay(pt->name) ? 0.0 : weight_decay, h, ++p->adam_step[i]);
    }
}
