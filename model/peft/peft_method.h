/* What a PEFT method provides to model/peft/peft.c: one table of functions per method (every entry may
 * be NULL where the method has nothing to do).  Methods live in their own files (lora.c, adapter.c,
 * mixphm.c, ...) and are listed in peft.c's table. */
#ifndef MIXPHM_MODEL_PEFT_PEFT_METHOD_H
#define MIXPHM_MODEL_PEFT_PEFT_METHOD_H

#include "model/peft/peft.h"

struct peft_method_ops {
    /* Registers the tensors and attaches the hooks; sets pf->method. */
    int (*create)(struct peft *pf, struct err *e);
    void (*bind)(struct peft *pf);
    void (*init)(struct peft *pf, uint64_t seed);
    void (*eval_prepare)(struct peft *pf);
    void (*destroy)(struct peft *pf);
    void (*reg_sizes)(const struct peft *pf, size_t *stats_len, size_t *pooled_width);
    void (*reg_local)(struct peft *pf, const struct vlt5 *m, float *stats, float *pooled);
    double (*reg_backward)(struct peft *pf, const struct vlt5 *m, const float *stats_sum, const float *pooled_all,
                           long global_batch, uint64_t ex0, float *dpooled_all, double *loss_partial);
    void (*reg_pooled_grad)(struct peft *pf, struct vlt5 *m, const float *dpooled_sum, uint64_t ex0);
    size_t (*reg_keep_size)(const struct peft *pf, int B);
    void (*reg_keep)(const struct peft *pf, const struct vlt5 *m, float *kept);
    double (*reg_kept_mi)(struct peft *pf, const float *kept, const float *stats_sum, const float *pooled_all,
                          long global_batch, uint64_t ex0, float *dpooled_all);
    /* The analysis' representations (peft.h); NULL: the method has no adapter after the FFN. */
    int (*repr_enable)(struct peft *pf, struct err *e);
    void (*repr_pool)(const struct peft *pf, const struct vlt5 *m, int stack, int layer, float *h, float *ha);
    /* Activation sets (peft.h); NULL: the method cannot keep them. */
    int (*sets_alloc)(struct peft *pf, int n, int B);
    void (*set_select)(struct peft *pf, int i);
    size_t (*set_bytes)(const struct peft *pf, int B);
};

#endif
