/* Scoring a run's answers to the test questions of prepared.h5 with the shared scorer (data/): the VQA
 * accuracy in the configured variant (VQA v2, OK-VQA, the synthetic benchmark), or GQA's exact match. */
#ifndef MIXPHM_STAGES_EVAL_SCORE_H
#define MIXPHM_STAGES_EVAL_SCORE_H

#include "data/prepared.h"

/* The report of one set of predictions: *json is a malloc'd JSON object with the official tool's keys
 * ("overall", "perQuestionType", "perAnswerType"; GQA: "overall") and "variant"; *overall its overall
 * score in percent. */
int eval_score(const struct prepared *p, const int32_t *rows, long n, char *const *preds, int vqa_metric,
               char **json, double *overall, struct err *e);

#endif
