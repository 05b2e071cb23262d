/* Captions of the synthetic scenes, the pretraining corpus's text (docs/synthetic.md, "Pretraining
 * corpus"): attributes of one object, lists of objects, counts, existence and absence, comparisons of
 * counts and spatial relations, each in several wordings.  Every caption is true of its scene, and none
 * is a question: no "?", no question word, never a question template's word order ("is there a",
 * "are there", "how many", "what"), so that a backbone pretrained on them has never seen the task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth_desc.h"

/* Kinds of caption and their shares in percent (the questions' shares roughly: attributes 40%). */
enum caption_kind { C_ATTR, C_FULL, C_LIST, C_COUNT, C_EXIST, C_COMPARE, C_RELATION, C_KINDS };
static const int caption_share[C_KINDS] = {35, 5, 10, 20, 12, 6, 12};

/* Templates: an upper-case letter is a slot (D a description, V a value, A and B two descriptions,
 * R a relation, N a number, P a plural description, X a list of objects). */
static const char *const attr_templates[SYNTH_N_ATTR][6] = {
    [ATTR_COLOR] = {"the D is V .", "the color of the D is V .", "the D is V in color .", "V is the color of the D .",
                    "the D has the color V .", "the D , color : V ."},
    [ATTR_SHAPE] = {"the D is a V .", "the shape of the D is a V .", "the D has the shape of a V .",
                    "the D is shaped like a V .", "the D , shape : V .", "the D is a V ."},
    [ATTR_MATERIAL] = {"the D is made of V .", "the D is V .", "the material of the D is V .",
                       "V is the material of the D .", "the D , material : V .", "the D is made of V ."},
    [ATTR_SIZE] = {"the D is V .", "the size of the D is V .", "the D is V in size .", "V is the size of the D .",
                   "the D , size : V .", "the D is V ."},
};

/* Writes `tmpl` with its slots replaced by slot['X' - 'A'] into out[n]. */
static void fill(char *out, size_t n, const char *tmpl, const char *const slot[26])
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = tmpl; *p && o + 1 < n; p++) {
        const char *s = NULL;
        char one[2] = {*p, '\0'};
        if (*p >= 'A' && *p <= 'Z' && slot[*p - 'A'])
            s = slot[*p - 'A'];
        else
            s = one;
        int w = snprintf(out + o, n - o, "%s", s);
        o += w > 0 ? (size_t)w : 0;
        if (o >= n)
            o = n - 1;
    }
}

static const char *pick(struct synth_rng *r, const char *const *list, int n)
{
    return list[synth_rng_below(r, n)];
}

static const char *const number_words[] = {"zero", "one", "two", "three", "four", "five",
                                           "six",  "seven", "eight", "nine", "ten"};

/* A count as annotators and captions write it: mostly digits, sometimes the word. */
static void number_text(int v, struct synth_rng *r, char *out, size_t n)
{
    if (synth_rng_uniform(r) < 0.25 && v >= 0 && v <= 10)
        snprintf(out, n, "%s", number_words[v]);
    else
        snprintf(out, n, "%d", v);
}

/* "large red metal cube" of object o (every attribute). */
static void full_name(const struct synth_object *o, char *out, size_t n)
{
    struct synth_desc d;
    for (int a = 0; a < SYNTH_N_ATTR; a++)
        d.value[a] = o->attr[a];
    synth_desc_render(&d, 0, out, n);
}

/* One attribute of one object: "the color of the large metal cylinder is red ."  The object is named
 * by its shortest description without that attribute (as a question about it would be). */
static int caption_attr(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    int t = (int)synth_rng_below(r, s->n), attr = (int)synth_rng_below(r, SYNTH_N_ATTR);
    struct synth_desc d;
    if (synth_desc_unique(s, t, attr, r, &d) != 0)
        return -1;
    char ref[96];
    synth_desc_render(&d, 0, ref, sizeof ref);
    const char *slot[26] = {0};
    slot['D' - 'A'] = ref;
    int value = s->obj[t].attr[attr];
    if (!truth) /* another value of the same attribute */
        value = (value + (int)synth_rng_between(r, 1, synth_attr_count[attr] - 1)) % synth_attr_count[attr];
    slot['V' - 'A'] = synth_attr_word(attr, value);
    fill(out, n, pick(r, attr_templates[attr], 6), slot);
    return 0;
}

/* One object in full: "the red thing is a large red metal cube ." */
static int caption_full(const struct synth_scene *s, struct synth_rng *r, char *out, size_t n)
{
    int t = (int)synth_rng_below(r, s->n);
    struct synth_desc d;
    if (synth_desc_unique(s, t, -1, r, &d) != 0)
        return -1;
    char ref[96], name[96];
    synth_desc_render(&d, 0, ref, sizeof ref);
    full_name(&s->obj[t], name, sizeof name);
    const char *slot[26] = {0};
    slot['D' - 'A'] = ref;
    slot['V' - 'A'] = name;
    static const char *const t_full[] = {"the D is a V .", "the D is a V .", "the D : a V ."};
    fill(out, n, pick(r, t_full, 3), slot);
    return 0;
}

