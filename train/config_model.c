/* From the configuration to the backbone's dimensions and options (model/ knows nothing of YAML). */
#include "train/config_model.h"

#include <string.h>

void config_peft_options(const struct config *cfg, struct peft_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = cfg->peft.method;
    o->routing = cfg->peft.routing;
    o->consistency = (float)cfg->peft.consistency;
    o->lora = (struct peft_lora_options){.r = (int)cfg->peft.lora.r,
                                         .alpha = (float)cfg->peft.lora.alpha,
                                         .dropout = (float)cfg->peft.lora.dropout};
    o->adapter.bottleneck = (int)cfg->peft.adapter.bottleneck;
    o->compacter = (struct peft_compacter_options){.bottleneck = (int)cfg->peft.compacter.bottleneck,
                                                   .phm_dim = (int)cfg->peft.compacter.phm_dim,
                                                   .rank = (int)cfg->peft.compacter.rank,
                                                   .phm_init_std = (float)cfg->peft.compacter.phm_init_std};
    o->adamix = (struct peft_adamix_options){.bottleneck = (int)cfg->peft.adamix.bottleneck,
                                             .experts = (int)cfg->peft.adamix.experts,
                                             .share_up = cfg->peft.adamix.share_up,
                                             .share_down = cfg->peft.adamix.share_down};
    o->mixphm = (struct peft_mixphm_options){.bottleneck = (int)cfg->peft.mixphm.bottleneck,
                                             .phm_dim = (int)cfg->peft.mixphm.phm_dim,
                                             .rank = (int)cfg->peft.mixphm.rank,
                                             .experts = (int)cfg->peft.mixphm.experts,
                                             .share_down = cfg->peft.mixphm.share_down,
                                             .share_up = cfg->peft.mixphm.share_up,
                                             .dropout = (float)cfg->peft.mixphm.dropout,
                                             .alpha = (float)cfg->peft.mixphm.alpha,
                                             .phm_init_std = (float)cfg->peft.mixphm.phm_init_std,
                                             /* regularizer: false is the ablation without L_Ra */
                                             .red_weight = cfg->peft.mixphm.regularizer
                                                               ? (float)cfg->peft.mixphm.red_weight : 0.0f,
                                             .mi_weight = cfg->peft.mixphm.regularizer
                                                              ? (float)cfg->peft.mixphm.mi_weight : 0.0f,
                                             .red_lambda = (float)cfg->peft.mixphm.red_lambda};
    o->expert_rule = PEFT_EXPERTS_RANDOM;
}

int config_vlt5_dims(const struct config *cfg, int vocab, int feat_dim, struct vlt5_dims *d, struct err *e)
{
    static const char *const preset[] = {"tiny", "t5-small", "t5-base"};
    if (cfg->model.size >= 0 && cfg->model.size < MODEL_CUSTOM)
        vlt5_preset(preset[cfg->model.size], d);
    else
        vlt5_preset("t5-base", d); /* custom: every dimension below is set (config_validate checks it) */
    if (cfg->model.d_model)
        d->d_model = (int)cfg->model.d_model;
    if (cfg->model.n_heads)
        d->n_heads = (int)cfg->model.n_heads;
    if (cfg->model.d_kv)
        d->d_kv = (int)cfg->model.d_kv;
    if (cfg->model.d_ff)
        d->d_ff = (int)cfg->model.d_ff;
    if (cfg->model.n_layers)
        d->n_enc_layers = d->n_dec_layers = (int)cfg->model.n_layers;
    d->vocab = vocab;
    d->feat_dim = feat_dim;
    if (vlt5_dims_check(d, e))
        return err_prefix(e, "model.size %s", config_enum_name("model.size", cfg->model.size));
    return 0;
}

void config_vlt5_options(const struct config *cfg, struct vlt5_options *o)
{
    memset(o, 0, sizeof *o);
    struct peft_options po;
    config_peft_options(cfg, &po);
    peft_backbone_options(&po, o); /* full fine-tuning and BitFit are backbone options */
    o->visual_bias = cfg->model.visual_bias;
    o->dropout = (float)cfg->model.dropout;
    o->precision = cfg->model.precision == PRECISION_BF16 ? VLT5_BF16 : VLT5_FP32;
}
