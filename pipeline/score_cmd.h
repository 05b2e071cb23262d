/* `mixphm score --questions Q.json --annotations A.json --results R.json [--variant NAME]`: the VQA
 * accuracy of a results file, printed as one JSON object (docs/scoring.md).  No MPI. */
#ifndef MIXPHM_PIPELINE_SCORE_CMD_H
#define MIXPHM_PIPELINE_SCORE_CMD_H

#include <stdio.h>

#include "base/err.h"
#include "pipeline/cli.h"

/* Writes the JSON object to `out` and returns 0, or returns -1 with the file and item in e (then
 * nothing was written). */
int score_command(const struct cli *c, FILE *out, struct err *e);

#endif