/* Two to four of the objects, in full: "from left to right : a large red metal cube , a small blue rubber
 * sphere ."  (A subset keeps captions short: a batch is padded to its longest caption.) */
static int caption_list(const struct synth_scene *s, struct synth_rng *r, char *out, size_t n)
{
    int order[SYNTH_MAX_OBJECTS], form = (int)synth_rng_below(r, 4);
    for (int i = 0; i < s->n; i++)
        order[i] = i;
    synth_rng_shuffle(r, order, s->n);
    int k = (int)synth_rng_between(r, 2, s->n < 4 ? s->n : 4);
    /* insertion sort of the k chosen by position (left to right, or top to bottom) */
    for (int i = 1; form < 2 && i < k; i++)
        for (int j = i; j > 0; j--) {
            const struct synth_object *a = &s->obj[order[j - 1]], *b = &s->obj[order[j]];
            if (!(form == 0 ? a->cx > b->cx : a->cy > b->cy))
                break;
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    char list[SYNTH_CAPTION_MAX] = "";
    for (int i = 0; i < k; i++) {
        char name[96];
        full_name(&s->obj[order[i]], name, sizeof name);
        const char *sep = i == 0 ? "" : (form >= 2 && i == k - 1) ? " and " : " , ";
        snprintf(list + strlen(list), sizeof list - strlen(list), "%sa %s", sep, name);
    }
    const char *slot[26] = {0};
    slot['X' - 'A'] = list;
    static const char *const forms[] = {"from left to right : X .", "from top to bottom : X .", "the image shows X .",
                                        "in the image : X ."};
    fill(out, n, forms[form], slot);
    return 0;
}

/* How many objects match a description: "there are 3 red things ." */
static int caption_count(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    struct synth_desc d;
    synth_desc_random(s, synth_rng_uniform(r) < 0.85 ? (int)synth_rng_below(r, s->n) : -1, 2, r, &d);
    if (synth_rng_uniform(r) < 0.1) /* sometimes every object: "there are 7 things ." */
        for (int a = 0; a < SYNTH_N_ATTR; a++)
            d.value[a] = -1;
    int c = synth_desc_count(s, &d);
    if (!truth) { /* a count one or two away from the true one, never below zero */
        int delta = (int)synth_rng_between(r, 1, 2);
        c = c - delta >= 0 && synth_rng_below(r, 2) ? c - delta : c + delta;
    }
    char one[96], many[96], num[16];
    synth_desc_render(&d, 0, one, sizeof one);
    synth_desc_render(&d, 1, many, sizeof many);
    number_text(c, r, num, sizeof num);
    const char *slot[26] = {0};
    slot['S' - 'A'] = one;
    slot['P' - 'A'] = many;
    slot['N' - 'A'] = num;
    static const char *const zero[] = {"there are no P .", "there are N P .", "the image has no P .",
                                       "the number of P is N .", "P : N ."};
    static const char *const single[] = {"there is N S .", "the number of P is N .", "the image has N S .",
                                         "P : N .", "in total there is N S ."};
    static const char *const several[] = {"there are N P .", "the number of P is N .", "the image has N P .",
                                          "P : N .", "in total there are N P .", "N P are in the image ."};
    if (c == 0)
        fill(out, n, pick(r, zero, 5), slot);
    else if (c == 1)
        fill(out, n, pick(r, single, 5), slot);
    else
        fill(out, n, pick(r, several, 6), slot);
    return 0;
}

/* Existence or absence, balanced: "there is a small metal cone ." / "there is no small metal cone ." */
static int caption_exist(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    struct synth_desc d;
    int want = synth_rng_below(r, 2) == 0;
    if (synth_desc_existing(s, want, r, &d) != 0)
        return -1;
    char ref[96];
    synth_desc_render(&d, 0, ref, sizeof ref);
    const char *slot[26] = {0};
    slot['D' - 'A'] = ref;
    static const char *const yes[] = {"there is a D .", "the image contains a D .", "the image has a D .",
                                      "a D is in the image ."};
    static const char *const no[] = {"there is no D .", "the image contains no D .", "the image has no D .",
                                     "no D is in the image ."};
    fill(out, n, pick(r, want == truth ? yes : no, 4), slot); /* false: the other polarity */
    return 0;
}

/* Two counts compared: "there are more cubes than spheres ." (or fewer, or as many). */
static int caption_compare(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    struct synth_desc a, b;
    int attr = synth_rng_below(r, 2) ? ATTR_COLOR : ATTR_SHAPE;
    for (int k = 0; k < SYNTH_N_ATTR; k++)
        a.value[k] = b.value[k] = -1;
    a.value[attr] = s->obj[synth_rng_below(r, s->n)].attr[attr];
    do
        b.value[attr] = (int)synth_rng_below(r, synth_attr_count[attr]);
    while (b.value[attr] == a.value[attr]);
    if (synth_rng_below(r, 2)) {
        struct synth_desc t = a;
        a = b;
        b = t;
    }
    int na = synth_desc_count(s, &a), nb = synth_desc_count(s, &b);
    char ra[64], rb[64];
    synth_desc_render(&a, 1, ra, sizeof ra);
    synth_desc_render(&b, 1, rb, sizeof rb);
    const char *slot[26] = {0};
    slot['A' - 'A'] = ra;
    slot['B' - 'A'] = rb;
    const char *tmpl = na == nb ? "there are as many A as B ."
                       : synth_rng_below(r, 2) ? (na > nb ? "there are more A than B ." : "there are fewer A than B .")
                                              : (na > nb ? "there are fewer B than A ." : "there are more B than A .");
    if (!truth) { /* equal counts: more or fewer; different: the other order, or "as many" */
        int form = (int)synth_rng_below(r, 2);
        if (na == nb)
            tmpl = form ? "there are more A than B ." : "there are fewer A than B .";
        else
            tmpl = form ? "there are as many A as B ."
                        : (na > nb ? "there are fewer A than B ." : "there are more A than B .");
    }
    fill(out, n, tmpl, slot);
    return 0;
}

/* A spatial relation between two objects clearly apart: "the red cube is left of the small blue
 * sphere .", its converse, or a relation that does not hold, negated. */
static int caption_relation(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    static const char *const words[4] = {"left of", "right of", "above", "below"};
    static const char *const long_words[4] = {"to the left of", "to the right of", "above", "below"};
    for (int tries = 0; tries < 20; tries++) {
        int i = (int)synth_rng_below(r, s->n), j = (int)synth_rng_below(r, s->n), axis = (int)synth_rng_below(r, 2);
        const struct synth_object *a = &s->obj[i], *b = &s->obj[j];
        float gap = axis == 0 ? a->cx - b->cx : a->cy - b->cy, unit = axis == 0 ? (float)s->width : (float)s->height;
        struct synth_desc da, db;
        if (i == j || gap * gap < 0.01f * unit * unit || synth_desc_unique(s, i, -1, r, &da) != 0 ||
            synth_desc_unique(s, j, -1, r, &db) != 0)
            continue;
        int rel = axis * 2 + (gap > 0); /* what holds for a against b: 0 left, 1 right, 2 above, 3 below */
        char ra[96], rb[96];
        synth_desc_render(&da, 0, ra, sizeof ra);
        synth_desc_render(&db, 0, rb, sizeof rb);
        const char *slot[26] = {0};
        int negate = synth_rng_uniform(r) < 0.2;
        /* A true caption says what holds, or denies the opposite; a false one says the opposite, or
         * denies what holds. */
        int shown = negate == truth ? (rel ^ 1) : rel;
        const char *w = synth_rng_below(r, 2) ? words[shown] : long_words[shown];
        slot['R' - 'A'] = w;
        if (synth_rng_below(r, 2)) { /* the converse: b against a */
            slot['A' - 'A'] = rb;
            slot['B' - 'A'] = ra;
            slot['R' - 'A'] = synth_rng_below(r, 2) ? words[shown ^ 1] : long_words[shown ^ 1];
        } else {
            slot['A' - 'A'] = ra;
            slot['B' - 'A'] = rb;
        }
        fill(out, n, negate ? "the A is not R the B ." : "the A is R the B .", slot);
        return 0;
    }
    return -1;
}

/* A caption of kind `kind` that is true (truth = 1) or false (0) of the scene; -1 when the scene cannot
 * have that kind (identical twins). */
static int caption_of_kind(const struct synth_scene *s, struct synth_rng *r, int kind, int truth, char *out, size_t n)
{
    switch (kind) {
    case C_ATTR: return caption_attr(s, r, truth, out, n);
    case C_FULL: return caption_full(s, r, out, n);
    case C_LIST: return caption_list(s, r, out, n);
    case C_COUNT: return caption_count(s, r, truth, out, n);
    case C_EXIST: return caption_exist(s, r, truth, out, n);
    case C_COMPARE: return caption_compare(s, r, truth, out, n);
    default: return caption_relation(s, r, truth, out, n);
    }
}

/* Draws a kind by `share` (percent, summing to `total`) until the scene can have it. */
static void draw_caption(const struct synth_scene *s, struct synth_rng *r, const int share[C_KINDS], int total,
                         int truth, char *out, size_t n)
{
    for (;;) {
        int pick_k = (int)synth_rng_below(r, total), kind = 0;
        while (pick_k >= share[kind])
            pick_k -= share[kind++];
        if (caption_of_kind(s, r, kind, truth, out, n) == 0)
            return;
    }
}

void synth_caption(const struct synth_scene *s, struct synth_rng *r, char *out, size_t n)
{
    draw_caption(s, r, caption_share, 100, 1, out, n);
}

void synth_statement(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n)
{
    /* The kinds that can be made false by changing one value (not the full descriptions and lists),
     * in the captions' shares. */
    int share[C_KINDS];
    int total = 0;
    for (int k = 0; k < C_KINDS; k++) {
        share[k] = k == C_FULL || k == C_LIST ? 0 : caption_share[k];
        total += share[k];
    }
    draw_caption(s, r, share, total, truth, out, n);
}
