/* The task prompt: how a question becomes the encoder's text and an answer the decoder's target.
 *   vlt5    "vqa: {question}"                       -> "{answer}"   (VL-T5's and MixPHM's scripts)
 *   fewvlm  "question: {question} answer: <extra_id_0>" -> "<extra_id_0> {answer}"
 *           (FewVLM's prompt, MixPHM's --use_fewvlm_prompt --prompt 3): the answer fills a sentinel,
 *           as a masked span does in span-corruption pretraining, so a backbone that never saw a
 *           question can answer zero-shot.
 * Decoding skips sentinels (tokenizer_decode), so both give the answer's text alone. */
#ifndef MIXPHM_DATA_PROMPT_H
#define MIXPHM_DATA_PROMPT_H

#include <stddef.h>

enum prompt_kind { PROMPT_VLT5, PROMPT_FEWVLM, PROMPT_COUNT };

/* "vlt5", "fewvlm"; -1 for an unknown name. */
const char *prompt_name(int kind);
int prompt_from_name(const char *name);
/* What goes before and after the question, and before the answer. */
const char *prompt_question_prefix(int kind);
const char *prompt_question_suffix(int kind);
const char *prompt_answer_prefix(int kind);
/* The encoder text of a question into out[n]; the length it needs (as snprintf). */
int prompt_question(int kind, const char *question, char *out, size_t n);

#endif
