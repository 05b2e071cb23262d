/* The language corpus of the synthetic benchmark (data/synth_language.c): every answer checked by a
 * reading of the passage and the question written here independently of the generator (with and
 * without the order questions about things), the answer kinds and the yes/no balance, words within the vocabulary and never a scene's, the blank image the
 * pairs come with, and the even interleaving with the caption pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "data/synth.h"
#include "tests/harness.h"

static struct synth_config language_config(void)
{
    return (struct synth_config){.seed = 7, .train_images = 300, .test_images = 100, .pool_questions = 1500,
                                 .test_questions = 500, .pretrain_pairs = 300, .language = 1,
                                 .language_pairs = 100, .feature_dim = 32, .feature_noise = 0.2,
                                 .annotator_error = 0.1, .variant_rate = 0.25};
}

/* ---- an independent reading of a passage ----------------------------------------------------- */

#define MAX_PEOPLE 8
#define MAX_KINDS 16

struct reading {
    int n;
    char name[MAX_PEOPLE][32];                 /* left to right */
    int n_kinds;
    char kind[MAX_KINDS][32];                  /* singular */
    int count[MAX_PEOPLE][MAX_KINDS];
    char color[MAX_PEOPLE][MAX_KINDS][32], size[MAX_PEOPLE][MAX_KINDS][32], material[MAX_PEOPLE][MAX_KINDS][32];
};

static int person(const struct reading *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->name[i], name))
            return i;
    return -1;
}

/* The kind a word names, singular or with an "s"; added when new. */
static int kind_of(struct reading *r, const char *word, int add)
{
    char w[32];
    snprintf(w, sizeof w, "%s", word);
    size_t len = strlen(w);
    if (len > 1 && w[len - 1] == 's')
        w[len - 1] = '\0';
    for (int k = 0; k < r->n_kinds; k++)
        if (!strcmp(r->kind[k], w))
            return k;
    if (!add || r->n_kinds == MAX_KINDS)
        return -1;
    snprintf(r->kind[r->n_kinds], sizeof r->kind[0], "%s", w);
    return r->n_kinds++;
}

/* "from left to right : a , b and c . a has 2 red cups and a blue hat . b has a cup ." -> 0, or -1. */
static int read_passage(const char *text, struct reading *r)
{
    memset(r, 0, sizeof *r);
    char buf[SYNTH_CAPTION_MAX], *w[128];
    int nw = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, " "); tok && nw < 128; tok = strtok(NULL, " "))
        w[nw++] = tok;
    if (nw < 6 || strcmp(w[0], "from") || strcmp(w[1], "left") || strcmp(w[2], "to") || strcmp(w[3], "right") ||
        strcmp(w[4], ":"))
        return -1;
    int i = 5;
    for (; i < nw && strcmp(w[i], "."); i++)
        if (strcmp(w[i], ",") && strcmp(w[i], "and") && r->n < MAX_PEOPLE)
            snprintf(r->name[r->n++], sizeof r->name[0], "%s", w[i]);
    for (i++; i < nw;) {
        int p = person(r, w[i]);
        if (p < 0 || i + 1 >= nw || strcmp(w[i + 1], "has"))
            return -1;
        for (i += 2; i < nw && strcmp(w[i], ".");) {
            if (!strcmp(w[i], "and")) {
                i++;
                continue;
            }
            if (i + 4 >= nw) /* "a small red rubber ball", "2 large blue metal cups" */
                return -1;
            int c = !strcmp(w[i], "a") ? 1 : atoi(w[i]);
            int k = kind_of(r, w[i + 4], 1);
            if (c < 1 || k < 0 || r->count[p][k])
                return -1;
            r->count[p][k] = c;
            snprintf(r->size[p][k], sizeof r->size[0][0], "%s", w[i + 1]);
            snprintf(r->color[p][k], sizeof r->color[0][0], "%s", w[i + 2]);
            snprintf(r->material[p][k], sizeof r->material[0][0], "%s", w[i + 3]);
            i += 5;
        }
        i++; /* the period */
    }
    return r->n >= 2 ? 0 : -1;
}

