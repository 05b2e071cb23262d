/* The language corpus (docs/synthetic.md, "Language corpus"): text-only questions about short
 * passages of another world, people and their belongings, so that the backbone learns to read a
 * question and to answer it in kind (a colour, a number, yes or no), as T5 learnt from reading text
 * before any vision-language pretraining.  Nothing here describes a scene of the benchmark. */
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "data/synth.h"

#define LANG_NAMES 6
#define LANG_KINDS 6

static const char *const names[LANG_NAMES] = {"anna", "ben", "carl", "dora", "eric", "fay"};
static const char *const kinds[LANG_KINDS] = {"hat", "cup", "ball", "book", "kite", "bag"};
static const char *const kinds_plural[LANG_KINDS] = {"hats", "cups", "balls", "books", "kites", "bags"};

/* The words the language corpus adds to the vocabulary (data/synth_corpus.c). */
static const char *const language_words[] = {
    "anna", "ben", "carl", "dora", "eric", "fay", "hat", "cup", "ball", "book", "kite", "bag",
    "hats", "cups", "balls", "books", "kites", "bags", "does", "have", "any",
};

const char *const *synth_language_words(int *n)
{
    *n = (int)(sizeof language_words / sizeof language_words[0]);
    return language_words;
}

/* What a thing is like (a passage names it size, colour, material: "small red rubber"). */
enum lang_attr { A_COLOR, A_SIZE, A_MATERIAL, LANG_ATTRS };

/* A passage's world: people in a row, each with counts of some kinds of thing, and the colour, size
 * and material of each person's things of a kind. */
struct lang_world {
    int n;                               /* people, 2..3 */
    int who[3];                          /* name index, left to right */
    int count[3][LANG_KINDS];            /* 0..4 */
    int attr[3][LANG_KINDS][LANG_ATTRS]; /* person i's things of kind k, when count > 0 */
};

static void draw_world(struct synth_rng *r, struct lang_world *w)
{
    memset(w, 0, sizeof *w);
    int order[LANG_NAMES] = {0, 1, 2, 3, 4, 5};
    synth_rng_shuffle(r, order, LANG_NAMES);
    w->n = (int)synth_rng_between(r, 2, 3);
    for (int i = 0; i < w->n; i++) {
        w->who[i] = order[i];
        int kind_order[LANG_KINDS] = {0, 1, 2, 3, 4, 5};
        synth_rng_shuffle(r, kind_order, LANG_KINDS);
        int held = (int)synth_rng_between(r, 1, 2);
        for (int j = 0; j < held; j++) {
            int k = kind_order[j];
            w->count[i][k] = (int)synth_rng_between(r, 1, 4);
            w->attr[i][k][A_COLOR] = (int)synth_rng_below(r, SYNTH_COLORS);
            w->attr[i][k][A_SIZE] = (int)synth_rng_below(r, SYNTH_SIZES);
            w->attr[i][k][A_MATERIAL] = (int)synth_rng_below(r, SYNTH_MATERIALS);
        }
    }
}

/* "from left to right : anna , ben and carl . anna has 2 red cups and a blue hat . ben has a cup ." */
static void write_passage(const struct lang_world *w, char *out, size_t n)
{
    snprintf(out, n, "from left to right :");
    for (int i = 0; i < w->n; i++)
        strbuf_appendf(out, n, i == 0 ? " %s" : i == w->n - 1 ? " and %s" : " , %s", names[w->who[i]]);
    strbuf_appendf(out, n, " .");
    for (int i = 0; i < w->n; i++) {
        strbuf_appendf(out, n, " %s has", names[w->who[i]]);
        int first = 1;
        for (int k = 0; k < LANG_KINDS; k++) {
            int c = w->count[i][k];
            if (!c)
                continue;
            if (!first)
                strbuf_appendf(out, n, " and");
            if (c == 1)
                strbuf_appendf(out, n, " a");
            else
                strbuf_appendf(out, n, " %d", c);
            const int *a = w->attr[i][k];
            strbuf_appendf(out, n, " %s %s %s %s", synth_size_names[a[A_SIZE]], synth_color_names[a[A_COLOR]],
                           synth_material_names[a[A_MATERIAL]], c == 1 ? kinds[k] : kinds_plural[k]);
            first = 0;
        }
        strbuf_appendf(out, n, " .");
    }
}

static int total(const struct lang_world *w, int k)
{
    int t = 0;
    for (int i = 0; i < w->n; i++)
        t += w->count[i][k];
    return t;
}

