/* mixphm's HDF5 weight format (version 1).
 *
 *   /<name>   float32 dataset per tensor, named exactly like the PyTorch state-dict key, in the
 *             tensor's shape (PyTorch layout: Linear weights are [out, in])
 *   attributes of the root group:
 *     format = "mixphm-weights", format_version = 1,
 *     and any integer attributes the writer adds (the model dimensions: d_model, n_heads, ...)
 *
 * tools/convert_vlt5.py writes the same layout from a VL-T5 / FewVLM .pth.  Files are written to
 * NAME.tmp and renamed when complete. */
#ifndef MIXPHM_MODEL_PARAMS_H5_H
#define MIXPHM_MODEL_PARAMS_H5_H

#include "base/err.h"
#include "model/params.h"

#define WEIGHTS_FORMAT "mixphm-weights"
#define WEIGHTS_FORMAT_VERSION 1

struct weights_attr {
    const char *name;
    long value;
};

/* Writes the values of every tensor whose owner is in owner_mask. */
int params_save_h5(const struct params *p, const char *path, int owner_mask, const struct weights_attr *attrs,
                   int n_attrs, struct err *e);

/* Loads every tensor whose owner is in owner_mask.  Refuses (naming the file and each tensor) a file
 * that is not a weights file, tensors that are missing or have another shape, and datasets that no
 * registered tensor has, unless their name is in `ignore` (NULL-terminated, may be NULL).  On error
 * the values already read may be partly overwritten. */
int params_load_h5(struct params *p, const char *path, int owner_mask, const char *const *ignore, struct err *e);

/* The same for the tensors that are also trainable (trainable = 1), frozen (0) or either (-1): a
 * training run's weights are its trainable tensors, whatever their owner. */
int params_save_h5_sel(const struct params *p, const char *path, int owner_mask, int trainable,
                       const struct weights_attr *attrs, int n_attrs, struct err *e);
int params_load_h5_sel(struct params *p, const char *path, int owner_mask, int trainable, const char *const *ignore,
                       struct err *e);
/* Whether tensor t is selected by (owner_mask, trainable). */
int param_selected(const struct param_tensor *t, int owner_mask, int trainable);

/* Reads one integer attribute of a weights file (the model dimensions). */
int weights_read_attr(const char *path, const char *name, long *value, struct err *e);

#endif
