/* Python `str` semantics on UTF-8 byte strings: the few methods that the VQA answer normalisation uses
 * (docs/scoring.md, "Normalisation: W, P and D"), giving the bytes Python 3.11 gives.
 *
 * What is exact: whitespace is str.isspace() (ASCII 0x09-0x0D, 0x1C-0x1F, 0x20, U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); a digit is re's \d (every Unicode decimal
 * digit, category Nd); lower-casing is str.lower() for all of Unicode 14.0: the one-to-one mappings,
 * U+0130 -> "i" U+0307, and the context rule that turns a capital sigma into the final form U+03C2.
 * What is not: the tables are Python 3.11's (Unicode 14.0); a Python with another Unicode version
 * can differ on characters added or changed since.  Bytes that are not valid UTF-8 (which Python could
 * not hold in a str at all) are kept as they are and count as neither space, digit nor letter.
 * Every string here is NUL-terminated, so a NUL inside an answer ends it. */
#ifndef MIXPHM_DATA_PYSTR_H
#define MIXPHM_DATA_PYSTR_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s[i] (i < strlen(s)) into *c (UC_INVALID for a byte that does not start a
 * valid UTF-8 sequence) and returns its length in bytes (1 for an invalid byte). */
size_t utf8_decode(const char *s, size_t i, uint32_t *c);
/* Writes c as UTF-8 to out (room for 4 bytes) and returns the length. */
size_t utf8_encode(uint32_t c, char *out);

/* s.strip(): a new string (free it). */
char *py_strip(const char *s);
/* s.lower(): a new string (free it). */
char *py_lower(const char *s);
/* Iterates over s.split(): from byte *pos, finds the next word, sets *start and *len and moves *pos
 * past it; returns 0 when there is none left. */
int py_next_word(const char *s, size_t *pos, size_t *start, size_t *len);
/* Whether the character that starts at s[i] is a \d digit (0 at the end of the string). */
int py_digit_at(const char *s, size_t i);

#endif
