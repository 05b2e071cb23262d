/* The parameter registry: every tensor of the model, by name.
 *
 * The backbone (model/vlt5*) and the PEFT methods register their tensors with a name (the PyTorch
 * state-dict key, e.g. "encoder.block.0.layer.0.SelfAttention.q.weight"), a shape, an owner and a
 * trainable flag.  params_alloc() then lays them out in two contiguous buffers:
 *
 *     train   [n_train]   every trainable tensor, with grad, adam_m and adam_v in the same layout
 *     frozen  [n_frozen]  every frozen tensor: no gradient, no optimizer state
 *
 * Each tensor is a view (offset into one of them); offsets are aligned to 16 floats (64 bytes) and the
 * padding between tensors stays zero, so a bucketed allreduce can reduce any slice of `grad` and an
 * optimizer can run over whole tensors.  Registration order is layout order. */
#ifndef MIXPHM_MODEL_PARAMS_H
#define MIXPHM_MODEL_PARAMS_H

#include <stddef.h>

#include "base/err.h"

#define PARAM_NAME_MAX 160
#define PARAM_MAX_DIMS 4
#define PARAM_ALIGN 16 /* floats */

/* Who registered a tensor (a bit mask in the functions that select tensors). */
enum param_owner { PARAM_BACKBONE = 1, PARAM_PEFT = 2 };
#define PARAM_ANY (PARAM_BACKBONE | PARAM_PEFT)

struct param_tensor {
    char name[PARAM_NAME_MAX];
    int ndim;
    int shape[PARAM_MAX_DIMS];
    size_t numel;
    int owner;     /* enum param_owner */
    int trainable; /* 1: in `train` (with grad and Adam state); 0: in `frozen` */
    size_t offset; /* in floats, into train or frozen */
    int detached;  /* frozen and in its own allocation `own` (params_set_detached), NULL once released */
    float *own;
};

struct params {
    struct param_tensor *t;
    int n, cap;
    int allocated;
    size_t n_train, n_frozen; /* floats, padding included */
    float *train;             /* [n_train] */
    float *grad;              /* [n_train] */
    float *adam_m, *adam_v;   /* [n_train] */
    long *adam_step;          /* [n]: AdamW updates of each tensor so far (HF AdamW counts per tensor) */
    float *frozen;            /* [n_frozen] */
};

void params_init(struct params *p);
void params_free(struct params *p);

/* Registers a tensor and returns its handle (index); -1 for a duplicate or malformed name or shape,
 * or after params_alloc. */
int params_add(struct params *p, const char *name, int ndim, const int *shape, int owner, int trainable,
               struct err *e);
/* Handle of `name`, or -1. */
int params_find(const struct params *p, const char *name);
/* Before params_alloc: makes every tensor whose name contains `pattern` ("" for all) and whose owner
 * is in `owner_mask` trainable or frozen.  Returns how many tensors changed. */
int params_set_trainable(struct params *p, const char *pattern, int owner_mask, int trainable);

/* Before params_alloc: a frozen tensor gets its own allocation instead of a place in `frozen`, so
 * that params_release can free its values once another form of them replaces them (the bf16 copies
 * of model.precision bf16).  No effect on a tensor that is trainable at params_alloc. */
void params_set_detached(struct params *p, int h);
/* Frees a detached tensor's values: params_data returns NULL for it afterwards, and loading or saving
 * it is refused (params_h5.h). */
void params_release(struct params *p, int h);

/* Lays out and allocates (zeroed) the buffers.  Only registered tensors use memory. */
void params_alloc(struct params *p);

/* NULL for a released tensor. */
float *params_data(const struct params *p, int h);
/* NULL for a frozen tensor. */
float *params_grad(const struct params *p, int h);
/* Number of values (no padding) of the tensors with the given trainability (-1: both) and owners. */
size_t params_count(const struct params *p, int trainable, int owner_mask);
void params_zero_grad(struct params *p);
/* "[3072, 768]" */
void params_shape_str(const struct param_tensor *t, char *out, size_t n);

#endif
