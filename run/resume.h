/* Resume decisions: which stages a stage reads from, whether a stage is up to date in a run folder
 * (its stamp's settings hash, its outputs' sizes, the upstream ids it consumed, and for train and eval
 * every sweep run's own stamp), and the stamp a finished stage leaves. */
#ifndef MIXPHM_RUN_RESUME_H
#define MIXPHM_RUN_RESUME_H

#include "run/config.h"
#include "run/run.h"

/* The upstream provides that `stage` consumes, e.g. {"prepare", "features"}; returns the count. */
int stage_inputs(enum stage_id stage, const char **names, int max);
/* The stage part of an input name: "prepare.images" -> STAGE_PREPARE (-1: none). */
int stage_input_stage(const char *name);
/* Whether `mixphm run` includes `stage` for this config. */
int stage_in_pipeline(const struct config *cfg, enum stage_id stage);
/* 0 when the stage is up to date in run_dir; else -1 and a reason ("missing", "config changed: ..."). */
int stage_check(const struct config *cfg, const char *run_dir, enum stage_id stage, char *reason, size_t n);
/* Writes the stamp of r->stage, which has just finished: its outputs and provides as the stage
 * declared them, the ids of its inputs' stamps (rank-0 work). */
int run_write_stamp(const struct config *cfg, const struct run *r, double seconds, struct err *e);

#endif
