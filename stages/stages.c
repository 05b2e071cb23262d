#include "stages/stages.h"

void stages_table(stage_fn table[STAGE_COUNT])
{
    for (int s = 0; s < STAGE_COUNT; s++)
        table[s] = NULL;
    table[STAGE_PREPARE] = stage_prepare;
    table[STAGE_FEATURES] = stage_features;
    table[STAGE_TRAIN] = stage_train;
    table[STAGE_EVAL] = stage_eval;
    table[STAGE_AGGREGATE] = stage_aggregate;
    table[STAGE_ANALYZE] = stage_analyze;
}
