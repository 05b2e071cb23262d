/* `mixphm status RUN_DIR`: which stages and which sweep runs of a run folder are done. */
#ifndef MIXPHM_PIPELINE_STATUS_H
#define MIXPHM_PIPELINE_STATUS_H

#include <stdio.h>

#include "base/err.h"

int status_print(const char *run_dir, FILE *out, struct err *e);

#endif