/* Whether anyone has things of kind k in colour c. */
static int anyone_has(const struct lang_world *w, int k, int c)
{
    for (int i = 0; i < w->n; i++)
        if (w->count[i][k] && w->attr[i][k][A_COLOR] == c)
            return 1;
    return 0;
}

/* Kinds of question and their shares in percent; the first LANG_ATTRS ask for an attribute. */
enum lang_kind { L_COLOR = A_COLOR, L_SIZE = A_SIZE, L_MATERIAL = A_MATERIAL, L_COUNT, L_HAVE, L_EXIST, L_COMPARE,
                 L_ORDER, L_KINDS };
static const int lang_share[L_KINDS] = {15, 10, 10, 20, 10, 15, 10, 10};

/* How an attribute is asked of one thing (in one of `n_one` wordings) or of several, and its words. */
static const struct {
    const char *one[2];
    int n_one;
    const char *many;
    const char *const *values;
} attr_questions[LANG_ATTRS] = {
    [A_COLOR] = {{"what is the color of the %s of %s ?", "what color is the %s of %s ?"}, 2,
                 "what color are the %s of %s ?", synth_color_names},
    [A_SIZE] = {{"what size is the %s of %s ?"}, 1, "what size are the %s of %s ?", synth_size_names},
    [A_MATERIAL] = {{"what is the %s of %s made of ?"}, 1, "what are the %s of %s made of ?", synth_material_names},
};

/* One of the kinds person i has things of, drawn among them. */
static int draw_held_kind(const struct lang_world *w, struct synth_rng *r, int i)
{
    int held[LANG_KINDS], n_held = 0;
    for (int k = 0; k < LANG_KINDS; k++)
        if (w->count[i][k])
            held[n_held++] = k;
    return held[synth_rng_below(r, n_held)];
}

/* The shortest description of person i's things of kind k that no other person's things of that
 * kind share, as the scenes' questions name objects: "cup", "red cup", "small red cup" or "small red
 * rubber cup" (plural for a count above one); 0 when even the longest is shared. */
static int describe_things(const struct lang_world *w, int i, int k, char *out, size_t n)
{
    const int *a = w->attr[i][k];
    for (int len = 0; len < 4; len++) {
        int shared = 0;
        for (int o = 0; o < w->n; o++) {
            const int *b = w->attr[o][k];
            shared |= o != i && w->count[o][k] && (len < 1 || b[A_COLOR] == a[A_COLOR]) &&
                      (len < 2 || b[A_SIZE] == a[A_SIZE]) && (len < 3 || b[A_MATERIAL] == a[A_MATERIAL]);
        }
        if (shared)
            continue;
        snprintf(out, n, "%s%s%s%s%s%s%s", len >= 2 ? synth_size_names[a[A_SIZE]] : "", len >= 2 ? " " : "",
                 len >= 1 ? synth_color_names[a[A_COLOR]] : "", len >= 1 ? " " : "",
                 len >= 3 ? synth_material_names[a[A_MATERIAL]] : "", len >= 3 ? " " : "",
                 w->count[i][k] == 1 ? kinds[k] : kinds_plural[k]);
        return 1;
    }
    return 0;
}

/* "is the red cup left of the large books ?", "are the hats to the right of the kite ?": the order of
 * two people's things, each where its owner stands; 0 when one of them cannot be told apart. */
static int ask_thing_order(const struct lang_world *w, struct synth_rng *r, int i, int k, int j, int left,
                           char *q, size_t nq)
{
    char x[64], y[64];
    if (!describe_things(w, i, k, x, sizeof x) || !describe_things(w, j, draw_held_kind(w, r, j), y, sizeof y))
        return 0;
    snprintf(q, nq, synth_rng_below(r, 2) ? "%s the %s %s of the %s ?" : "%s the %s to the %s of the %s ?",
             w->count[i][k] == 1 ? "is" : "are", x, left ? "left" : "right", y);
    return 1;
}

