/* The answer normalisation of the VQA evaluation tools, byte for byte (docs/scoring.md, "Normalisation:
 * W, P and D"): W (whitespace), P (processPunctuation) and D (processDigitArticle), and the GQA
 * evaluator's normaliser.  Each takes a NUL-terminated UTF-8 string and returns a new one (free
 * it).  Python's string semantics (Unicode spaces, digits, lower case) come from data/pystr.h. */
#ifndef MIXPHM_DATA_VQA_NORMALIZE_H
#define MIXPHM_DATA_VQA_NORMALIZE_H

/* The period rule removes at most this many periods: re.UNICODE (32) is passed as sub()'s count. */
#define VQA_PERIOD_CAP 32

/* W: every '\n' and '\t' becomes a space, then str.strip(). */
char *vqa_clean_whitespace(const char *s);
/* P: the 21 punctuation marks (deleted, or replaced by a space, as decided on the original string),
 * then every '.' not followed by a digit is deleted (at most VQA_PERIOD_CAP of them). */
char *vqa_punctuation(const char *s);
/* D: str.lower(), split on whitespace, number words to digits, articles dropped, contractions
 * restored, joined with single spaces. */
char *vqa_digit_article(const char *s);
/* The GQA evaluator: P, then lower-case, split, drop a/an/the, join (no number map, no contractions). */
char *gqa_normalize(const char *s);

#endif
