/* Questions about a scene and the answers of 10 noisy annotators (docs/synthetic.md). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "data/synth_desc.h"

enum qkind { Q_COLOR, Q_SHAPE, Q_MATERIAL, Q_SIZE, Q_EXIST, Q_COUNT, Q_COMPARE, Q_SPATIAL, Q_KINDS };
/* Shares of the question kinds (percent): 40 other, 15 number, 45 yes/no, like VQA v2's mix. */
static const int kind_share[Q_KINDS] = {14, 10, 8, 8, 15, 15, 10, 20};

static const int query_attr[] = {[Q_COLOR] = ATTR_COLOR, [Q_SHAPE] = ATTR_SHAPE, [Q_MATERIAL] = ATTR_MATERIAL,
                                 [Q_SIZE] = ATTR_SIZE};

static int ask_attribute(const struct synth_scene *s, int kind, struct synth_rng *r, struct synth_question *q)
{
    int t = (int)synth_rng_below(r, s->n), attr = query_attr[kind];
    struct synth_desc d;
    if (synth_desc_unique(s, t, attr, r, &d) != 0)
        return -1;
    char ref[96];
    synth_desc_render(&d, 0, ref, sizeof ref);
    static const char *const fmt[] = {[Q_COLOR] = "what color is the %s?", [Q_SHAPE] = "what shape is the %s?",
                                      [Q_MATERIAL] = "what is the %s made of?", [Q_SIZE] = "what size is the %s?"};
    static const char *const qtype[] = {[Q_COLOR] = "what color is the", [Q_SHAPE] = "what shape is the",
                                        [Q_MATERIAL] = "what is the", [Q_SIZE] = "what size is the"};
    snprintf(q->text, sizeof q->text, fmt[kind], ref);
    q->qtype = qtype[kind];
    q->atype = "other";
    snprintf(q->answer, sizeof q->answer, "%s", synth_attr_word(attr, s->obj[t].attr[attr]));
    return 0;
}

static int ask_exists(const struct synth_scene *s, struct synth_rng *r, struct synth_question *q)
{
    struct synth_desc d;
    int want_yes = synth_rng_below(r, 2) == 0;
    if (synth_desc_existing(s, want_yes, r, &d) != 0)
        return -1;
    char ref[96];
    synth_desc_render(&d, 0, ref, sizeof ref);
    snprintf(q->text, sizeof q->text, "is there a %s?", ref);
    q->qtype = "is there a";
    q->atype = "yes/no";
    snprintf(q->answer, sizeof q->answer, "%s", want_yes ? "yes" : "no");
    return 0;
}

static int ask_count(const struct synth_scene *s, struct synth_rng *r, struct synth_question *q)
{
    struct synth_desc d;
    synth_desc_random(s, synth_rng_uniform(r) < 0.85 ? (int)synth_rng_below(r, s->n) : -1, 2, r, &d);
    char ref[96];
    synth_desc_render(&d, 1, ref, sizeof ref);
    snprintf(q->text, sizeof q->text, "how many %s are there?", ref);
    q->qtype = "how many";
    q->atype = "number";
    snprintf(q->answer, sizeof q->answer, "%d", synth_desc_count(s, &d));
    return 0;
}

static int ask_compare(const struct synth_scene *s, struct synth_rng *r, struct synth_question *q)
{
    struct synth_desc a, b;
    int na = 0, nb = 0;
    for (int tries = 0; tries < 20; tries++) {
        int attr = synth_rng_below(r, 2) ? ATTR_COLOR : ATTR_SHAPE;
        for (int k = 0; k < SYNTH_N_ATTR; k++)
            a.value[k] = b.value[k] = -1;
        a.value[attr] = s->obj[synth_rng_below(r, s->n)].attr[attr];
        do
            b.value[attr] = (int)synth_rng_below(r, synth_attr_count[attr]);
        while (b.value[attr] == a.value[attr]);
        if (synth_rng_below(r, 2)) { /* either side may be the larger */
            struct synth_desc t = a;
            a = b;
            b = t;
        }
        na = synth_desc_count(s, &a);
        nb = synth_desc_count(s, &b);
        if (na != nb)
            break;
    }
    char ra[64], rb[64];
    synth_desc_render(&a, 1, ra, sizeof ra);
    synth_desc_render(&b, 1, rb, sizeof rb);
    snprintf(q->text, sizeof q->text, "are there more %s than %s?", ra, rb);
    q->qtype = "are there";
    q->atype = "yes/no";
    snprintf(q->answer, sizeof q->answer, "%s", na > nb ? "yes" : "no");
    return 0;
}

/* Spatial relations in image coordinates (y grows downwards). */
static const char *const relation_words[4] = {"left of", "right of", "above", "below"};

static int relation_holds(const struct synth_object *a, const struct synth_object *b, int rel)
{
    switch (rel) {
    case 0: return a->cx < b->cx;
    case 1: return a->cx > b->cx;
    case 2: return a->cy < b->cy;
    default: return a->cy > b->cy;
    }
}

