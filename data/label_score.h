/* Scores against soft labels ({answer: score}, docs/data.md, "Soft scores"): the dev metric used for model
 * selection and the GQA test metric, as MixPHM's Python computes them (docs/scoring.md, "The dev metric
 * (model selection)" and "GQA"). */
#ifndef MIXPHM_DATA_LABEL_SCORE_H
#define MIXPHM_DATA_LABEL_SCORE_H

#include <stddef.h>

/* A question's soft label: n distinct answers and their scores. */
struct vqa_label {
    const char *const *answers; /* [n] */
    const double *scores;       /* [n] */
    int n;
};

/* label.get(answer, 0): the score of an answer that is exactly (byte for byte) a key, else 0. */
double label_lookup(const struct vqa_label *label, const char *answer);
/* The GQA evaluator for one question: label.get(gqa_normalize(prediction), 0); the keys stay raw. */
double gqa_question_score(const struct vqa_label *label, const char *prediction);

/* The dev score: float(f"{(sum / n) * 100:.2f}"), sum = scores[0] + scores[1] + ... left to right, the
 * scores being label_lookup of the raw decoded strings (GQA: gqa_question_score).  NaN for n = 0. */
double dev_score_percent(const double *scores, size_t n);
/* The GQA test accuracy, (sum / n) * 100, not rounded (MixPHM prints it with 2 decimals).
 * NaN for n = 0. */
double gqa_accuracy_percent(const double *scores, size_t n);

#endif
