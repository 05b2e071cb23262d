/* The backbone as the configuration describes it.
 *
 * config_vlt5_dims: the size preset (model.size) with every non-zero model.d_model, n_heads, d_kv,
 * d_ff, n_layers overriding it; the vocabulary and the region feature size come from the data or the
 * checkpoint (the synthetic benchmark has its own word-level vocabulary).
 * config_vlt5_options: model.dropout and model.visual_bias; full fine-tuning trains the backbone and
 * BitFit adds a bias to every block linear.  The caller sets the buffer sizes (max_batch, ...).
 * config_peft_options: peft.method, peft.routing and the methods' hyperparameters. */
#ifndef MIXPHM_TRAIN_CONFIG_MODEL_H
#define MIXPHM_TRAIN_CONFIG_MODEL_H

#include "model/peft/peft.h"
#include "model/vlt5.h"
#include "run/config.h"

/* The PEFT method and its hyperparameters (peft.*). */
void config_peft_options(const struct config *cfg, struct peft_options *o);
int config_vlt5_dims(const struct config *cfg, int vocab, int feat_dim, struct vlt5_dims *d, struct err *e);
void config_vlt5_options(const struct config *cfg, struct vlt5_options *o);

#endif
