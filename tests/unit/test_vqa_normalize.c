/* The answer normalisation (docs/scoring.md, "Normalisation: W, P and D") and the Python string
 * semantics under it: every row of its table of examples by hand, each rule alone, then ~900 inputs
 * compared with what Python itself gives (tests/data/score/normalize_vectors.json, written by
 * tests/reference/vqa_eval_reference.py). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/pystr.h"
#include "data/unicode.h"
#include "data/vqa_normalize.h"
#include "tests/harness.h"

typedef char *(*norm_fn)(const char *);

/* Checks fn(in) == want and frees the result. */
static void expect(struct test_ctx *t, norm_fn fn, const char *in, const char *want)
{
    char *got = fn(in);
    CHECKF(t, strcmp(got, want) == 0, "\"%s\" -> \"%s\", expected \"%s\"", in, got, want);
    free(got);
}

static char *pd(const char *s)
{
    char *p = vqa_punctuation(s);
    char *d = vqa_digit_article(p);
    free(p);
    return d;
}

static char *repeat(const char *head, char c, int n)
{
    char *s = xmalloc(strlen(head) + (size_t)n + 1);
    strcpy(s, head);
    memset(s + strlen(head), c, (size_t)n);
    s[strlen(head) + (size_t)n] = '\0';
    return s;
}