static int total(const struct reading *r, int k)
{
    int t = 0;
    for (int i = 0; k >= 0 && i < r->n; i++)
        t += r->count[i][k];
    return t;
}

static int in_list(const char *const *list, int n, const char *w)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], w))
            return 1;
    return 0;
}

/* Which attribute a word names: 0 colour, 1 size, 2 material, -1 none. */
static int attr_of(const char *w)
{
    static const char *const *const lists[3] = {synth_color_names, synth_size_names, synth_material_names};
    static const int lens[3] = {SYNTH_COLORS, SYNTH_SIZES, SYNTH_MATERIALS};
    for (int a = 0; a < 3; a++)
        if (in_list(lists[a], lens[a], w))
            return a;
    return -1;
}

static const char *attr_value(const struct reading *r, int p, int k, int a)
{
    return a == 0 ? r->color[p][k] : a == 1 ? r->size[p][k] : r->material[p][k];
}

/* The one person whose things words[0..n-1] ("small red cups") name: the attributes given, the kind
 * last, in the number of their count; and the description must be the shortest that tells them
 * apart (with one attribute fewer, in the order colour, size, material, another person's match).
 * -1 when no one, or more than one, or a longer description than needed. */
static int owner_of(struct reading *r, char **words, int n)
{
    if (n < 1 || n > 4)
        return -1;
    int k = kind_of(r, words[n - 1], 0), plural = words[n - 1][strlen(words[n - 1]) - 1] == 's';
    int named[3] = {0}, n_named = n - 1;
    for (int i = 0; i < n - 1; i++) {
        int a = attr_of(words[i]);
        if (a < 0 || named[a])
            return -1;
        named[a] = 1;
    }
    if (k < 0 || (named[1] && !named[0]) || (named[2] && !named[1])) /* the generator's order of adding */
        return -1;
    int owner = -1, matches = 0, coarser = 0;
    for (int p = 0; p < r->n; p++) {
        if (!r->count[p][k])
            continue;
        int all = 1, fewer = 1;
        for (int i = 0; i < n - 1; i++) {
            int a = attr_of(words[i]);
            int same = !strcmp(attr_value(r, p, k, a), words[i]);
            all &= same;
            fewer &= a >= n_named - 1 || same; /* the first n_named - 1 attributes only */
        }
        if (all)
            owner = p, matches++;
        coarser += fewer;
    }
    if (matches != 1 || (n_named > 0 && coarser < 2) || plural != (r->count[owner][k] > 1))
        return -1;
    return owner;
}

/* "is the red cup left of the large books ?", "are the hats to the right of the kite ?" -> "yes" or
 * "no", or NULL when the question is not of that form or names its things wrongly. */
static const char *thing_order(struct reading *r, const char *q, char *out, size_t n)
{
    char buf[SYNTH_CAPTION_MAX], *w[32];
    int nw = 0;
    snprintf(buf, sizeof buf, "%s", q);
    for (char *tok = strtok(buf, " "); tok && nw < 32; tok = strtok(NULL, " "))
        w[nw++] = tok;
    if (nw < 7 || (strcmp(w[0], "is") && strcmp(w[0], "are")) || strcmp(w[1], "the") || strcmp(w[nw - 1], "?"))
        return NULL;
    int rel = 2;
    while (rel < nw && strcmp(w[rel], "left") && strcmp(w[rel], "right"))
        rel++;
    int subject_end = rel >= 4 && !strcmp(w[rel - 1], "the") && !strcmp(w[rel - 2], "to") ? rel - 2 : rel;
    if (rel + 3 >= nw || strcmp(w[rel + 1], "of") || strcmp(w[rel + 2], "the"))
        return NULL;
    int i = owner_of(r, w + 2, subject_end - 2), j = owner_of(r, w + rel + 3, nw - 1 - (rel + 3));
    if (i < 0 || j < 0 || i == j)
        return NULL;
    int k = kind_of(r, w[subject_end - 1], 0);
    if (!strcmp(w[0], "is") != (r->count[i][k] == 1)) /* the verb agrees with the subject */
        return NULL;
    snprintf(out, n, "%s", (!strcmp(w[rel], "left") ? i < j : i > j) ? "yes" : "no");
    return out;
}