static int ask_spatial(const struct synth_scene *s, struct synth_rng *r, struct synth_question *q)
{
    for (int tries = 0; tries < 20; tries++) {
        int i = (int)synth_rng_below(r, s->n), j = (int)synth_rng_below(r, s->n);
        int rel = (int)synth_rng_below(r, 4);
        const struct synth_object *a = &s->obj[i], *b = &s->obj[j];
        /* Only clear relations: the centres must be apart along the relation's axis. */
        float gap = rel < 2 ? a->cx - b->cx : a->cy - b->cy, unit = rel < 2 ? (float)s->width : (float)s->height;
        struct synth_desc da, db;
        if (i == j || gap * gap < 0.01f * unit * unit || synth_desc_unique(s, i, -1, r, &da) != 0 ||
            synth_desc_unique(s, j, -1, r, &db) != 0)
            continue;
        char ra[64], rb[64];
        synth_desc_render(&da, 0, ra, sizeof ra);
        synth_desc_render(&db, 0, rb, sizeof rb);
        snprintf(q->text, sizeof q->text, "is the %s %s the %s?", ra, relation_words[rel], rb);
        q->qtype = "is the";
        q->atype = "yes/no";
        snprintf(q->answer, sizeof q->answer, "%s", relation_holds(a, b, rel) ? "yes" : "no");
        return 0;
    }
    return -1;
}

/* A plausible wrong answer of the same kind. */
static void wrong_answer(const struct synth_question *q, int kind, struct synth_rng *r, char *out, size_t n)
{
    if (kind == Q_COUNT) {
        int v = 0;
        sscanf(q->answer, "%d", &v);
        int w = v + (synth_rng_below(r, 2) ? 1 : -1) * (int)synth_rng_between(r, 1, 2);
        snprintf(out, n, "%d", w < 0 ? v + 1 : w > SYNTH_MAX_OBJECTS ? v - 1 : w);
    } else if (!strcmp(q->atype, "yes/no")) {
        snprintf(out, n, "%s", strcmp(q->answer, "yes") ? "yes" : "no");
    } else {
        int attr = query_attr[kind], v;
        do
            v = (int)synth_rng_below(r, synth_attr_count[attr]);
        while (!strcmp(synth_attr_word(attr, v), q->answer));
        snprintf(out, n, "%s", synth_attr_word(attr, v));
    }
}

static const char *const number_words[] = {"zero", "one", "two", "three", "four", "five",
                                           "six",  "seven", "eight", "nine", "ten"};

/* How an annotator might type a canonical answer: "Two", "2", "a cube", "Red", "yes!", "none"... Every
 * variant becomes the canonical answer again under the VQA normalisation (punctuation, lower case,
 * number words, articles). */
static void surface_variant(const char *canon, int kind, struct synth_rng *r, char *out, size_t n)
{
    int v;
    if (kind == Q_COUNT && sscanf(canon, "%d", &v) == 1 && v >= 0 && v <= 10) {
        const char *w = v == 0 && synth_rng_below(r, 2) ? "none" : number_words[v];
        snprintf(out, n, "%s", w);
        if (synth_rng_below(r, 3) == 0)
            out[0] = (char)toupper((unsigned char)out[0]);
        return;
    }
    switch (synth_rng_below(r, kind == Q_SHAPE ? 4 : 3)) {
    case 0: /* capitalised */
        snprintf(out, n, "%s", canon);
        out[0] = (char)toupper((unsigned char)out[0]);
        break;
    case 1:
        snprintf(out, n, "%s!", canon);
        break;
    case 2:
        snprintf(out, n, "%s.", canon);
        break;
    default:
        snprintf(out, n, "a %s", canon);
    }
}

long synth_question_image(const struct synth_config *c, int test, long index)
{
    /* Round robin over the split's images, so every image gets questions. */
    return test ? c->train_images + index % c->test_images : index % c->train_images;
}

static void annotate(const struct synth_config *c, int kind, struct synth_rng *r, struct synth_question *q)
{
    for (int i = 0; i < SYNTH_ANNOTATORS; i++) {
        int wrong = synth_rng_uniform(r) < c->annotator_error;
        if (wrong)
            wrong_answer(q, kind, r, q->canonical[i], sizeof q->canonical[i]);
        else
            snprintf(q->canonical[i], sizeof q->canonical[i], "%s", q->answer);
        if (synth_rng_uniform(r) < c->variant_rate)
            surface_variant(q->canonical[i], kind, r, q->typed[i], sizeof q->typed[i]);
        else
            snprintf(q->typed[i], sizeof q->typed[i], "%s", q->canonical[i]);
        double u = synth_rng_uniform(r);
        q->confidence[i] = wrong ? (u < 0.4 ? CONF_YES : u < 0.8 ? CONF_MAYBE : CONF_NO)
                                 : (u < 0.9 ? CONF_YES : CONF_MAYBE);
    }
}

void synth_question(const struct synth_config *c, int test, long index, const struct synth_scene *s,
                    struct synth_question *q)
{
    struct synth_rng r;
    synth_rng_seed(&r, c->seed, test ? RNG_QUESTION_TEST : RNG_QUESTION_POOL, (uint64_t)index);
    memset(q, 0, sizeof *q);
    q->image = synth_question_image(c, test, index);
    for (;;) {
        int pick = (int)synth_rng_below(&r, 100), kind = 0;
        while (pick >= kind_share[kind])
            pick -= kind_share[kind++];
        int rc = kind <= Q_SIZE     ? ask_attribute(s, kind, &r, q)
                 : kind == Q_EXIST  ? ask_exists(s, &r, q)
                 : kind == Q_COUNT  ? ask_count(s, &r, q)
                 : kind == Q_COMPARE ? ask_compare(s, &r, q)
                                     : ask_spatial(s, &r, q);
        if (rc == 0) { /* else this scene cannot have that kind (identical twins): draw another */
            annotate(c, kind, &r, q);
            return;
        }
    }
}
