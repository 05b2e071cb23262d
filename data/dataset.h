/* A dataset as read from its files, before prepare writes it to prepared.h5: the questions (the k-shot
 * pool first, in file order, then the test questions), each with its image, text, question and answer
 * types, soft-score labels and raw annotator answers, and the tables they index.  Filled by the
 * readers of data/read_*.c; nothing here knows a file format. */
#ifndef MIXPHM_DATA_DATASET_H
#define MIXPHM_DATA_DATASET_H

#include <stdint.h>

#include "base/err.h"
#include "base/strtab.h"

enum question_source { SRC_POOL = 0, SRC_TEST = 1 };
/* answer_confidence of a raw answer record. */
enum answer_confidence { CONF_NO = 0, CONF_MAYBE = 1, CONF_YES = 2 };

struct question {
    int64_t id;       /* the integer question_id; -1 when the dataset's ids are strings (GQA) */
    int32_t image;    /* row in the image table */
    int32_t qtype;    /* index into qtypes (0 is "": unknown) */
    int32_t atype;    /* index into atypes (0 is "": unknown) */
    int64_t label0;   /* labels label0 .. label0 + n_labels - 1 */
    int32_t n_labels;
    int64_t raw0;     /* raw answers raw0 .. raw0 + n_raw - 1 */
    int32_t n_raw;
    int8_t source;    /* enum question_source */
};

struct vqa_data {
    char name[32];
    int ids_are_strings;
    long nq, cap_q;
    struct question *q;      /* [nq] */
    struct strtab qid;       /* [nq] the question ids as text (GQA's strings verbatim), indexed */
    struct strtab text;      /* [nq] the question text as given */
    struct strtab where;     /* [nq] "FILE entry N", for messages */
    /* Soft-score labels: (answer, score) in the order of the file's label object. */
    struct strtab answers;   /* the answer table: label keys, interned */
    int32_t *label_answer;   /* [n_labels] */
    float *label_score;      /* [n_labels] */
    long n_labels, cap_labels;
    /* Raw annotator answers (10 per VQA question), for the official accuracy. */
    struct strtab raw_text;  /* interned answer strings, exactly as typed */
    int32_t *raw_answer;     /* [n_raw] index into raw_text */
    int8_t *raw_confidence;  /* [n_raw] enum answer_confidence */
    int32_t *raw_answer_id;  /* [n_raw] */
    long n_raw, cap_raw;
    /* Images: one row per (detector file, image id) pair, in order of first use. */
    struct strtab image_id;  /* [n_images] */
    int32_t *image_file;     /* [n_images] index into files */
    struct strtab image_key; /* [n_images] "FILE-INDEX/IMAGE-ID", indexed */
    long cap_images;
    struct strtab files;     /* detector files */
    struct strtab qtypes, atypes;
    long n_pool, n_test;
    /* Pretraining pairs (the synthetic benchmark's span-corruption corpus; none for real datasets). */
    struct strtab pt_input;  /* [n_pretrain] text with <extra_id_k> sentinels */
    struct strtab pt_target; /* [n_pretrain] "<extra_id_0> span <extra_id_1> ..." */
    int32_t *pt_image;       /* [n_pretrain] image row */
    long n_pretrain, cap_pretrain;
};

void dataset_init(struct vqa_data *ds, const char *name, int ids_are_strings);
void dataset_free(struct vqa_data *ds);
long dataset_n_images(const struct vqa_data *ds);

/* The row of image `image_id` read from detector file `file`, added when new. */
int32_t dataset_image(struct vqa_data *ds, const char *file, const char *image_id);
/* Appends a question; a question id seen before is an error naming both places.  Returns the row or -1. */
long dataset_add_question(struct vqa_data *ds, const char *id_text, int64_t id, int source, const char *text,
                          int32_t image, const char *where, struct err *e);
/* Appends a label to the question added last. */
void dataset_add_label(struct vqa_data *ds, const char *answer, float score);
/* Replaces the raw answers of question `row` (appended to the raw table). */
void dataset_begin_raw(struct vqa_data *ds, long row);
void dataset_add_raw(struct vqa_data *ds, long row, const char *answer, int confidence, int32_t answer_id);
void dataset_set_types(struct vqa_data *ds, long row, const char *qtype, const char *atype);
/* Appends a pretraining pair. */
void dataset_add_pretrain(struct vqa_data *ds, int32_t image, const char *input, const char *target);
/* The row of a question id (as text), or -1. */
long dataset_find(struct vqa_data *ds, const char *id_text);

#endif
