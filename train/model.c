#include "train/model.h"

#include <string.h>

#include "train/config_model.h"

int model_setup(struct model_ctx *mc, const struct config *run_cfg, int vocab, int feat_dim, enum model_kind kind,
                const struct model_sizes *sz, struct err *e)
{
    memset(mc, 0, sizeof *mc);
    struct vlt5_dims dims;
    struct vlt5_options opts;
    struct peft_options po;
    if (config_vlt5_dims(run_cfg, vocab, feat_dim, &dims, e) != 0)
        return -1;
    config_vlt5_options(run_cfg, &opts);
    config_peft_options(run_cfg, &po);
    if (kind != MODEL_OF_RUN) {
        po.method = PEFT_FULL;
        po.routing = ROUTING_NONE;
        po.consistency = 0; /* the backbone's pretraining is not the method's training */
        if (kind == MODEL_FULL)
            opts.precision = VLT5_FP32; /* it trains every tensor; bf16 is for a frozen backbone */
    }
    if (kind != MODEL_BARE)
        peft_backbone_options(&po, &opts); /* full fine-tuning and BitFit change the backbone */
    opts.max_batch = sz->max_batch;
    opts.max_text = sz->max_text;
    opts.max_target = sz->max_target;
    opts.max_generate = sz->max_generate;
    params_init(&mc->params);
    if (vlt5_register(&mc->model, &mc->params, &dims, &opts, e) != 0 ||
        peft_create(&mc->peft, &po, &mc->model, &mc->params, e) != 0) {
        params_free(&mc->params);
        return -1;
    }
    params_alloc(&mc->params);
    vlt5_bind(&mc->model);
    peft_bind(mc->peft);
    return 0;
}

int model_load_backbone(struct model_ctx *mc, const char *path, struct err *e)
{
    struct vlt5_dims w;
    if (vlt5_dims_from_weights(path, &w, e) != 0)
        return -1;
    const struct vlt5_dims *d = &mc->model.dims;
    struct {
        const char *name;
        int file, model;
    } c[] = {{"d_model", w.d_model, d->d_model},   {"n_heads", w.n_heads, d->n_heads},
             {"d_kv", w.d_kv, d->d_kv},            {"d_ff", w.d_ff, d->d_ff},
             {"encoder layers", w.n_enc_layers, d->n_enc_layers},
             {"decoder layers", w.n_dec_layers, d->n_dec_layers},
             {"vocabulary", w.vocab, d->vocab},    {"region feature size", w.feat_dim, d->feat_dim}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].file != c[i].model)
            return err_set(e, "%s: the backbone has %s %d, but the config and the data give %d (model.size, "
                              "model.checkpoint and the dataset must belong together)",
                           path, c[i].name, c[i].file, c[i].model);
    return vlt5_load(&mc->model, path, e);
}

void model_teardown(struct model_ctx *mc)
{
    peft_free(mc->peft);
    vlt5_free(&mc->model);
    params_free(&mc->params);
    memset(mc, 0, sizeof *mc);
}
