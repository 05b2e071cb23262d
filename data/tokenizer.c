#include "data/tokenizer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "data/spm_shim.h"

const char *tokenizer_kind_name(int kind)
{
    return kind == TOK_SENTENCEPIECE ? "sentencepiece" : kind == TOK_WORDS ? "words" : "?";
}

int tokenizer_kind_from_name(const char *name)
{
    return strcmp(name, "sentencepiece") == 0 ? TOK_SENTENCEPIECE : strcmp(name, "words") == 0 ? TOK_WORDS : -1;
}

static int load_spm(struct tokenizer *t, const void *bytes, size_t n, const char *what, struct err *e)
{
    char why[512] = "";
    t->spm = spm_load(bytes, n, why, sizeof why);
    if (!t->spm)
        return err_set(e, "%s: not a SentencePiece model that loads: %s", what, why);
    static const char *const special[3] = {"<pad>", "</s>", "<unk>"};
    for (int id = 0; id < 3; id++)
        if (spm_piece_id(t->spm, special[id]) != id)
            return err_set(e, "%s: not a T5 SentencePiece model: %s should have id %d", what, special[id], id);
    t->n_base = spm_piece_count(t->spm);
    return 0;
}

static int load_words(struct tokenizer *t, const char *bytes, size_t n, const char *what, struct err *e)
{
    static const char *const special[3] = {"<pad>", "</s>", "<unk>"};
    size_t start = 0;
    int line = 0;
    char word[256];
    for (size_t i = 0; i <= n; i++) {
        if (i < n && bytes[i] != '\n')
            continue;
        size_t len = i - start;
        line++;
        if (len == 0 && i == n)
            break;
        if (len == 0 || len >= sizeof word)
            return err_set(e, "%s:%d: expected one word per line, got %s", what, line,
                           len ? "a line that is too long" : "an empty line");
        memcpy(word, bytes + start, len);
        word[len] = '\0';
        for (size_t c = 0; c < len; c++)
            if (isspace((unsigned char)word[c]) || (line > 3 && isupper((unsigned char)word[c])))
                return err_set(e, "%s:%d: the word '%s' has a space or an upper-case letter", what, line, word);
        if (line <= 3 && strcmp(word, special[line - 1]) != 0)
            return err_set(e, "%s:%d: expected %s (the word list starts with <pad>, </s>, <unk>)", what, line,
                           special[line - 1]);
        if (strtab_find(&t->words, word) >= 0)
            return err_set(e, "%s:%d: the word '%s' appears twice", what, line, word);
        strtab_add(&t->words, word);
        start = i + 1;
    }
    if (t->words.n < 4)
        return err_set(e, "%s: a word list needs <pad>, </s>, <unk> and at least one word", what);
    t->n_base = (int)t->words.n;
    return 0;
}

int tokenizer_load_bytes(struct tokenizer *t, int kind, const void *bytes, size_t n, const char *what,
                         struct err *e)
{
    memset(t, 0, sizeof *t);
    t->kind = kind;
    int rc = kind == TOK_SENTENCEPIECE ? load_spm(t, bytes, n, what, e)
             : kind == TOK_WORDS       ? load_words(t, bytes, n, what, e)
                                       : err_set(e, "%s: unknown tokenizer kind %d", what, kind);
    if (rc != 0) {
        tokenizer_free(t);
        return -1;
    }
    t->vocab_size = t->n_base + 2 * TOK_N_SENTINELS;
    t->model = xmalloc(n + 1);
    memcpy(t->model, bytes, n);
    t->model[n] = '\0';
    t->model_len = n;
    return 0;
}

int tokenizer_load_file(struct tokenizer *t, int kind, const char *path, struct err *e)
{
    char *bytes = NULL;
    size_t n = 0;
    memset(t, 0, sizeof *t);
    if (read_file(path, &bytes, &n, e) != 0)
        return err_prefix(e, "tokenizer");
    int rc = tokenizer_load_bytes(t, kind, bytes, n, path, e);
    free(bytes);
    return rc;
}

void tokenizer_free(struct tokenizer *t)
{
    if (t->spm)
        spm_free(t->spm);
    strtab_free(&t->words);
    free(t->model);
    memset(t, 0, sizeof *t);
}

int tokenizer_extra_id(const struct tokenizer *t, int k)
{
    return t->vocab_size - 101 - k;
}

int tokenizer_vis_extra_id(const struct tokenizer *t, int k)
{
    return t->vocab_size - 1 - k;
}

int tokenizer_is_special(const struct tokenizer *t, int32_t id)
{
    return id == TOK_PAD || id == TOK_EOS || id == TOK_UNK || id >= t->n_base;
}

/* "<extra_id_12>" or "<vis_extra_id_3>" at s: its id and length, or 0. */
static int sentinel_at(const struct tokenizer *t, const char *s, int32_t *id)
{
    int k = -1, len = 0;
    if (sscanf(s, "<extra_id_%d>%n", &k, &len) == 1 && len > 0 && k >= 0 && k < TOK_N_SENTINELS) {
        *id = tokenizer_extra_id(t, k);
        return len;
    }
    len = 0;
    if (sscanf(s, "<vis_extra_id_%d>%n", &k, &len) == 1 && len > 0 && k >= 0 && k < TOK_N_SENTINELS) {
        *id = tokenizer_vis_extra_id(t, k);
        return len;
    }
    return 0;
}

