/* prepared.h5: what the prepare stage writes and the train and eval stages read (layout in
 * docs/data.md).  Everything is indexed by question row, answer row and image row; the image rows are
 * also the rows of features.h5.
 *
 *   struct prepared p;
 *   prepared_open(&p, "RUN/prepared.h5", PREPARED_ALL, &e);
 *   prepared_split(&p, 13, 16, SPLIT_TRAIN, &rows, &n, &e);           // k-shot train rows, seed 13, k 16
 *   for each row q: p.q_tokens + q * p.q_len  (p.q_n_tokens[q] ids incl. </s>), p.q_image[q],
 *                   labels p.label_answer/label_score[p.label_start[q] .. p.label_start[q + 1]),
 *                   answer a: strtab_get(&p.answers, a), p.a_tokens + a * p.a_len
 *   prepared_tokenizer(&p, &tok, &e);                                 // decode predictions
 *   raw answers for scoring: p.raw_* [p.raw_start[q] .. p.raw_start[q + 1])
 *   prepared_close(&p);
 */
#ifndef MIXPHM_DATA_PREPARED_H
#define MIXPHM_DATA_PREPARED_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fileio.h"
#include "data/dataset.h"
#include "data/splits.h"
#include "base/strtab.h"
#include "data/prompt.h"
#include "data/tokenizer.h"

#define PREPARED_FORMAT "mixphm-prepared"
#define PREPARED_VERSION 1

/* Detector file layouts (docs/data.md, "Detector files"). */
enum detector_layout {
    LAYOUT_VLT5 = 0, /* group per img_id string, img_h / img_w */
    LAYOUT_COCO = 1, /* group per numeric COCO id, img_hw */
};

/* What prepare hands to the writer. */
struct prepared_input {
    const struct vqa_data *ds;
    const struct tokenizer *tok;
    int answer_max_len;            /* ANSWER_MAX_TOKENS, or 0: no truncation (GQA) */
    int prompt;                    /* enum prompt_kind: the text around questions and answers */
    const struct split_set *splits;
    const int8_t *file_layout;     /* [ds->files.n] enum detector_layout */
    const char *images_digest;     /* what the features stage depends on */
};

/* Writes `path` atomically (PATH.tmp, then renamed). */
int prepared_write(const char *path, const struct prepared_input *in, struct err *e);

/* Parts to load. */
enum {
    PREPARED_IMAGES = 1,    /* the image table (all the features stage needs) */
    PREPARED_QUESTIONS = 2, /* questions, labels, answers, types, pool/test lists, tokenizer model */
    PREPARED_RAW = 4,       /* raw annotator answers (eval) */
    PREPARED_PRETRAIN = 8,  /* pretraining pairs (synthetic) */
    PREPARED_ALL = 15,
};
enum { SPLIT_TRAIN = 0, SPLIT_DEV = 1 };

struct prepared {
    char path[PATH_MAX_LEN];
    char dataset[32];           /* synthetic, vqav2, gqa, okvqa */
    int ids_are_strings;        /* GQA: question ids are strings (q_id is -1) */
    char images_digest[32];
    int parts_loaded;           /* the PREPARED_* parts that were read */
    /* Questions (PREPARED_QUESTIONS). */
    long n_questions;
    int q_len;                  /* QUESTION_MAX_TOKENS */
    int64_t *q_id;              /* [nq] integer question_id, -1 for string ids */
    struct strtab q_id_text;    /* [nq] question_id as text (GQA's verbatim) */
    struct strtab q_text;       /* [nq] question text */
    int32_t *q_image;           /* [nq] image row */
    int32_t *q_tokens;          /* [nq, q_len] the prompted question (data/prompt.h), </s>, 0s */
    int32_t *q_n_tokens;        /* [nq] */
    int32_t *q_qtype, *q_atype; /* [nq] indexes into qtypes / atypes (0: "") */
    int8_t *q_source;           /* [nq] SRC_POOL or SRC_TEST */
    struct strtab qtypes, atypes;
    int64_t *label_start;       /* [nq + 1] */
    int32_t *label_answer;      /* [n_labels] answer row */
    float *label_score;         /* [n_labels] soft score */
    long n_labels;
    long n_answers;
    struct strtab answers;      /* [na] answer text */
    int a_len;                  /* columns of a_tokens: ANSWER_MAX_TOKENS, or the longest (GQA) */
    int32_t *a_tokens;          /* [na, a_len] prompted answer, </s>, then 0s */
    int32_t *a_n_tokens;        /* [na] */
    int32_t *pool, *test;       /* [n_pool], [n_test] question rows */
    long n_pool, n_test;
    int tok_kind;               /* enum tokenizer_kind */
    int vocab_size;
    char *tok_model;            /* [tok_model_len] the tokenizer's model file */
    size_t tok_model_len;
    /* Raw answers (PREPARED_RAW): 10 per VQA test question, as typed. */
    long n_raw;
    int64_t *raw_start;         /* [nq + 1] */
    int32_t *raw_answer;        /* [n_raw] index into raw_text */
    int8_t *raw_confidence;     /* [n_raw] enum answer_confidence */
    int32_t *raw_answer_id;     /* [n_raw] */
    struct strtab raw_text;
    /* Images (PREPARED_IMAGES). */
    long n_images;
    struct strtab image_id;     /* [ni] img_id as in the split files */
    int32_t *image_file;        /* [ni] index into files */
    struct strtab files;        /* detector files */
    int8_t *file_layout;        /* [files.n] enum detector_layout */
    /* Pretraining pairs (PREPARED_PRETRAIN; none for real datasets). */
    long n_pretrain;
    int pt_in_len, pt_out_len;
    int32_t *pt_image;          /* [np] image row */
    int32_t *pt_input;          /* [np, pt_in_len] with <extra_id_k> sentinels, </s>, 0s */
    int32_t *pt_n_input;        /* [np] */
    int32_t *pt_target;         /* [np, pt_out_len] */
    int32_t *pt_n_target;       /* [np] */
};

int prepared_open(struct prepared *p, const char *path, int parts, struct err *e);
void prepared_close(struct prepared *p);
/* The k-shot train or dev rows of (seed, k): *rows malloc'd, *n = k.  A (seed, k) that prepare did not
 * make is an error naming it. */
int prepared_split(const struct prepared *p, int64_t seed, long k, int which, int32_t **rows, long *n,
                   struct err *e);
/* The tokenizer prepare used, from the model bytes the file keeps. */
int prepared_tokenizer(const struct prepared *p, struct tokenizer *t, struct err *e);
/* The labels of question q: *answers and *scores point into p; returns the count. */
int prepared_labels(const struct prepared *p, long q, const int32_t **answers, const float **scores);

#endif
