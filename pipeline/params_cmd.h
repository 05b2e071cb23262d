/* `mixphm params CONFIG [--set ...]`: the trainable parameters of the configured method (each method
 * of a peft.method sweep) at the configured model size, by tensor group (block and expert indices
 * folded into '*'), and their share of the backbone's parameters.  The model is registered, never
 * allocated, so t5-base costs nothing.  No MPI. */
#ifndef MIXPHM_PIPELINE_PARAMS_CMD_H
#define MIXPHM_PIPELINE_PARAMS_CMD_H

#include <stdio.h>

#include "base/err.h"
#include "model/params.h"

/* Writes the report to `out`; -1 with the key or the file in e. */
int params_command(const char *config, const char *const *sets, int n_sets, FILE *out, struct err *e);

/* The tensor group of a parameter name: the numbers after "block." and "deepspeed_experts." become '*'. */
void params_group_name(const char *name, char *out, size_t n);

#endif
