/* What the method files of model/peft/ share (not an API): tensor registration under the authors'
 * state-dict names, initialisers keyed on (seed, tensor name), the rows and dropout ids of a hook
 * call, and the expert draw. */
#ifndef MIXPHM_MODEL_PEFT_PEFT_INTERNAL_H
#define MIXPHM_MODEL_PEFT_PEFT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/peft/peft.h"
#include "model/peft/peft_method.h"

#define PEFT_MAX_EXPERTS 16

extern const struct peft_method_ops peft_bitfit_ops;
extern const struct peft_method_ops peft_lora_ops;
extern const struct peft_method_ops peft_adapter_ops;

/* "encoder.block.3.layer.1" (the sub-layer's module path in the state dict: layer 0 self-attention,
 * 1 cross-attention in the decoder, the FFN last). */
void peft_site_prefix(const struct vlt5_site *s, char *out, size_t n);
/* A trainable PARAM_PEFT tensor named by the format; returns its handle or -1. */
int peft_add(struct peft *pf, struct err *e, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void peft_mark_used(struct peft *pf, int h);

/* Whether a hook call at the site runs over encoder rows (encoder sites and the decoder's
 * cross-attention k and v); the most rows such a call has; the canonical dropout row id of each of
 * the T rows of an example (text t, region DROPOUT_VIS_BASE + n, decoder position pos0 + t). */
int peft_encoder_rows(const struct vlt5_site *s);
int peft_max_rows(const struct vlt5 *m, int encoder_rows);
int peft_max_T(const struct vlt5 *m);
void peft_row_ids(const struct vlt5 *m, int encoder_rows, const struct vlt5_hook_batch *b, int32_t *ids);
/* The method's own dropout site of a hook site (kind: which dropout of the module). */
uint32_t peft_drop_site(const struct vlt5_site *s, int kind);
/* The expert of projection `proj` (0 down, 1 up) among E at a site in a training pass. */
int peft_expert(const struct peft *pf, const struct vlt5_site *s, const struct vlt5_hook_batch *b, int proj, int E);

/* Initialisers: values are pure functions of (seed, tensor name, index). */
void peft_fill_uniform(struct peft *pf, int h, double bound, uint64_t seed);
void peft_fill_normal(struct peft *pf, int h, double std, uint64_t seed);
/* xavier_uniform_(gain) applied to each slice [a, b] of an [n, a, b] tensor: bound
 * gain * sqrt(6 / (a + b)). */
void peft_fill_xavier_slices(struct peft *pf, int h, double gain, uint64_t seed);
void peft_fill_zero(struct peft *pf, int h);
void peft_copy_tensor(struct peft *pf, int dst, int src);

#endif