/* Whether q asks the order of two things ("... left of the ...", "... to the right of the ..."); the
 * order of people names a person after "of". */
static int asks_thing_order(const char *q)
{
    return strstr(q, " left of the ") || strstr(q, " right of the ");
}

/* The answer to question q about the passage read into r, or NULL for a question it cannot read. */
static const char *answer(struct reading *r, const char *q, char *out, size_t n)
{
    char a[32], b[32], c[32], rest[8];
    int p, k, k2;
    if (asks_thing_order(q))
        return thing_order(r, q, out, n);
    if (sscanf(q, "what color is the %31s of %31s %7s", a, b, rest) == 3 ||
        sscanf(q, "what is the color of the %31s of %31s %7s", a, b, rest) == 3 ||
        sscanf(q, "what color are the %31s of %31s %7s", a, b, rest) == 3) {
        if ((p = person(r, b)) < 0 || (k = kind_of(r, a, 0)) < 0 || !r->count[p][k])
            return NULL;
        snprintf(out, n, "%s", r->color[p][k]);
    } else if (sscanf(q, "what size is the %31s of %31s %7s", a, b, rest) == 3 ||
               sscanf(q, "what size are the %31s of %31s %7s", a, b, rest) == 3) {
        if ((p = person(r, b)) < 0 || (k = kind_of(r, a, 0)) < 0 || !r->count[p][k])
            return NULL;
        snprintf(out, n, "%s", r->size[p][k]);
    } else if (sscanf(q, "what is the %31s of %31s made of %7s", a, b, rest) == 3 ||
               sscanf(q, "what are the %31s of %31s made of %7s", a, b, rest) == 3) {
        if ((p = person(r, b)) < 0 || (k = kind_of(r, a, 0)) < 0 || !r->count[p][k])
            return NULL;
        snprintf(out, n, "%s", r->material[p][k]);
    } else if (sscanf(q, "how many %31s does %31s have %7s", a, b, rest) == 3) {
        if ((p = person(r, b)) < 0)
            return NULL;
        k = kind_of(r, a, 0);
        snprintf(out, n, "%d", k < 0 ? 0 : r->count[p][k]);
    } else if (sscanf(q, "how many %31s are there %7s", a, rest) == 2 ||
               sscanf(q, "what is the number of %31s %7s", a, rest) == 2) {
        snprintf(out, n, "%d", total(r, kind_of(r, a, 0)));
    } else if ((!strstr(q, " any ") && sscanf(q, "does %31s have a %31s %7s", b, a, rest) == 3) ||
               sscanf(q, "does %31s have any %31s %7s", b, a, rest) == 3) {
        if ((p = person(r, b)) < 0)
            return NULL;
        k = kind_of(r, a, 0);
        snprintf(out, n, "%s", k >= 0 && r->count[p][k] ? "yes" : "no");
    } else if (sscanf(q, "is there a %31s %31s %7s", c, a, rest) == 3) {
        int yes = 0;
        k = kind_of(r, a, 0);
        for (int i = 0; k >= 0 && i < r->n; i++)
            yes |= r->count[i][k] && !strcmp(r->color[i][k], c);
        snprintf(out, n, "%s", yes ? "yes" : "no");
    } else if (sscanf(q, "are there more %31s than %31s %7s", a, b, rest) == 3) {
        k = kind_of(r, a, 0), k2 = kind_of(r, b, 0);
        snprintf(out, n, "%s", total(r, k) > total(r, k2) ? "yes" : "no");
    } else if (sscanf(q, "are there fewer %31s than %31s %7s", a, b, rest) == 3) {
        k = kind_of(r, a, 0), k2 = kind_of(r, b, 0);
        snprintf(out, n, "%s", total(r, k) < total(r, k2) ? "yes" : "no");
    } else if (sscanf(q, "is %31s to the %31s of %31s %7s", a, c, b, rest) == 4 ||
               sscanf(q, "is %31s %31s of %31s %7s", a, c, b, rest) == 4) {
        int i = person(r, a), j = person(r, b);
        if (i < 0 || j < 0 || i == j || (strcmp(c, "left") && strcmp(c, "right")))
            return NULL;
        snprintf(out, n, "%s", (!strcmp(c, "left") ? i < j : i > j) ? "yes" : "no");
    } else {
        return NULL;
    }
    return strcmp(rest, "?") ? NULL : out;
}

