/* The stages of the pipeline, one file each, all with one signature (docs/developing.md, "Adding a stage"):
 *     int stage_NAME(const struct config *cfg, struct run *run);
 * stages_table() lists the ones this build has; a stage that a later version adds is NULL here and
 * `mixphm` refuses to run it with "not built yet". */
#ifndef MIXPHM_STAGES_STAGES_H
#define MIXPHM_STAGES_STAGES_H

#include "run/config.h"
#include "run/run.h"

void stages_table(stage_fn table[STAGE_COUNT]);

int stage_prepare(const struct config *cfg, struct run *run);
int stage_features(const struct config *cfg, struct run *run);
int stage_train(const struct config *cfg, struct run *run);
int stage_eval(const struct config *cfg, struct run *run);
int stage_aggregate(const struct config *cfg, struct run *run);
int stage_analyze(const struct config *cfg, struct run *run);

/* Not a stage: `mixphm eval CONFIG --weights FILE` scores a weights file made elsewhere (an imported
 * checkpoint, another run's best.h5) with the config's one method, into RUN/imported/NAME/ (NAME: the
 * file's name without .h5); it needs prepare and features, writes no stamp and reruns every time. */
int eval_weights_file(const struct config *cfg, struct run *run, const char *weights);

#endif
