/* `mixphm submit CONFIG --scheduler slurm|pbs [--from STAGE | --whole] [--dry-run]`: writes one job
 * script per stage into RUN_DIR/jobs/ and submits them as an afterok chain, or (--whole) one job that
 * runs `mixphm run` (docs/clusters.md). */
#ifndef MIXPHM_PIPELINE_SUBMIT_H
#define MIXPHM_PIPELINE_SUBMIT_H

#include <stdio.h>

#include "base/err.h"

int submit_command(const char *config_path, const char *const *sets, int n_sets, const char *scheduler, int from,
                   int whole, int dry_run, FILE *out, struct err *e);
/* Seconds in a Slurm-style time limit ([D-]HH:MM:SS, HH:MM, MM); -1 when malformed. */
long job_time_seconds(const char *s);

struct tvar;
/* Replaces every @NAME@ (NAME: capitals, digits, '_') of `tmpl` by the value of `vars` named NAME; any
 * other '@' is kept.  An unknown placeholder is an error.  *out is allocated. */
int template_render(const char *tmpl, const struct tvar *vars, int n, char **out, struct err *e);

#endif