struct idbuf {
    int32_t *v;
    int n, cap;
};

static void push(struct idbuf *b, int32_t id)
{
    if (b->n >= b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->v = xrealloc(b->v, (size_t)b->cap * sizeof *b->v);
    }
    b->v[b->n++] = id;
}

/* Lower-cased words and single punctuation marks; <extra_id_k> literals are their ids. */
static void encode_words(const struct tokenizer *t, const char *text, struct idbuf *out)
{
    size_t n = strlen(text);
    char *word = xmalloc(n + 1);
    size_t w = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)text[i];
        int32_t sid;
        int slen = c == '<' ? sentinel_at(t, text + i, &sid) : 0;
        int boundary = c == '\0' || isspace(c) || (c < 0x80 && ispunct(c)) || slen > 0;
        if (boundary && w > 0) {
            word[w] = '\0';
            long id = strtab_lookup(&t->words, word);
            push(out, id >= 3 ? (int32_t)id : TOK_UNK);
            w = 0;
        }
        if (slen > 0) {
            push(out, sid);
            i += (size_t)slen - 1;
        } else if (c && c < 0x80 && ispunct(c)) {
            char p[2] = {(char)c, '\0'};
            long id = strtab_lookup(&t->words, p);
            push(out, id >= 3 ? (int32_t)id : TOK_UNK);
        } else if (!boundary) {
            word[w++] = (char)tolower(c);
        }
    }
    free(word);
}

/* SentencePiece text with <extra_id_k> literals (the fewvlm prompt): as HF's T5 tokenizer, the text is
 * split at the sentinels, which become their ids, the white space next to them is dropped, and each
 * piece of text between them is encoded on its own. */
static int encode_pieces(const struct tokenizer *t, const char *text, struct idbuf *out, struct err *e)
{
    size_t n = strlen(text);
    char *seg = xmalloc(n + 1);
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0;) {
        size_t j = i;
        int32_t sid = -1;
        int slen = 0;
        while (j < n && (text[j] != '<' || (slen = sentinel_at(t, text + j, &sid)) == 0))
            j++;
        size_t a = i, z = j; /* the text before the sentinel (or the end), trimmed */
        while (a < z && isspace((unsigned char)text[a]))
            a++;
        while (z > a && isspace((unsigned char)text[z - 1]))
            z--;
        if (z > a) {
            memcpy(seg, text + a, z - a);
            seg[z - a] = '\0';
            int *pieces = NULL, np = 0;
            char why[512];
            if (spm_encode(t->spm, seg, &pieces, &np, why, sizeof why) != 0) {
                rc = err_set(e, "cannot tokenize \"%s\": %s", text, why);
                break;
            }
            for (int k = 0; k < np; k++)
                push(out, pieces[k]);
            free(pieces);
        }
        if (j >= n)
            break;
        push(out, sid);
        i = j + (size_t)slen;
    }
    free(seg);
    return rc;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, int max_len, int32_t **ids, int *n,
                     struct err *e)
{
    struct idbuf b = {0};
    if (t->kind == TOK_SENTENCEPIECE) {
        if (encode_pieces(t, text, &b, e) != 0) {
            free(b.v);
            return -1;
        }
    } else {
        encode_words(t, text, &b);
    }
    if (max_len > 0 && b.n > max_len - 1)
        b.n = max_len - 1;
    push(&b, TOK_EOS);
    *ids = b.v;
    *n = b.n;
    return 0;
}

/* Replaces every `from` by `to` (to is never longer than from), in place. */
static void replace_all(char *s, const char *from, const char *to)
{
    size_t lf = strlen(from), lt = strlen(to);
    char *r = s, *w = s;
    while (*r) {
        if (strncmp(r, from, lf) == 0) {
            memcpy(w, to, lt);
            w += lt;
            r += lf;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

char *tokenizer_decode(const struct tokenizer *t, const int32_t *ids, int n)
{
    int *kept = xmalloc((size_t)(n ? n : 1) * sizeof *kept);
    int nk = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && !tokenizer_is_special(t, ids[i]))
            kept[nk++] = ids[i];
    char *text = NULL;
    if (t->kind == TOK_SENTENCEPIECE) {
        char why[256];
        if (spm_decode(t->spm, kept, nk, &text, why, sizeof why) != 0)
            text = xstrdup("");
    } else {
        size_t len = 1;
        for (int i = 0; i < nk; i++)
            len += strlen(strtab_get(&t->words, kept[i])) + 1;
        text = xmalloc(len);
        text[0] = '\0';
        for (int i = 0; i < nk; i++) {
            if (i)
                strcat(text, " ");
            strcat(text, strtab_get(&t->words, kept[i]));
        }
    }
    free(kept);
    /* HF's clean_up_tokenization, in its order. */
    static const char *const rules[][2] = {{" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
                                           {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" 's", "'s"},
                                           {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
        replace_all(text, rules[r][0], rules[r][1]);
    return text;
}
