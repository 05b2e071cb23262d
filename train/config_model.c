/* From the configuration to the backbone's dimensions and options (model/ knows nothing of YAML). */
#include "train/config_model.h"

#include <math.h>
#include <string.h>

/* The model/ preset of model.size (custom starts from t5-base; config_validate sees that every
 * dimension is set). */
static const char *size_preset(const struct config *cfg)
{
    static const char *const preset[] = {"tiny", "t5-small", "t5-base"};
    return cfg->model.size >= 0 && cfg->model.size < MODEL_CUSTOM ? preset[cfg->model.size] : "t5-base";
}

/* The backbone's d_model: the configured one, or the size preset's. */
static int config_d_model(const struct config *cfg)
{
    struct vlt5_dims d;
    vlt5_preset(size_preset(cfg), &d);
    return cfg->model.d_model ? (int)cfg->model.d_model : d.d_model;
}

/* peft.width_reference: a width written for a backbone of d_model width_reference, scaled to this one
 * (rounded to the nearest multiple of `multiple`, at least one multiple), so that every method keeps
 * its share of the backbone's width. */
static int scaled_width(const struct config *cfg, long width, int multiple)
{
    if (cfg->peft.width_reference <= 0)
        return (int)width;
    if (multiple < 1)
        multiple = 1;
    double w = (double)width * config_d_model(cfg) / (double)cfg->peft.width_reference;
    long m = lround(w / multiple);
    return (int)(m < 1 ? multiple : m * multiple);
}

void config_peft_options(const struct config *cfg, struct peft_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = cfg->peft.method;
    o->routing = cfg->peft.routing;
    o->consistency = (float)cfg->peft.consistency;
    /* bf16 has bits of its own anyway: there the faster grouping; fp32 keeps its earlier results */
    o->reg_one_product = cfg->model.precision == PRECISION_BF16;
    o->lora = (struct peft_lora_options){.r = scaled_width(cfg, cfg->peft.lora.r, 1),
                                         .alpha = (float)cfg->peft.lora.alpha,
                                         .dropout = (float)cfg->peft.lora.dropout};
    o->adapter.bottleneck = scaled_width(cfg, cfg->peft.adapter.bottleneck, 1);
    o->compacter = (struct peft_compacter_options){.bottleneck = scaled_width(cfg, cfg->peft.compacter.bottleneck,
                                                                              (int)cfg->peft.compacter.phm_dim),
                                                   .phm_dim = (int)cfg->peft.compacter.phm_dim,
                                                   .rank = scaled_width(cfg, cfg->peft.compacter.rank, 1),
                                                   .phm_init_std = (float)cfg->peft.compacter.phm_init_std};
    o->adamix = (struct peft_adamix_options){.bottleneck = scaled_width(cfg, cfg->peft.adamix.bottleneck, 1),
                                             .experts = (int)cfg->peft.adamix.experts,
                                             .share_up = cfg->peft.adamix.share_up,
                                             .share_down = cfg->peft.adamix.share_down};
    o->mixphm = (struct peft_mixphm_options){.bottleneck = scaled_width(cfg, cfg->peft.mixphm.bottleneck,
                                                                           (int)cfg->peft.mixphm.phm_dim),
                                             .phm_dim = (int)cfg->peft.mixphm.phm_dim,
                                             .rank = scaled_width(cfg, cfg->peft.mixphm.rank, 1),
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
    vlt5_preset(size_preset(cfg), d);
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