/* Which kind a question is: colour, count, possession, existence, comparison, size, order of
 * people, material, order of things. */
static int question_kind(const char *q)
{
    if (asks_thing_order(q))
        return 8;
    static const char *const openings[][2] = {{"what color", "what is the color"}, {"how many", "what is the number"},
                                              {"does ", "does "}, {"is there ", "is there "},
                                              {"are there ", "are there "}, {"what size", "what size"}};
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < 2; j++)
            if (!strncmp(q, openings[k][j], strlen(openings[k][j])))
                return k;
    return strstr(q, " made of ") ? 7 : 6;
}

/* Splits a pair's input "<passage> question: <q> answer: <extra_id_0>" into its two texts; without
 * a passage ("question: <q> answer: <extra_id_0>"), the passage is empty. */
static int split_input(const char *input, char *passage, char *question, size_t n)
{
    const char *qs = !strncmp(input, "question: ", 10) ? input - 1 : strstr(input, " question: ");
    const char *as = strstr(input, " answer: <extra_id_0>");
    if (!qs || !as || as < qs || strcmp(as, " answer: <extra_id_0>"))
        return -1;
    snprintf(passage, n, "%.*s", qs < input ? 0 : (int)(qs - input), input);
    snprintf(question, n, "%.*s", (int)(as - qs - 11), qs + 11);
    return 0;
}

static void check_answers(struct test_ctx *t, int thing_order)
{
    struct synth_config c = language_config();
    c.language_thing_order = thing_order;
    struct synth_pair *p = xmalloc(sizeof *p);
    int n_words, n_lang;
    const char *const *words = synth_words(&n_words), *const *lang = synth_language_words(&n_lang);
    /* Words of the scenes: a passage is about another world. */
    static const char *const scene_words[] = {"cube", "sphere", "cylinder", "cone", "cubes", "spheres", "cylinders",
                                              "cones", "thing", "things", "image", "shape", "material"};
    int read = 0, hidden = 0, yes = 0, no = 0, numbers = 0, colors = 0, sizes = 0, materials = 0, unknown = 0,
        scene = 0, bad_target = 0, kinds[9] = {0};
    const int n = 3000;
    for (int i = 0; i < n; i++) {
        synth_language_pair(&c, i, p);
        char passage[SYNTH_CAPTION_MAX], question[SYNTH_CAPTION_MAX], want[32], a[SYNTH_ANSWER_MAX];
        struct reading r;
        int have = split_input(p->input, passage, question, sizeof passage) == 0;
        if (have && !passage[0]) { /* a question without its passage: answered from the world it hides */
            hidden++;
            snprintf(passage, sizeof passage, "%s", p->caption);
        }
        if (!have || read_passage(passage, &r) != 0 ||
            !answer(&r, question, want, sizeof want)) {
            if (t->failures < 5)
                CHECKF(t, 0, "cannot read pair %d: '%s'", i, p->input);
            continue;
        }
        if (sscanf(p->target, "<extra_id_0> %23s <extra_id_1>", a) != 1 ||
            strcmp(strstr(p->target, "<extra_id_1>"), "<extra_id_1>")) {
            bad_target++;
            continue;
        }
        CHECKF(t, !strcmp(a, want), "pair %d: '%s' answered '%s', the passage says '%s'", i, question, a, want);
        read++;
        yes += !strcmp(a, "yes");
        no += !strcmp(a, "no");
        numbers += a[0] >= '0' && a[0] <= '9';
        colors += in_list(synth_color_names, SYNTH_COLORS, a);
        sizes += in_list(synth_size_names, SYNTH_SIZES, a);
        materials += in_list(synth_material_names, SYNTH_MATERIALS, a);
        kinds[question_kind(question)]++;
        char buf[SYNTH_CAPTION_MAX + 256];
        snprintf(buf, sizeof buf, "%s", p->input);
        for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
            if (!strcmp(w, "<extra_id_0>") || !strcmp(w, "question:") || !strcmp(w, "answer:")) /* the prompt's */
                continue;
            unknown += !in_list(words, n_words, w) && !in_list(lang, n_lang, w);
            scene += in_list(scene_words, (int)(sizeof scene_words / sizeof scene_words[0]), w);
        }
        CHECK_INT(t, p->image, synth_blank_image(&c));
        CHECK_INT(t, p->objective, SYNTH_LANGUAGE_QA);
    }
    CHECK_INT(t, read, n);
    CHECKF(t, hidden > n / 4 && hidden < n * 2 / 5, "%d of %d questions without their passage", hidden, n);
    CHECK_INT(t, bad_target, 0);
    CHECK_INT(t, unknown, 0);
    CHECK_INT(t, scene, 0);
    CHECK_INT(t, yes + no + numbers + colors + sizes + materials, read); /* every answer is of a known kind */
    CHECKF(t, yes > 0.4 * (yes + no) && no > 0.4 * (yes + no), "yes %d, no %d", yes, no);
    CHECKF(t, numbers > n / 10 && colors > n / 10 && sizes > n / 20 && materials > n / 20,
           "numbers %d, colours %d, sizes %d, materials %d", numbers, colors, sizes, materials);
    for (int k = 0; k < 8; k++) /* with thing_order, half the order questions are about things */
        CHECKF(t, kinds[k] > (k == 6 && thing_order ? n / 40 : n / 20), "question kind %d asked %d times", k, kinds[k]);
    if (thing_order)
        CHECKF(t, kinds[8] > n / 40, "the order of things asked %d times", kinds[8]);
    else
        CHECK_INT(t, kinds[8], 0);
    /* Deterministic in (seed, index). */
    struct synth_pair *q = xmalloc(sizeof *q);
    synth_language_pair(&c, 41, p);
    struct synth_config d = c;
    d.pretrain_pairs = 5;
    d.train_images = 17;
    synth_language_pair(&d, 41, q);
    CHECK_STR(t, p->input, q->input);
    free(q);
    free(p);
}

