/* Unicode character properties as Python's string methods see them (data/unicode_tables.c, generated
 * by tools/gen_unicode_tables.py from Python 3.11 / Unicode 14.0).  Code points are uint32_t; the
 * value UC_INVALID stands for a byte that is not valid UTF-8 and has no property at all. */
#ifndef MIXPHM_DATA_UNICODE_H
#define MIXPHM_DATA_UNICODE_H

#include <stdint.h>

#define UC_INVALID 0xFFFFFFFFu

struct uc_range {
    uint32_t lo, hi; /* inclusive */
};

/* Code points lo, lo + stride, ..., <= hi lower-case to themselves + delta. */
struct uc_lower_run {
    uint32_t lo, hi;
    int32_t delta;
    uint32_t stride;
};

extern const char uc_tables_unicode_version[];
extern const struct uc_range uc_space[], uc_decimal[], uc_case_ignorable[], uc_cased[];
extern const int uc_space_count, uc_decimal_count, uc_case_ignorable_count, uc_cased_count;
extern const struct uc_lower_run uc_lower_runs[];
extern const int uc_lower_runs_count;

/* str.isspace(): what str.strip() and str.split() remove. */
int uc_is_space(uint32_t c);
/* re's \d on a str pattern: a decimal digit (category Nd). */
int uc_is_decimal(uint32_t c);
/* str.lower() of the character alone, when that is one character (every code point but U+0130). */
uint32_t uc_to_lower(uint32_t c);
/* The two properties of the final-sigma rule of str.lower(); uc_is_cased is false for case-ignorable
 * characters (the rule skips those first). */
int uc_is_case_ignorable(uint32_t c);
int uc_is_cased(uint32_t c);

#endif