static void ask(const struct lang_world *w, int thing_order, struct synth_rng *r, char *q, size_t nq, char *a,
                size_t na)
{
    int roll = (int)synth_rng_below(r, 100), kind = 0;
    while (kind < L_KINDS - 1 && roll >= lang_share[kind])
        roll -= lang_share[kind++];
    int i = (int)synth_rng_below(r, w->n);
    const char *p = names[w->who[i]];
    int k = draw_held_kind(w, r, i);
    if (kind < LANG_ATTRS) {
        if (w->count[i][k] == 1) {
            int wording = attr_questions[kind].n_one > 1 ? (int)synth_rng_below(r, attr_questions[kind].n_one) : 0;
            snprintf(q, nq, attr_questions[kind].one[wording], kinds[k], p);
        } else {
            snprintf(q, nq, attr_questions[kind].many, kinds_plural[k], p);
        }
        snprintf(a, na, "%s", attr_questions[kind].values[w->attr[i][k][kind]]);
        return;
    }
    switch (kind) {
    case L_COUNT: {
        int any = (int)synth_rng_below(r, LANG_KINDS); /* asked of a kind that may be nobody's */
        if (synth_rng_below(r, 2)) {
            snprintf(q, nq, "how many %s does %s have ?", kinds_plural[any], p);
            snprintf(a, na, "%d", w->count[i][any]);
        } else {
            snprintf(q, nq, synth_rng_below(r, 2) ? "how many %s are there ?" : "what is the number of %s ?",
                     kinds_plural[any]);
            snprintf(a, na, "%d", total(w, any));
        }
        return;
    }
    case L_HAVE: {
        int yes = synth_rng_below(r, 2) == 0, probe = k;
        if (!yes) {
            int missing[LANG_KINDS], n_missing = 0;
            for (int m = 0; m < LANG_KINDS; m++)
                if (!w->count[i][m])
                    missing[n_missing++] = m;
            probe = missing[synth_rng_below(r, n_missing)];
        }
        if (synth_rng_below(r, 2))
            snprintf(q, nq, "does %s have a %s ?", p, kinds[probe]);
        else
            snprintf(q, nq, "does %s have any %s ?", p, kinds_plural[probe]);
        snprintf(a, na, "%s", yes ? "yes" : "no");
        return;
    }
    case L_EXIST: {
        int yes = synth_rng_below(r, 2) == 0, c = w->attr[i][k][A_COLOR], probe = k;
        if (!yes) /* a colour and kind nobody has: one always exists (at most 6 of 48 are held) */
            do {
                probe = (int)synth_rng_below(r, LANG_KINDS);
                c = (int)synth_rng_below(r, SYNTH_COLORS);
            } while (anyone_has(w, probe, c));
        snprintf(q, nq, "is there a %s %s ?", synth_color_names[c], kinds[probe]);
        snprintf(a, na, "%s", yes ? "yes" : "no");
        return;
    }
    case L_COMPARE: {
        int k2 = (int)synth_rng_below(r, LANG_KINDS - 1);
        k2 += k2 >= k;
        int more = synth_rng_below(r, 2) == 0, a1 = total(w, k), a2 = total(w, k2);
        snprintf(q, nq, more ? "are there more %s than %s ?" : "are there fewer %s than %s ?", kinds_plural[k],
                 kinds_plural[k2]);
        snprintf(a, na, "%s", (more ? a1 > a2 : a1 < a2) ? "yes" : "no");
        return;
    }
    default: {
        int j = (int)synth_rng_below(r, w->n - 1);
        j += j >= i;
        int left = synth_rng_below(r, 2) == 0;
        /* Half the order questions are about things when asked for; the draws come after the
         * people's, so that without thing_order the corpus is the released backbone's. */
        if (!(thing_order && synth_rng_below(r, 2) && ask_thing_order(w, r, i, k, j, left, q, nq))) {
            const char *fmt = synth_rng_below(r, 2) ? "is %s %s of %s ?" : "is %s to the %s of %s ?";
            snprintf(q, nq, fmt, p, left ? "left" : "right", names[w->who[j]]);
        }
        snprintf(a, na, "%s", (left ? i < j : i > j) ? "yes" : "no");
        return;
    }
    }
}

void synth_language_pair(const struct synth_config *c, long index, struct synth_pair *p)
{
    struct synth_rng r;
    synth_rng_seed(&r, c->seed, RNG_LANGUAGE, (uint64_t)index);
    struct lang_world w;
    draw_world(&r, &w);
    char passage[SYNTH_CAPTION_MAX], question[SYNTH_TEXT_MAX], answer[SYNTH_ANSWER_MAX];
    write_passage(&w, passage, sizeof passage);
    ask(&w, c->language_thing_order, &r, question, sizeof question, answer, sizeof answer);
    p->image = synth_blank_image(c);
    p->objective = SYNTH_LANGUAGE_QA;
    snprintf(p->caption, sizeof p->caption, "%s", passage);
    /* A third of the questions come without their passage, as most questions in a text corpus do:
     * the answer is then of the right kind but not known from the input. */
    if (synth_rng_below(&r, 3) == 0)
        snprintf(p->input, sizeof p->input, "question: %s answer: <extra_id_0>", question);
    else
        snprintf(p->input, sizeof p->input, "%s question: %s answer: <extra_id_0>", passage, question);
    snprintf(p->target, sizeof p->target, "<extra_id_0> %s <extra_id_1>", answer);
}
