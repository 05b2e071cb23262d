/* Sweep expansion: the product of every sweep list in the config, in a fixed order (method, routing,
 * size, seed, then any other sweep keys), leaving out combinations that cannot run (a routing
 * function on a method without a bottleneck).  Each run gets a scalar config and a folder name. */
#ifndef MIXPHM_RUN_SWEEP_H
#define MIXPHM_RUN_SWEEP_H

#include "run/config.h"

#define SWEEP_NAME_MAX 256
#define SWEEP_MAX_RUNS 100000

/* Number of runs; 0 when no combination is valid (config_validate refuses that). */
int sweep_count(const struct config *cfg);
/* The scalar config of run `index` (0 <= index < sweep_count). */
int sweep_run_config(const struct config *cfg, int index, struct config *out, struct err *e);
/* Folder name of a run of `sweep_cfg`, e.g. "mixphm-k16-s13", "lora+add-k64-s21", or with a swept
 * hyperparameter "mixphm-k16-s13-lr=0.001". */
void sweep_run_name(const struct config *sweep_cfg, const struct config *run_cfg, char *out, size_t n);

/* The run's row in the reports: its name without size and seed, e.g. "mixphm", "lora+add",
 * "mixphm regularizer=false" (no commas: it is a CSV field). */
void sweep_run_label(const struct config *sweep_cfg, const struct config *run_cfg, char *out, size_t n);
/* The same without the sweep key `key` ("train.lr": the row a learning rate chosen on dev stands in). */
void sweep_run_label_without(const struct config *sweep_cfg, const struct config *run_cfg, const char *key,
                             char *out, size_t n);

#endif
