#include "data/vqa_normalize.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/pystr.h"

/* The 21 marks of processPunctuation, in the tool's order (the order does not change the result: a
 * mark is only ever replaced by a space or deleted, and the decision is taken on the original). */
static const char punct_marks[] = ";/[]\"{}()=+\\_-><@`,?!";

struct word_map {
    const char *from, *to;
};

static const struct word_map number_map[] = {
    {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"}, {"three", "3"}, {"four", "4"},
    {"five", "5"}, {"six", "6"}, {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"},
};

static const char *const articles[] = {"a", "an", "the"};

/* The tool's table as it is, in its order: the four keys with a capital letter never match (words are
 * lower-cased first), and "somebody'd" maps to "somebodyd". */
static const struct word_map contractions[] = {
    {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"},
    {"couldnt", "couldn't"}, {"couldn'tve", "couldn't've"}, {"couldnt've", "couldn't've"},
    {"didnt", "didn't"}, {"doesnt", "doesn't"}, {"dont", "don't"}, {"hadnt", "hadn't"},
    {"hadnt've", "hadn't've"}, {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"}, {"havent", "haven't"},
    {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"}, {"hes", "he's"}, {"howd", "how'd"},
    {"howll", "how'll"}, {"hows", "how's"}, {"Id've", "I'd've"}, {"I'dve", "I'd've"}, {"Im", "I'm"},
    {"Ive", "I've"}, {"isnt", "isn't"}, {"itd", "it'd"}, {"itd've", "it'd've"}, {"it'dve", "it'd've"},
    {"itll", "it'll"}, {"let's", "let's"}, {"maam", "ma'am"}, {"mightnt", "mightn't"},
    {"mightnt've", "mightn't've"}, {"mightn'tve", "mightn't've"}, {"mightve", "might've"},
    {"mustnt", "mustn't"}, {"mustve", "must've"}, {"neednt", "needn't"}, {"notve", "not've"},
    {"oclock", "o'clock"}, {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"},
    {"'ow'sat", "'ow's'at"}, {"shant", "shan't"}, {"shed've", "she'd've"}, {"she'dve", "she'd've"},
    {"she's", "she's"}, {"shouldve", "should've"}, {"shouldnt", "shouldn't"}, {"shouldnt've", "shouldn't've"},
    {"shouldn'tve", "shouldn't've"}, {"somebody'd", "somebodyd"}, {"somebodyd've", "somebody'd've"},
    {"somebody'dve", "somebody'd've"}, {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"},
    {"someoned", "someone'd"}, {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"},
    {"someonell", "someone'll"}, {"someones", "someone's"}, {"somethingd", "something'd"},
    {"somethingd've", "something'd've"}, {"something'dve", "something'd've"}, {"somethingll", "something'll"},
    {"thats", "that's"}, {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"},
    {"therere", "there're"}, {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"},
    {"they'dve", "they'd've"}, {"theyll", "they'll"}, {"theyre", "they're"}, {"theyve", "they've"},
    {"twas", "'twas"}, {"wasnt", "wasn't"}, {"wed've", "we'd've"}, {"we'dve", "we'd've"}, {"weve", "we've"},
    {"werent", "weren't"}, {"whatll", "what'll"}, {"whatre", "what're"}, {"whats", "what's"},
    {"whatve", "what've"}, {"whens", "when's"}, {"whered", "where'd"}, {"wheres", "where's"},
    {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"}, {"who'dve", "who'd've"},
    {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"}, {"whyll", "why'll"}, {"whyre", "why're"},
    {"whys", "why's"}, {"wont", "won't"}, {"wouldve", "would've"}, {"wouldnt", "wouldn't"},
    {"wouldnt've", "wouldn't've"}, {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
    {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"},
    {"y'all'dve", "y'all'd've"}, {"youd", "you'd"}, {"youd've", "you'd've"}, {"you'dve", "you'd've"},
    {"youll", "you'll"}, {"youre", "you're"}, {"youve", "you've"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

char *vqa_clean_whitespace(const char *s)
{
    char *t = xstrdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    char *out = py_strip(t);
    free(t);
    return out;
}

/* re.search(r"(\d)(\,)(\d)", s) */
static int has_digit_comma_digit(const char *s)
{
    int prev_digit = 0;
    uint32_t c;
    for (size_t i = 0, len; s[i]; i += len) {
        len = utf8_decode(s, i, &c);
        if (c == ',' && prev_digit && py_digit_at(s, i + 1))
            return 1;
        prev_digit = py_digit_at(s, i);
    }
    return 0;
}

static int contains_pair(const char *s, char a, char b)
{
    for (; s[0] && s[1]; s++)
        if (s[0] == a && s[1] == b)
            return 1;
    return 0;
}

char *vqa_punctuation(const char *s)
{
    int comma_num = has_digit_comma_digit(s);
    unsigned char delete_mark[256] = {0}, is_mark[256] = {0};
    for (const char *p = punct_marks; *p; p++) {
        unsigned char m = (unsigned char)*p;
        is_mark[m] = 1;
        delete_mark[m] = comma_num || contains_pair(s, *p, ' ') || contains_pair(s, ' ', *p);
    }
    size_t n = strlen(s), o = 0;
    char *marks_done = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (!is_mark[b])
            marks_done[o++] = s[i];
        else if (!delete_mark[b])
            marks_done[o++] = ' ';
    }
    marks_done[o] = '\0';
    /* periodStrip.sub("", out, re.UNICODE): "(?!<=\d)(\.)(?!\d)" deletes a '.' that no digit follows
     * (its first group is a look-ahead for the text "<=" and a digit, which never matches at a '.'),
     * and the flag lands in the `count` argument: at most 32 deletions. */
    char *out = xmalloc(o + 1);
    size_t k = 0;
    int removed = 0;
    for (size_t i = 0; i < o; i++) {
        if (marks_done[i] == '.' && removed < VQA_PERIOD_CAP && !py_digit_at(marks_done, i + 1)) {
            removed++;
            continue;
        }
        out[k++] = marks_done[i];
    }
    out[k] = '\0';
    free(marks_done);
    return out;
}

static int word_is(const char *w, size_t len, const char *key)
{
    return strlen(key) == len && memcmp(w, key, len) == 0;
}

/* Replaces the word (w, len) by its value when it is exactly a key of the map. */
static void map_word(const struct word_map *map, size_t n, const char **w, size_t *len)
{
    for (size_t i = 0; i < n; i++)
        if (word_is(*w, *len, map[i].from)) {
            *w = map[i].to;
            *len = strlen(*w);
            return;
        }
}

/* Lower-case, split, (map number words,) drop articles, (restore contractions,) join with spaces.
 * The number map comes before the article test, so "none" becomes "0" and stays. */
static char *process_words(const char *s, int vqa_maps)
{
    char *low = py_lower(s);
    size_t cap = 2 * strlen(low) + 16, o = 0;
    char *out = xmalloc(cap);
    size_t pos = 0, start, len;
    while (py_next_word(low, &pos, &start, &len)) {
        const char *w = low + start;
        if (vqa_maps)
            map_word(number_map, COUNT(number_map), &w, &len);
        int article = 0;
        for (size_t i = 0; i < COUNT(articles); i++)
            article |= word_is(w, len, articles[i]);
        if (article)
            continue;
        if (vqa_maps)
            map_word(contractions, COUNT(contractions), &w, &len);
        if (o + len + 2 > cap) {
            cap = 2 * (o + len + 2);
            out = xrealloc(out, cap);
        }
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, w, len);
        o += len;
    }
    out[o] = '\0';
    free(low);
    return out;
}

char *vqa_digit_article(const char *s)
{
    return process_words(s, 1);
}

char *gqa_normalize(const char *s)
{
    char *p = vqa_punctuation(s);
    char *out = process_words(p, 0);
    free(p);
    return out;
}