static void test_answers_are_correct(struct test_ctx *t)
{
    check_answers(t, 0);
}

static void test_answers_thing_order(struct test_ctx *t)
{
    check_answers(t, 1);
}

/* thing_order changes the order questions only: every other pair is the released backbone's corpus. */
static void test_thing_order_changes_order_only(struct test_ctx *t)
{
    struct synth_config c = language_config(), d = c;
    d.language_thing_order = 1;
    struct synth_pair *p = xmalloc(sizeof *p), *q = xmalloc(sizeof *q);
    int changed = 0, other = 0;
    for (int i = 0; i < 2000; i++) {
        synth_language_pair(&c, i, p);
        synth_language_pair(&d, i, q);
        char passage[SYNTH_CAPTION_MAX], question[SYNTH_CAPTION_MAX];
        if (split_input(p->input, passage, question, sizeof passage) != 0) {
            CHECKF(t, 0, "cannot split pair %d: '%s'", i, p->input);
            continue;
        }
        if (question_kind(question) == 6) {
            changed += strcmp(p->input, q->input) != 0;
            continue;
        }
        other++;
        CHECKF(t, !strcmp(p->input, q->input) && !strcmp(p->target, q->target), "pair %d: '%s' became '%s'", i,
               p->input, q->input);
    }
    CHECKF(t, other > 1500, "%d pairs not about order", other);
    CHECKF(t, changed > 0, "no order question changed");
    free(p);
    free(q);
}

static void test_blank_image(struct test_ctx *t)
{
    struct synth_config c = language_config();
    CHECK_INT(t, synth_n_images(&c), c.train_images + c.test_images + c.pretrain_images + 1);
    CHECK_INT(t, synth_blank_image(&c), synth_n_images(&c) - 1);
    struct synth_scene s;
    struct synth_region r[SYNTH_REGIONS];
    synth_scene(&c, synth_blank_image(&c), &s);
    CHECK_INT(t, s.n, 0);
    synth_regions(&c, synth_blank_image(&c), &s, r);
    int background = 0;
    for (int i = 0; i < SYNTH_REGIONS; i++)
        background += r[i].kind == REGION_BACKGROUND && r[i].object == -1;
    CHECK_INT(t, background, SYNTH_REGIONS);
    c.language_pairs = 0; /* no language pairs: no blank image, the rows as before */
    CHECK_INT(t, synth_blank_image(&c), -1);
    CHECK_INT(t, synth_n_images(&c), c.train_images + c.test_images + c.pretrain_images);
}

