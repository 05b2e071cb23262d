/* The tokenizer of the questions and answers, with T5's id layout (docs/vlt5.md, "Tokenizer ids"):
 *   <pad> = 0, </s> = 1, <unk> = 2, then the pieces (or words),
 *   <extra_id_k> = V - 101 - k and <vis_extra_id_k> = V - 1 - k for k = 0..99,
 * where V is the vocabulary size (32200 for t5-base's spiece.model).  Two kinds:
 *   - sentencepiece: a SentencePiece model (t5-base's spiece.model) through libsentencepiece;
 *   - words: the synthetic benchmark's word-level tokenizer on lower-cased, punctuation-split text,
 *     whose "model" is a word list (one per line, starting with <pad>, </s>, <unk>).
 * A tokenizer is loaded from the bytes of its model file, which prepared.h5 keeps, so later stages
 * tokenize and decode exactly as prepare did. */
#ifndef MIXPHM_DATA_TOKENIZER_H
#define MIXPHM_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/strtab.h"

enum tokenizer_kind { TOK_SENTENCEPIECE, TOK_WORDS };

#define TOK_PAD 0
#define TOK_EOS 1
#define TOK_UNK 2
#define TOK_N_SENTINELS 100 /* <extra_id_0..99>, and as many <vis_extra_id_k> */
#define QUESTION_MAX_TOKENS 20 /* "vqa: " + question, including </s> */
#define ANSWER_MAX_TOKENS 10   /* including </s>; GQA answers are not truncated */

struct spm;

struct tokenizer {
    int kind;           /* enum tokenizer_kind */
    int n_base;         /* ids below this are <pad>, </s>, <unk> and the pieces or words */
    int vocab_size;     /* n_base + 200 */
    struct spm *spm;    /* TOK_SENTENCEPIECE */
    struct strtab words; /* TOK_WORDS: [n_base] the word of each id, indexed */
    char *model;        /* [model_len] the bytes it was loaded from */
    size_t model_len;
};

const char *tokenizer_kind_name(int kind);
/* -1 for an unknown name. */
int tokenizer_kind_from_name(const char *name);
/* Loads a model from a file; an error names the file and why it does not load. */
int tokenizer_load_file(struct tokenizer *t, int kind, const char *path, struct err *e);
/* The same from the model's bytes; `what` names them in messages. */
int tokenizer_load_bytes(struct tokenizer *t, int kind, const void *bytes, size_t n, const char *what,
                         struct err *e);
void tokenizer_free(struct tokenizer *t);

/* Encodes `text` and appends </s>, keeping at most `max_len` ids (max_len - 1 pieces and </s>, as
 * HF's encode(..., max_length, truncation=True)); max_len 0 keeps everything.  *ids is malloc'd. */
int tokenizer_encode(const struct tokenizer *t, const char *text, int max_len, int32_t **ids, int *n,
                     struct err *e);
int tokenizer_extra_id(const struct tokenizer *t, int k);     /* <extra_id_k> */
int tokenizer_vis_extra_id(const struct tokenizer *t, int k); /* <vis_extra_id_k> */
/* 1 for <pad>, </s>, <unk> and the sentinels: the ids that decoding skips. */
int tokenizer_is_special(const struct tokenizer *t, int32_t id);
/* Text of `ids` as HF's batch_decode(skip_special_tokens=True) gives it, with its default clean-up of
 * spaces before punctuation and contractions (docs/vlt5.md, "Greedy decoding").  Returns a malloc'd string. */
char *tokenizer_decode(const struct tokenizer *t, const int32_t *ids, int n);

#endif
