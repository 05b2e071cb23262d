/* Decoding: greedy answers of a list of questions, and the dev score of a k-shot run.
 *
 * decode_rows: greedy answers of a list of questions with the current weights (the method's inference form: call
 * peft_eval_prepare first), post-processed as the papers' code does (special tokens skipped, HF's space
 * clean-up: docs/vlt5.md, "Greedy decoding"). */
#ifndef MIXPHM_TRAIN_DECODE_H
#define MIXPHM_TRAIN_DECODE_H

#include <mpi.h>

#include "data/prepared.h"
#include "data/tokenizer.h"
#include "train/model.h"
#include "train/batch.h"

/* preds[i] (malloc'd) is the answer to question row rows[i]; batches of at most `batch` questions
 * (buf must hold them). */
int decode_rows(struct model_ctx *mc, const struct prepared *p, const struct tokenizer *tok, const struct image_cache *c,
                struct batch_buf *buf, const int32_t *rows, long n, int batch, int max_new, char **preds,
                struct err *e);

/* validate_dev: the dev score of the current weights (docs/scoring.md, "The dev metric (model
 * selection)"): the group's ranks decode a block of the dev questions each (greedy, the method's
 * inference form), look each answer up in its question's soft labels (GQA: after its normaliser), and
 * every rank averages all the scores in dev order, so all agree on the same value, rounded to 2
 * decimals as the papers' code does. */
int validate_dev(struct model_ctx *mc, MPI_Comm comm, const struct prepared *p, const struct tokenizer *tok,
                 const struct image_cache *c, struct batch_buf *buf, const int32_t *rows, long n, int batch,
                 int max_new, double *score, struct err *e);
/* The soft-label score of one prediction for question row q (label_lookup; GQA: its normaliser). */
double question_label_score(const struct prepared *p, long q, const char *prediction);

#endif
