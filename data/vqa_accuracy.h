/* VQA accuracy exactly as the Python tools compute it (docs/scoring.md, "The rules"), on
 * in-memory records, so that `mixphm score` (official JSON files) and the eval stage (prepared data)
 * share it.
 *
 *   per question   vqa_question_accuracy(gt, prediction, variant)         unrounded, in [0, 1]
 *   aggregation    vqa_tally_init / vqa_tally_add (in scoring order) / vqa_tally_finish
 *   whole sets     vqa_score(gt, n_gt, pred, n_pred, variant, &tally, &e)  coverage rules, then both
 *
 * The three variants (docs/scoring.md says what each reproduces):
 *   vlt5          variant A as VL-T5 / MixPHM's evaluate_raw runs it: the prediction gets W, P, D; the
 *                 answers are raw, or P(answer) when they are not all identical; the predicted ids are
 *                 scored, in prediction order, and each must be annotated.
 *   official2016  variant A with the GT-Vision-Lab tool's coverage: the predictions must answer exactly
 *                 the annotated questions; scored in annotation order.
 *   official      variant B (the tool since 2021-03): W on both sides; if the cleaned answers are not
 *                 all identical, D(P(.)) on both sides.  Same coverage as official2016. */
#ifndef MIXPHM_DATA_VQA_ACCURACY_H
#define MIXPHM_DATA_VQA_ACCURACY_H

#include <stddef.h>
#include <stdio.h>

#include "base/err.h"
#include "data/vqa_ids.h"

/* Same order as the config's eval.vqa_metric names. */
enum vqa_variant { VQA_VLT5, VQA_OFFICIAL2016, VQA_OFFICIAL };

const char *vqa_variant_name(enum vqa_variant v);
/* Returns 0, or -1 after naming the known variants. */
int vqa_variant_parse(const char *name, enum vqa_variant *v, struct err *e);

/* One of the human answers of a question, as in the annotation file.  answer_id must be unique inside
 * a question (the tools leave out "the records equal to this one", which is then exactly one). */
struct vqa_answer {
    const char *answer;
    const char *confidence; /* "yes"/"maybe"/"no"; never used in scoring; may be NULL */
    long long answer_id;
};

/* The ground truth of one question. */
struct vqa_gt {
    struct vqa_id id;
    const char *question_type, *answer_type;
    const struct vqa_answer *answers; /* [n_answers], in the file's order (it matters to the last bit) */
    int n_answers;
};

struct vqa_pred {
    struct vqa_id id;
    const char *answer;
};

/* Accuracy of one prediction: the mean over the answers i of min(1, m_i/3), m_i = how many of the
 * other answers equal the normalised prediction, summed in answer order in double precision.
 * gt must be valid (vqa_gt_check). */
double vqa_question_accuracy(const struct vqa_gt *gt, const char *prediction, enum vqa_variant v);
/* The leave-one-out part alone, on answers and a prediction already normalised. */
double vqa_match_accuracy(const char *const *answers, int n, const char *prediction);
/* At least one answer, no NULL string, answer ids unique; -1 naming the question otherwise. */
int vqa_gt_check(const struct vqa_gt *gt, struct err *e);

/* Per-type accumulator: a name, the left-to-right sum of unrounded accuracies, the count, and (after
 * vqa_tally_finish) round(100 * sum / n, 2). */
struct vqa_type_acc {
    const char *name; /* points to the caller's string, which must outlive the tally */
    double sum;
    size_t n;
    double percent;
};

struct vqa_tally {
    enum vqa_variant variant;
    double sum;
    size_t n;
    double overall;               /* percent, after finish */
    struct vqa_type_acc *qtypes;  /* [n_qtypes] in order of first appearance */
    struct vqa_type_acc *atypes;  /* [n_atypes] idem */
    size_t n_qtypes, n_atypes, cap_qtypes, cap_atypes;
};

void vqa_tally_init(struct vqa_tally *t, enum vqa_variant v);
/* Adds one scored question; call in scoring order (the sums are left to right). */
void vqa_tally_add(struct vqa_tally *t, const char *question_type, const char *answer_type, double acc);
/* Computes the percentages; -1 when nothing was scored (the Python tools divide by zero). */
int vqa_tally_finish(struct vqa_tally *t, struct err *e);
void vqa_tally_free(struct vqa_tally *t);
/* Writes the finished tally as the official tool's accuracy dict plus the variant, numbers as Python
 * prints them (55.12, 100.0), types in order of first appearance:
 *   {"overall": .., "perQuestionType": {..}, "perAnswerType": {..}, "variant": "vlt5"} */
void vqa_tally_write_json(const struct vqa_tally *t, FILE *f);

/* Checks ids (no duplicates on either side) and coverage for the variant, then scores every question
 * into t (initialised here; free it with vqa_tally_free, also after an error).  Errors name the
 * offending ids: a few of them and how many; the caller adds which file they came from. */
int vqa_score(const struct vqa_gt *gt, size_t n_gt, const struct vqa_pred *pred, size_t n_pred,
              enum vqa_variant v, struct vqa_tally *t, struct err *e);

#endif
