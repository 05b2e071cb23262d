/* What a table of accuracies is measured against, and whether a run collapsed:
 *   - the constant answer: the test split's most frequent answer (each question counted with its
 *     highest-scoring label), given to every question;
 *   - the answer-type prior of a k-shot sample: for each question type the most frequent answer of the k
 *     training questions of that type (of all k when the type is not among them);
 *   - a set of predictions' share of empty answers and of its most frequent answer.
 * The baselines are scored by the same scorer as the runs (eval_score). */
#ifndef MIXPHM_STAGES_EVAL_BASELINES_H
#define MIXPHM_STAGES_EVAL_BASELINES_H

#include "data/prepared.h"

struct answer_shares {
    double empty_percent;  /* answers that are empty (or only white space) */
    double top_percent;    /* the most frequent answer's share */
    char top_answer[128];  /* that answer (cut at 127 bytes) */
};

void answer_shares(char *const *preds, long n, struct answer_shares *out);

/* The answer row (into p->answers) of the most frequent top label among rows[0..n); -1 when none of
 * them has a label. */
long most_frequent_answer(const struct prepared *p, const int32_t *rows, long n);

/* preds[i] (pointers into p->answers, not to be freed) for the test rows test[0..n_test): the prior of
 * the training rows train[0..k). */
void answer_type_prior(const struct prepared *p, const int32_t *train, long k, const int32_t *test, long n_test,
                       const char **preds);

#endif