/* Every row of the table of examples in docs/scoring.md: input, P, then D(P). */
static void test_spec_table(struct test_ctx *t)
{
    static const char *const rows[][3] = {
        {"yes!", "yes ", "yes"},
        {"Yes.", "Yes", "yes"},
        {"t-shirt", "t shirt", "t shirt"},
        {"1,000", "1000", "1000"},
        {"1,000-2", "10002", "10002"}, /* \d,\d present: every mark is deleted */
        {"left, right", "left right", "left right"},
        {"hi (there)", "hi there ", "hi there"},
        {"a/b", "a b", "b"}, /* "a" is an article */
        {"5,a", "5 a", "5"},
        {"Two Dogs", "Two Dogs", "2 dogs"},
        {"none", "none", "0"},
        {"dont", "dont", "don't"},
        {"Im", "Im", "im"},
        {"10:30", "10:30", "10:30"},
        {"50%", "50%", "50%"},
        {"it's", "it's", "it's"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        expect(t, vqa_punctuation, rows[i][0], rows[i][1]);
        expect(t, pd, rows[i][0], rows[i][2]);
    }
    /* x + 40 periods: 32 are removed, 8 stay */
    char *in = repeat("x", '.', 40), *want = repeat("x", '.', 8);
    expect(t, vqa_punctuation, in, want);
    expect(t, pd, in, want);
    free(in);
    free(want);
}

static void test_period_rule(struct test_ctx *t)
{
    expect(t, vqa_punctuation, "2.", "2");
    expect(t, vqa_punctuation, "3.5", "3.5");
    expect(t, vqa_punctuation, ".5", ".5");
    expect(t, vqa_punctuation, "u.s.a.", "usa");
    expect(t, vqa_punctuation, "1.a", "1a");
    expect(t, vqa_punctuation, "..5", ".5");              /* the look-ahead sees the original text */
    expect(t, vqa_punctuation, "5.\xd9\xa3", "5.\xd9\xa3"); /* U+0663 ARABIC-INDIC THREE is a \d */
    expect(t, vqa_punctuation, "5.\xc2\xb2", "5\xc2\xb2");  /* U+00B2 SUPERSCRIPT TWO is not */
    /* the cap counts removals, left to right: 32 removed, the 33rd removable one stays, and periods
     * before digits neither count nor go */
    char *in = repeat("", '.', 33);
    expect(t, vqa_punctuation, in, ".");
    free(in);
    in = repeat("a", '.', 32);
    expect(t, vqa_punctuation, in, "a");
    free(in);
    in = repeat(".5", '.', 33);
    expect(t, vqa_punctuation, in, ".5.");
    free(in);
}

static void test_punctuation_decisions(struct test_ctx *t)
{
    /* each mark decided on the ORIGINAL string: deleted when "p " or " p" occurs in it, else a space */
    expect(t, vqa_punctuation, "a- b", "a b");
    expect(t, vqa_punctuation, "a -b", "a b");
    expect(t, vqa_punctuation, "a-b", "a b");
    expect(t, vqa_punctuation, "a-b c- d", "ab c d");
    expect(t, vqa_punctuation, "[x] y", " x y");
    expect(t, vqa_punctuation, "what?!", "what  ");
    expect(t, vqa_punctuation, "a ? b!", "a  b ");
    /* comma_num: a digit, a comma and a digit anywhere delete every mark, Unicode digits included */
    expect(t, vqa_punctuation, "x,y", "x y");
    expect(t, vqa_punctuation, "1,a", "1 a");
    expect(t, vqa_punctuation, "a,1", "a 1");
    expect(t, vqa_punctuation, "(1,2)-x", "12x");
    expect(t, vqa_punctuation, "\xd9\xa1,\xd9\xa2/x", "\xd9\xa1\xd9\xa2x"); /* U+0661 , U+0662 */
    /* all 21 marks, and what is kept */
    expect(t, vqa_punctuation, "a;b/c[d]e\"f{g}h(i)j=k+l\\m_n-o>p<q@r`s,t?u!", "a b c d e f g h i j k l m n o p q r s t u ");
    expect(t, vqa_punctuation, "'#$%&*^|~:", "'#$%&*^|~:");
}

static void test_digit_article(struct test_ctx *t)
{
    expect(t, vqa_digit_article, "one two three four five six seven eight nine ten zero", "1 2 3 4 5 6 7 8 9 10 0");
    expect(t, vqa_digit_article, "The a AN the", "");
    expect(t, vqa_digit_article, "a none", "0"); /* mapped before the article test */
    expect(t, vqa_digit_article, "  many   spaces\there ", "many spaces here");
    expect(t, vqa_digit_article, "Ten", "10");
    expect(t, vqa_digit_article, "tens", "tens");
    /* contractions: the table's quirks are kept */
    expect(t, vqa_digit_article, "somebody'd", "somebodyd");
    expect(t, vqa_digit_article, "Ive", "ive"); /* the capitalised keys never match */
    expect(t, vqa_digit_article, "I'dve", "i'dve");
    expect(t, vqa_digit_article, "Id've", "id've");
    expect(t, vqa_digit_article, "youre wont", "you're won't");
    expect(t, vqa_digit_article, "let's she's", "let's she's");
    expect(t, vqa_digit_article, "y'all'dve ow's'at", "y'all'd've 'ow's'at");
    expect(t, vqa_digit_article, "twas", "'twas");
}

static void test_whitespace(struct test_ctx *t)
{
    expect(t, vqa_clean_whitespace, " \t yes \n", "yes");
    expect(t, vqa_clean_whitespace, "a\tb\nc", "a b c");
    expect(t, vqa_clean_whitespace, "\x1cyes\x1f", "yes");                        /* 0x1C-0x1F */
    expect(t, vqa_clean_whitespace, "\xc2\xa0yes\xe2\x80\x83", "yes");            /* U+00A0, U+2003 */
    expect(t, vqa_clean_whitespace, "\xe3\x80\x80yes\xc2\x85", "yes");            /* U+3000, U+0085 */
    expect(t, vqa_clean_whitespace, "\xe2\x80\x8byes", "\xe2\x80\x8byes");        /* U+200B is not a space */
    expect(t, vqa_clean_whitespace, "\xe1\xa0\x8eyes", "\xe1\xa0\x8eyes");        /* nor U+180E since Unicode 6.3 */
    expect(t, vqa_clean_whitespace, " \xc2\xa0 ", "");
    /* split() uses the same spaces */
    expect(t, vqa_digit_article, "two\xe3\x80\x80" "dogs\xc2\xa0the\x1c" "end", "2 dogs end");
}

static void test_lower(struct test_ctx *t)
{
    expect(t, py_lower, "\xc3\x84\xc3\x96\xc3\x9c \xc3\x89", "\xc3\xa4\xc3\xb6\xc3\xbc \xc3\xa9"); /* ÄÖÜ É */
    expect(t, py_lower, "\xd0\x96 \xd0\x81 \xd0\x87", "\xd0\xb6 \xd1\x91 \xd1\x97");                 /* Ж Ё Ї */
    expect(t, py_lower, "\xc4\xb0", "i\xcc\x87");                         /* İ -> i + U+0307 */
    expect(t, py_lower, "\xe2\x84\xaa", "k");                             /* KELVIN SIGN */
    expect(t, py_lower, "\xe1\xba\x9e", "\xc3\x9f");                      /* ẞ -> ß */
    expect(t, py_lower, "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8");          /* DESERET CAPITAL LONG I */
    /* capital sigma: final after a cased letter when no cased letter follows */
    expect(t, py_lower, "\xce\xa3", "\xcf\x83");                                          /* Σ -> σ */
    expect(t, py_lower, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* ΟΔΟΣ -> οδος */
    expect(t, py_lower, "A\xce\xa3" "b", "a\xcf\x83" "b");
    expect(t, py_lower, "A\xcc\x81\xce\xa3", "a\xcc\x81\xcf\x82");   /* a combining accent is skipped */
    expect(t, py_lower, "A\xce\xa3\xcc\x81", "a\xcf\x82\xcc\x81");
    expect(t, py_lower, "1\xce\xa3", "1\xcf\x83");                    /* a digit is not cased */
    expect(t, py_lower, "A\xce\xa3 b", "a\xcf\x82 b");
    /* bytes that are not UTF-8 stay as they are */
    expect(t, py_lower, "A\xff" "B\xc3", "a\xff" "b\xc3");
}

static void test_unicode_tables(struct test_ctx *t)
{
    CHECK(t, uc_is_space(0x1C) && uc_is_space(0xA0) && uc_is_space(0x3000) && !uc_is_space(0x200B));
    CHECK(t, uc_is_decimal('7') && uc_is_decimal(0x0663) && uc_is_decimal(0xFF11) && uc_is_decimal(0x1D7CE));
    CHECK(t, !uc_is_decimal(0xB2) && !uc_is_decimal(0x2460) && !uc_is_decimal('a'));
    CHECK_INT(t, uc_to_lower('A'), 'a');
    CHECK_INT(t, uc_to_lower(0x0100), 0x0101); /* stride-2 run */
    CHECK_INT(t, uc_to_lower(0x0101), 0x0101);
    CHECK_INT(t, uc_to_lower(0x2126), 0x03C9); /* OHM SIGN */
    CHECK_INT(t, uc_to_lower(0x1F88), 0x1F80); /* titlecase */
    CHECK_INT(t, uc_to_lower(0x10FFFF), 0x10FFFF);
    CHECK(t, uc_is_case_ignorable(0x0301) && uc_is_case_ignorable('\'') && uc_is_case_ignorable(0xAD));
    CHECK(t, uc_is_cased('A') && uc_is_cased(0x03C3) && !uc_is_cased('1') && !uc_is_cased(0x0301));
    CHECK_STR(t, uc_tables_unicode_version, "14.0.0");
    char buf[4];
    uint32_t c;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t n = utf8_encode(cp, buf);
        char s[5] = {0};
        memcpy(s, buf, n);
        CHECKF(t, utf8_decode(s, 0, &c) == n && c == cp, "UTF-8 round trip of U+%04X", cp);
    }
    /* overlong, surrogate, truncated and out-of-range sequences are invalid, one byte at a time */
    static const char *const bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(t, utf8_decode(bad[i], 0, &c) == 1 && c == UC_INVALID);
}

static void test_gqa_normalize(struct test_ctx *t)
{
    expect(t, gqa_normalize, "The Pipe.", "pipe");
    expect(t, gqa_normalize, "two", "two"); /* no number map */
    expect(t, gqa_normalize, "dont", "dont"); /* no contractions */
    expect(t, gqa_normalize, "t-shirt", "t shirt");
    expect(t, gqa_normalize, "at the camera", "at camera");
}

/* ---- what Python gives ---------------------------------------------------------------------------- */

static char *split_joined(const char *s)
{
    char *out = xmalloc(strlen(s) + 1);
    size_t pos = 0, start, len, o = 0;
    while (py_next_word(s, &pos, &start, &len)) {
        if (o)
            out[o++] = '|';
        memcpy(out + o, s + start, len);
        o += len;
    }
    out[o] = '\0';
    return out;
}

static void test_python_vectors(struct test_ctx *t)
{
    json_error_t je;
    json_t *root = json_load_file("tests/data/score/normalize_vectors.json", 0, &je);
    CHECKF(t, json_is_array(root), "cannot load the fixture: %s", je.text);
    if (!root)
        return;
    static const struct {
        const char *key;
        norm_fn fn;
    } fns[] = {{"W", vqa_clean_whitespace}, {"P", vqa_punctuation}, {"D", vqa_digit_article}, {"PD", pd},
               {"gqa", gqa_normalize},      {"lower", py_lower},     {"strip", py_strip}};
    size_t i;
    json_t *v;
    int compared = 0;
    json_array_foreach(root, i, v) {
        const char *in = json_string_value(json_object_get(v, "in"));
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
            char *got = fns[k].fn(in);
            const char *want = json_string_value(json_object_get(v, fns[k].key));
            CHECKF(t, want && strcmp(got, want) == 0, "vector %zu, %s(\"%s\") = \"%s\", Python gives \"%s\"", i,
                   fns[k].key, in, got, want);
            free(got);
            compared++;
        }
        /* split(): the words joined with '|' (no fixture input holds a '|' inside a word's neighbours) */
        json_t *words = json_object_get(v, "split"), *w;
        size_t k;
        char *want = xcalloc(strlen(in) * 2 + 2, 1);
        json_array_foreach(words, k, w) {
            if (k)
                strcat(want, "|");
            strcat(want, json_string_value(w));
        }
        char *got = split_joined(in);
        if (!strchr(in, '|'))
            CHECKF(t, strcmp(got, want) == 0, "vector %zu, split(\"%s\") = %s, Python gives %s", i, in, got, want);
        free(got);
        free(want);
    }
    CHECKF(t, i > 800 && compared > 5600, "only %zu vectors", i);
    json_decref(root);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"normalisation table", test_spec_table},
        {"period rule and its 32-removal cap", test_period_rule},
        {"punctuation decided on the original string", test_punctuation_decisions},
        {"number words, articles, contractions", test_digit_article},
        {"Unicode whitespace", test_whitespace},
        {"lower-casing as str.lower", test_lower},
        {"Unicode tables and UTF-8", test_unicode_tables},
        {"GQA normaliser", test_gqa_normalize},
        {"every vector against Python", test_python_vectors},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
