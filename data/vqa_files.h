/* Readers of the official VQA files (docs/data.md, "Official annotation and question files"; OK-VQA's
 * files have the same shape) into the records of data/vqa_accuracy.h.  Errors name the file, the item
 * and what was expected: "A.json: annotations[3] (question_id 42): \"answers\" must be an array". */
#ifndef MIXPHM_DATA_VQA_FILES_H
#define MIXPHM_DATA_VQA_FILES_H

#include <stddef.h>

#include "base/err.h"
#include "data/vqa_accuracy.h"

struct json_t;

/* An annotation file: one record per question, in file order.  The strings live in `root`. */
struct vqa_annotations {
    struct json_t *root;
    struct vqa_gt *gt;          /* [n] */
    long long *image_ids;       /* [n], VQA_NO_IMAGE_ID where the record has none */
    struct vqa_answer *answers; /* every answer record, gt[i].answers points into it */
    size_t n;
};

#define VQA_NO_IMAGE_ID (-1LL)

/* {"annotations": [{"question_id": int, "question_type": str, "answer_type": str, "image_id": int,
 *   "answers": [{"answer": str, "answer_id": int, "answer_confidence": str}, ...]}, ...]}
 * Other keys are ignored; question ids must be unique and answer ids unique inside a question. */
int vqa_read_annotations(const char *path, struct vqa_annotations *a, struct err *e);
void vqa_annotations_free(struct vqa_annotations *a);

/* A questions file: {"questions": [{"question_id": int, "image_id": int, "question": str}, ...]}, in file
 * order; question ids must be unique.  The strings live in `root`. */
struct vqa_questions {
    struct json_t *root;
    struct vqa_id *ids;     /* [n] */
    long long *image_ids;   /* [n], VQA_NO_IMAGE_ID where the record has none */
    const char **text;      /* [n] the question as typed */
    struct vqa_id_index index; /* id -> position */
    size_t n;
};

int vqa_read_questions(const char *path, struct vqa_questions *q, struct err *e);
void vqa_questions_free(struct vqa_questions *q);

/* Checks that every annotated question is in the questions file (with the same image_id); questions
 * without annotations are allowed. */
int vqa_check_questions(const char *path, const struct vqa_annotations *a, struct err *e);

/* A results file: [{"question_id": int, "answer": str}, ...] (other keys ignored). */
struct vqa_results {
    struct json_t *root;
    struct vqa_pred *pred; /* [n] in file order */
    size_t n;
};

int vqa_read_results(const char *path, struct vqa_results *r, struct err *e);
void vqa_results_free(struct vqa_results *r);

#endif
