/* The dev score of the current weights (formats.md 6.6): the group's ranks decode a block of the dev
 * questions each (greedy, the method's inference form), look each answer up in its question's soft
 * labels (GQA: after its normaliser), and every rank averages all the scores in dev order, so all
 * agree on the same value, rounded to 2 decimals as the papers' code does. */
#ifndef MIXPHM_TRAIN_VALIDATE_H
#define MIXPHM_TRAIN_VALIDATE_H

#include <mpi.h>

#include "train/decode.h"

int validate_dev(struct model_ctx *mc, MPI_Comm comm, const struct prepared *p, const struct tokenizer *tok,
                 const struct image_cache *c, struct batch_buf *buf, const int32_t *rows, long n, int batch,
                 int max_new, double *score, struct err *e);
/* The soft-label score of one prediction for question row q (label_lookup; GQA: its normaliser). */
double question_label_score(const struct prepared *p, long q, const char *prediction);

#endif