static void test_interleaving(struct test_ctx *t)
{
    struct synth_config c = language_config();
    struct synth_pair *p = xmalloc(sizeof *p), *q = xmalloc(sizeof *q);
    long n = c.pretrain_pairs + c.language_pairs, captions = 0, language = 0, window = 0, worst = 0;
    for (long row = 0; row < n; row++) {
        synth_corpus_pair(&c, row, p);
        if (p->objective == SYNTH_LANGUAGE_QA) {
            synth_language_pair(&c, language++, q);
            window++;
        } else {
            synth_pair(&c, captions++, q); /* the caption pairs in their own order, none left out */
        }
        CHECK_STR(t, p->input, q->input);
        if (row % 40 == 39) { /* 40 rows hold 10 language pairs, give or take one */
            long off = window - 10;
            worst = off < 0 ? (-off > worst ? -off : worst) : (off > worst ? off : worst);
            window = 0;
        }
    }
    CHECK_INT(t, captions, c.pretrain_pairs);
    CHECK_INT(t, language, c.language_pairs);
    CHECKF(t, worst <= 1, "a window of 40 rows is %ld language pairs off its share", worst);
    c.language_pairs = 0; /* without language pairs, the corpus is the captions' */
    for (long row = 0; row < 50; row++) {
        synth_corpus_pair(&c, row, p);
        synth_pair(&c, row, q);
        CHECK_STR(t, p->input, q->input);
    }
    free(p);
    free(q);
}

/* The written files: the vocabulary has the language words only with language: true, and pretrain.json
 * holds both corpora, the language pairs on the blank image. */
static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *slurp(const char *dir, const char *name)
{
    char path[1024];
    char *text = NULL;
    size_t n;
    struct err e = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return read_file(path, &text, &n, &e) == 0 ? text : NULL;
}

static void test_written_files(struct test_ctx *t)
{
    int n_words, n_lang;
    synth_words(&n_words);
    synth_language_words(&n_lang);
    for (int language = 0; language <= 1; language++) {
        struct synth_config c = language_config();
        c.train_images = 40;
        c.test_images = 20;
        c.pool_questions = 80;
        c.test_questions = 40;
        c.pretrain_pairs = 30;
        c.language = language;
        c.language_pairs = language ? 10 : 0;
        char dir[600];
        snprintf(dir, sizeof dir, "%s/lang%d", t->tmpdir, language);
        struct err e = {0};
        CHECKF(t, synth_write(&c, dir, &e) == 0, "%s", e.msg);
        char *vocab = slurp(dir, "vocab.txt"), *pairs = slurp(dir, "pretrain.json");
        CHECK(t, vocab && pairs);
        if (!vocab || !pairs) {
            free(vocab);
            free(pairs);
            continue;
        }
        CHECK_INT(t, count_in(vocab, "\n"), 3 + n_words + (language ? n_lang : 0));
        CHECK_INT(t, count_in(vocab, "\nanna\n") + count_in(vocab, "\nkites\n"), language ? 2 : 0);
        CHECK_INT(t, count_in(pairs, "\"img_id\""), 30 + (language ? 10 : 0));
        CHECK_INT(t, count_in(pairs, "SYN_blank_"), language ? 10 : 0);
        free(vocab);
        free(pairs);
    }
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"language pairs: answers follow from their passages; kinds, balance, words", test_answers_are_correct},
        {"with thing_order: questions on the order of things, named as the scenes name objects",
         test_answers_thing_order},
        {"thing_order changes the order questions only", test_thing_order_changes_order_only},
        {"the blank image: no objects, background regions only, only with language pairs", test_blank_image},
        {"the corpus interleaves caption and language pairs evenly, each in its order", test_interleaving},
        {"the written vocabulary and pretrain.json, with and without the language corpus", test_written_files},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
