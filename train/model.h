/* The model of one training run, as its config describes it: the VL-T5 backbone with the run's PEFT
 * method, buffers sized once for the run, and the backbone's weights.  Used by train, eval and analyze
 * (only stages/ assembles models from a config: model/ knows nothing of YAML). */
#ifndef MIXPHM_TRAIN_MODEL_H
#define MIXPHM_TRAIN_MODEL_H

#include "model/params.h"
#include "model/peft/peft.h"
#include "model/vlt5.h"
#include "run/config.h"

struct model_ctx {
    struct params params;
    struct vlt5 model;
    struct peft *peft;
};

struct model_sizes {
    int max_batch;    /* examples per forward on this rank */
    int max_text;     /* question (or pretraining input) tokens */
    int max_target;   /* answer (or pretraining target) tokens */
    int max_generate; /* tokens greedy decoding may produce */
};

/* What model_setup builds besides the backbone. */
enum model_kind {
    MODEL_OF_RUN,   /* the run's PEFT method on the frozen backbone (or full fine-tuning when it says so) */
    MODEL_FULL,     /* every backbone tensor trained, no method (the synthetic backbone's pretraining) */
    MODEL_BARE      /* the frozen backbone alone, nothing to train (zero-shot evaluation) */
};

/* Builds the backbone (dimensions from the config, vocabulary and region feature size from the data)
 * and, for MODEL_OF_RUN, the run's method; no weights yet. */
int model_setup(struct model_ctx *mc, const struct config *run_cfg, int vocab, int feat_dim, enum model_kind kind,
                const struct model_sizes *sz, struct err *e);
/* Loads backbone weights, after checking that the file's dimensions are the config's. */
int model_load_backbone(struct model_ctx *mc, const char *path, struct err *e);
void model_teardown(struct model_ctx *mc);

#endif
