/* Greedy answers of a list of questions with the current weights (the method's inference form: call
 * peft_eval_prepare first), post-processed as the papers' code does (formats.md 6.5: special tokens
 * skipped, HF's space clean-up). */
#ifndef MIXPHM_TRAIN_DECODE_H
#define MIXPHM_TRAIN_DECODE_H

#include "data/prepared.h"
#include "data/tokenizer.h"
#include "train/model.h"
#include "train/batch.h"

/* preds[i] (malloc'd) is the answer to question row rows[i]; batches of at most `batch` questions
 * (buf must hold them). */
int decode_rows(struct model_ctx *mc, const struct prepared *p, const struct tokenizer *tok, const struct image_cache *c,
                struct batch_buf *buf, const int32_t *rows, long n, int batch, int max_new, char **preds,
                struct err *e);

#endif
