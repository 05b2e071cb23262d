/* The synthetic benchmark: answers checked against their scenes by an interpreter of the question
 * texts written here independently of the generator, 10 noisy annotators whose variants normalise back,
 * soft scores (docs/data.md, "Soft scores") through the written files, the detector's regions and
 * features, the captions (checked by an interpreter of their texts, and never a question), the
 * pretraining pairs, the prompts' token layout, and independence of each item from the sizes. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/dataset.h"
#include "data/load.h"
#include "data/prepared.h"
#include "data/prompt.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "tests/harness.h"

static struct synth_config small_config(void)
{
    return (struct synth_config){.seed = 99, .train_images = 300, .test_images = 100, .pool_questions = 1500,
                                 .test_questions = 500, .pretrain_pairs = 200, .feature_dim = 32,
                                 .feature_noise = 0.2, .annotator_error = 0.1, .variant_rate = 0.25};
}

/* ---- an independent reading of the question texts ---------------------------------------- */

static int index_of(const char *const *names, int n, const char *w)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], w))
            return i;
    return -1;
}

/* "large red metal cube" or "red things": the attribute values named (-1: any). */
static int parse_desc(const char *text, int attr[SYNTH_N_ATTR])
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text);
    for (int a = 0; a < SYNTH_N_ATTR; a++)
        attr[a] = -1;
    int words = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "), words++) {
        int v;
        if ((v = index_of(synth_size_names, SYNTH_SIZES, w)) >= 0)
            attr[ATTR_SIZE] = v;
        else if ((v = index_of(synth_color_names, SYNTH_COLORS, w)) >= 0)
            attr[ATTR_COLOR] = v;
        else if ((v = index_of(synth_material_names, SYNTH_MATERIALS, w)) >= 0)
            attr[ATTR_MATERIAL] = v;
        else if ((v = index_of(synth_shape_names, SYNTH_SHAPES, w)) >= 0 ||
                 (v = index_of(synth_shape_plurals, SYNTH_SHAPES, w)) >= 0)
            attr[ATTR_SHAPE] = v;
        else if (strcmp(w, "thing") && strcmp(w, "things"))
            return -1;
    }
    return words > 0 ? 0 : -1;
}

static int matching(const struct synth_scene *s, const int attr[SYNTH_N_ATTR], int *which)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        int ok = 1;
        for (int a = 0; a < SYNTH_N_ATTR; a++)
            ok &= attr[a] < 0 || attr[a] == s->obj[i].attr[a];
        if (ok) {
            n++;
            *which = i;
        }
    }
    return n;
}

/* Text between `prefix` and `suffix`, or NULL. */
static const char *between(const char *q, const char *prefix, const char *suffix, char *out, size_t n)
{
    size_t lp = strlen(prefix), lq = strlen(q), ls = strlen(suffix);
    if (strncmp(q, prefix, lp) != 0 || lq < lp + ls || strcmp(q + lq - ls, suffix) != 0)
        return NULL;
    snprintf(out, n, "%.*s", (int)(lq - lp - ls), q + lp);
    return out;
}

/* The answer the scene gives to question text q, or NULL when q cannot be read or is ambiguous. */
static const char *interpret(const struct synth_scene *s, const char *q, char *out, size_t n)
{
    char d1[128], d2[128];
    int a1[SYNTH_N_ATTR], a2[SYNTH_N_ATTR], o1 = -1, o2 = -1;
    static const char *const rels[] = {" left of the ", " right of the ", " above the ", " below the "};
    static const char *const what[][2] = {{"what color is the ", "?"}, {"what shape is the ", "?"},
                                          {"what is the ", " made of?"}, {"what size is the ", "?"}};
    static const int query[] = {ATTR_COLOR, ATTR_SHAPE, ATTR_MATERIAL, ATTR_SIZE};
    for (int k = 0; k < 4; k++)
        if (between(q, what[k][0], what[k][1], d1, sizeof d1)) {
            if (parse_desc(d1, a1) != 0 || matching(s, a1, &o1) != 1 || a1[query[k]] >= 0)
                return NULL;
            const struct synth_object *o = &s->obj[o1];
            const char *w = query[k] == ATTR_COLOR      ? synth_color_names[o->attr[ATTR_COLOR]]
                            : query[k] == ATTR_SHAPE    ? synth_shape_names[o->attr[ATTR_SHAPE]]
                            : query[k] == ATTR_MATERIAL ? synth_material_names[o->attr[ATTR_MATERIAL]]
                                                        : synth_size_names[o->attr[ATTR_SIZE]];
            snprintf(out, n, "%s", w);
            return out;
        }
    if (between(q, "is there a ", "?", d1, sizeof d1)) {
        if (parse_desc(d1, a1) != 0)
            return NULL;
        snprintf(out, n, "%s", matching(s, a1, &o1) > 0 ? "yes" : "no");
        return out;
    }
    if (between(q, "how many ", " are there?", d1, sizeof d1)) {
        if (parse_desc(d1, a1) != 0)
            return NULL;
        snprintf(out, n, "%d", matching(s, a1, &o1));
        return out;
    }
    if (between(q, "are there more ", "?", d1, sizeof d1)) {
        char *than = strstr(d1, " than ");
        if (!than)
            return NULL;
        snprintf(d2, sizeof d2, "%s", than + 6);
        *than = '\0';
        if (parse_desc(d1, a1) != 0 || parse_desc(d2, a2) != 0)
            return NULL;
        snprintf(out, n, "%s", matching(s, a1, &o1) > matching(s, a2, &o2) ? "yes" : "no");
        return out;
    }
    if (between(q, "is the ", "?", d1, sizeof d1)) {
        for (int r = 0; r < 4; r++) {
            char *at = strstr(d1, rels[r]);
            if (!at)
                continue;
            snprintf(d2, sizeof d2, "%s", at + strlen(rels[r]));
            *at = '\0';
            if (parse_desc(d1, a1) != 0 || parse_desc(d2, a2) != 0 || matching(s, a1, &o1) != 1 ||
                matching(s, a2, &o2) != 1)
                return NULL;
            const struct synth_object *a = &s->obj[o1], *b = &s->obj[o2];
            int holds = r == 0 ? a->cx < b->cx : r == 1 ? a->cx > b->cx : r == 2 ? a->cy < b->cy : a->cy > b->cy;
            snprintf(out, n, "%s", holds ? "yes" : "no");
            return out;
        }
    }
    return NULL;
}

/* The VQA normalisation as far as the variants need it: punctuation, case, number words, articles. */
static void normalise(const char *in, char *out, size_t n)
{
    static const char *const numbers[] = {"zero", "one", "two", "three", "four", "five",
                                          "six", "seven", "eight", "nine", "ten"};
    char buf[64], *w, *save = NULL;
    size_t k = 0;
    for (const char *p = in; *p && k + 1 < sizeof buf; p++)
        if (!strchr("!.,?", *p))
            buf[k++] = (char)tolower((unsigned char)*p);
    buf[k] = '\0';
    out[0] = '\0';
    for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!strcmp(w, "a") || !strcmp(w, "an") || !strcmp(w, "the"))
            continue;
        int v = !strcmp(w, "none") ? 0 : index_of(numbers, 11, w);
        char num[16];
        if (v >= 0) {
            snprintf(num, sizeof num, "%d", v);
            w = num;
        }
        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "", w);
    }
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_answers_are_correct(struct test_ctx *t)
{
    struct synth_config c = small_config();
    int kinds[8] = {0}, yes = 0, yesno = 0, wrong = 0, variants = 0, unread = 0, n = 0;
    struct synth_question *q = xmalloc(sizeof *q);
    for (int test = 0; test < 2; test++)
        for (long i = 0; i < (test ? c.test_questions : c.pool_questions); i++, n++) {
            struct synth_scene s;
            long image = synth_question_image(&c, test, i);
            synth_scene(&c, image, &s);
            synth_question(&c, test, i, &s, q);
            CHECK_INT(t, q->image, image);
            CHECK(t, test ? image >= c.train_images : image < c.train_images);
            char got[32];
            if (!interpret(&s, q->text, got, sizeof got)) {
                if (unread++ < 3)
                    CHECKF(t, 0, "cannot read or ambiguous: \"%s\"", q->text);
                continue;
            }
            CHECKF(t, !strcmp(got, q->answer), "\"%s\": the scene says %s, the generator %s", q->text, got, q->answer);
            CHECKF(t, !strncmp(q->text, q->qtype, strlen(q->qtype)), "question type \"%s\" of \"%s\"", q->qtype, q->text);
            kinds[!strcmp(q->atype, "yes/no") ? 0 : !strcmp(q->atype, "number") ? 1 : 2]++;
            if (!strcmp(q->atype, "yes/no")) {
                yesno++;
                yes += !strcmp(q->answer, "yes");
            }
            for (int a = 0; a < SYNTH_ANNOTATORS; a++) {
                char norm[64];
                normalise(q->typed[a], norm, sizeof norm);
                CHECKF(t, !strcmp(norm, q->canonical[a]), "annotator typed \"%s\" for \"%s\"", q->typed[a],
                       q->canonical[a]);
                wrong += strcmp(q->canonical[a], q->answer) != 0;
                variants += strcmp(q->typed[a], q->canonical[a]) != 0;
            }
        }
    free(q);
    CHECK_INT(t, unread, 0);
    /* The mix of answer types is VQA-like, yes and no are balanced, and the noise is as configured. */
    CHECKF(t, kinds[0] > n * 0.35 && kinds[1] > n * 0.1 && kinds[2] > n * 0.3, "yes/no %d number %d other %d of %d",
           kinds[0], kinds[1], kinds[2], n);
    CHECKF(t, fabs((double)yes / yesno - 0.5) < 0.1, "%d yes of %d", yes, yesno);
    CHECK_NEAR(t, (double)wrong / (n * 10.0), c.annotator_error, 0.02, 0);
    CHECK_NEAR(t, (double)variants / (n * 10.0), c.variant_rate, 0.04, 0);
}

static void test_items_do_not_depend_on_sizes(struct test_ctx *t)
{
    struct synth_config a = small_config(), b = small_config();
    b.test_images = 37;
    b.pool_questions = 9999;
    b.pretrain_pairs = 5;
    struct synth_scene sa, sb;
    synth_scene(&a, 17, &sa);
    synth_scene(&b, 17, &sb);
    CHECK(t, memcmp(&sa, &sb, sizeof sa) == 0);
    CHECK(t, sa.n >= SYNTH_MIN_OBJECTS && sa.n <= SYNTH_MAX_OBJECTS);
    struct synth_question *qa = xmalloc(sizeof *qa), *qb = xmalloc(sizeof *qb);
    synth_question(&a, 0, 123, &sa, qa);
    synth_question(&b, 0, 123, &sa, qb);
    CHECK_STR(t, qa->text, qb->text);
    CHECK_STR(t, qa->typed[3], qb->typed[3]);
    b.seed = 100;
    synth_scene(&b, 17, &sb);
    CHECK(t, memcmp(&sa, &sb, sizeof sa) != 0);
    free(qa);
    free(qb);
}

/* Regions as a detector returns them; the features carry the attributes (nearest-centroid colour). */
static void test_detector(struct test_ctx *t)
{
    struct synth_config c = small_config();
    struct synth_detector det;
    synth_detector_init(&det, &c);
    float *feat = xmalloc(SYNTH_REGIONS * (size_t)c.feature_dim * sizeof *feat); /* [36, dim] */
    double (*centroid)[64] = xcalloc(SYNTH_COLORS, sizeof *centroid);
    int count[SYNTH_COLORS] = {0}, right = 0, total = 0;
    for (int pass = 0; pass < 2; pass++)
        for (long img = 0; img < 200; img++) {
            struct synth_scene s;
            struct synth_region r[SYNTH_REGIONS];
            synth_scene(&c, img, &s);
            synth_regions(&c, img, &s, r);
            synth_detector_run(&det, &c, img, &s, r, feat);
            int objects = 0;
            for (int i = 0; i < SYNTH_REGIONS; i++) {
                CHECK(t, r[i].box[0] >= 0 && r[i].box[2] <= s.width && r[i].box[0] < r[i].box[2]);
                CHECK(t, r[i].box[1] >= 0 && r[i].box[3] <= s.height && r[i].box[1] < r[i].box[3]);
                CHECK(t, i == 0 || r[i].conf <= r[i - 1].conf);
                objects += r[i].kind == REGION_OBJECT;
                if (r[i].kind != REGION_OBJECT)
                    continue;
                const float *f = feat + (size_t)i * c.feature_dim;
                int col = s.obj[r[i].object].attr[ATTR_COLOR];
                if (pass == 0 && img < 100) {
                    for (int j = 0; j < c.feature_dim; j++)
                        centroid[col][j] += f[j];
                    count[col]++;
                } else if (pass == 1 && img >= 100) {
                    int best = 0;
                    double bd = 1e300;
                    for (int k = 0; k < SYNTH_COLORS; k++) {
                        double d = 0;
                        for (int j = 0; j < c.feature_dim; j++) {
                            double v = f[j] - centroid[k][j] / (count[k] ? count[k] : 1);
                            d += v * v;
                        }
                        if (d < bd)
                            bd = d, best = k;
                    }
                    right += best == col;
                    total++;
                }
            }
            CHECK_INT(t, objects, s.n);
            for (int j = 0; j < SYNTH_REGIONS * c.feature_dim; j++)
                CHECK(t, feat[j] >= 0);
        }
    CHECKF(t, right > 0.8 * total, "colour recovered for %d of %d object regions", right, total);
    free(centroid);
    free(feat);
    synth_detector_free(&det);
}

/* ---- an independent reading of the captions ---------------------------------------------- */

static const char *const number_words[] = {"zero", "one", "two", "three", "four", "five",
                                           "six", "seven", "eight", "nine", "ten"};

/* A count written as digits or as a word; -1 if it is neither. */
static int parse_number(const char *w)
{
    int v = index_of(number_words, 11, w);
    if (v >= 0)
        return v;
    char *end;
    long x = strtol(w, &end, 10);
    return *w && !*end && x >= 0 ? (int)x : -1;
}

/* The one object that description d names, or -1 (none, or several). */
static int the_object(const struct synth_scene *s, const char *d)
{
    int a[SYNTH_N_ATTR], which = -1;
    if (parse_desc(d, a) != 0 || matching(s, a, &which) != 1)
        return -1;
    return which;
}

static int count_of(const struct synth_scene *s, const char *d)
{
    int a[SYNTH_N_ATTR], which;
    return parse_desc(d, a) != 0 ? -1 : matching(s, a, &which);
}

/* Whether object o has the value written as word v (a colour, shape, material or size). */
static int has_value(const struct synth_object *o, const char *v)
{
    int x;
    if ((x = index_of(synth_color_names, SYNTH_COLORS, v)) >= 0)
        return o->attr[ATTR_COLOR] == x;
    if ((x = index_of(synth_shape_names, SYNTH_SHAPES, v)) >= 0)
        return o->attr[ATTR_SHAPE] == x;
    if ((x = index_of(synth_material_names, SYNTH_MATERIALS, v)) >= 0)
        return o->attr[ATTR_MATERIAL] == x;
    if ((x = index_of(synth_size_names, SYNTH_SIZES, v)) >= 0)
        return o->attr[ATTR_SIZE] == x;
    return -1;
}

/* Whether object o matches description d in every attribute d names. */
static int fits(const struct synth_object *o, const char *d)
{
    int a[SYNTH_N_ATTR];
    if (parse_desc(d, a) != 0)
        return -1;
    for (int k = 0; k < SYNTH_N_ATTR; k++)
        if (a[k] >= 0 && a[k] != o->attr[k])
            return 0;
    return 1;
}

/* Splits x at the first `sep` into x (before) and the returned rest, or NULL. */
static char *split_at(char *x, const char *sep)
{
    char *at = strstr(x, sep);
    if (!at)
        return NULL;
    *at = '\0';
    return at + strlen(sep);
}

/* "a large red metal cube , a small blue rubber sphere and a ..." in order `order` (0 left to right,
 * 1 top to bottom, -1 any): every item names an object of the scene, distinct ones, in that order. */
static int check_list(const struct synth_scene *s, char *x, int order)
{
    int used[SYNTH_MAX_OBJECTS] = {0}, prev = -1, items = 0;
    for (char *item = x; item;) {
        char *next = split_at(item, " , ");
        if (!next && order < 0)
            next = split_at(item, " and ");
        if (strncmp(item, "a ", 2) != 0)
            return -1;
        /* the matching object not named yet; in an ordered list the first one after the previous
         * (identical twins may be either) */
        int o = -1;
        for (int i = 0; i < s->n; i++) {
            if (used[i] || fits(&s->obj[i], item + 2) != 1)
                continue;
            float at = order == 0 ? s->obj[i].cx : s->obj[i].cy, best = o < 0 ? 0 : order == 0 ? s->obj[o].cx : s->obj[o].cy;
            float after = prev < 0 ? -1 : order == 0 ? s->obj[prev].cx : s->obj[prev].cy;
            if (order < 0 ? o < 0 : at >= after && (o < 0 || at < best))
                o = i;
        }
        if (o < 0)
            return 0;
        used[o] = 1;
        prev = o;
        items++;
        item = next;
    }
    return items >= 2 ? 1 : -1;
}

/* 1 if caption c (words separated by single spaces, ending in " .") is true of the scene, 0 if false,
 * -1 if it cannot be read. */
static int caption_truth(const struct synth_scene *s, const char *c)
{
    char x[600], *y, *z;
    size_t len = strlen(c);
    if (len < 3 || strcmp(c + len - 2, " .") != 0 || len > sizeof x)
        return -1;
    snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
    /* lists */
    static const char *const lists[] = {"from left to right : ", "from top to bottom : ", "the image shows ",
                                        "in the image : "};
    for (int k = 0; k < 4; k++)
        if (!strncmp(x, lists[k], strlen(lists[k])))
            return check_list(s, x + strlen(lists[k]), k < 2 ? k : -1);
    /* comparisons of counts */
    if (!strncmp(x, "there are more ", 15) || !strncmp(x, "there are fewer ", 16) ||
        !strncmp(x, "there are as many ", 18)) {
        int more = x[10] == 'm', as = x[10] == 'a';
        y = x + (more ? 15 : as ? 18 : 16);
        if (!(z = split_at(y, as ? " as " : " than ")))
            return -1;
        int na = count_of(s, y), nb = count_of(s, z);
        if (na < 0 || nb < 0)
            return -1;
        return as ? na == nb : more ? na > nb : na < nb;
    }
    /* spatial relations */
    static const char *const rels[][2] = {{" left of the ", "L"}, {" right of the ", "R"}, {" above the ", "A"},
                                          {" below the ", "B"}};
    for (int k = 0; k < 4; k++) {
        if (strncmp(x, "the ", 4) != 0 || !strstr(x, rels[k][0]))
            continue;
        snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
        y = x + 4;
        z = split_at(y, rels[k][0]);
        int neg = 0;
        char *tail = y + strlen(y);
        if (strlen(y) > 7 && !strcmp(tail - 7, " to the"))
            tail[-7] = '\0';
        tail = y + strlen(y);
        if (strlen(y) > 3 && !strcmp(tail - 3, " is"))
            tail[-3] = '\0';
        else if (strlen(y) > 7 && !strcmp(tail - 7, " is not"))
            tail[-7] = '\0', neg = 1;
        else
            return -1;
        int a = the_object(s, y), b = the_object(s, z);
        if (a < 0 || b < 0)
            return -1;
        const struct synth_object *p = &s->obj[a], *q = &s->obj[b];
        int holds = k == 0 ? p->cx < q->cx : k == 1 ? p->cx > q->cx : k == 2 ? p->cy < q->cy : p->cy > q->cy;
        return neg ? !holds : holds;
    }
    /* counts: "there are N P", "there is N S", "the image has N P", "the number of P is N", "P : N",
     * "in total there are N P", "N P are in the image" (N a number or "no") */
    y = x;
    if (!strncmp(y, "in total ", 9))
        y += 9;
    static const char *const count_heads[] = {"there are ", "there is ", "the image has "};
    for (int k = 0; k < 3; k++) {
        if (strncmp(y, count_heads[k], strlen(count_heads[k])) != 0)
            continue;
        char *n = y + strlen(count_heads[k]), *d = strchr(n, ' ');
        if (!d)
            return -1;
        *d++ = '\0';
        int v = parse_number(n);
        if (v >= 0)
            return count_of(s, d) == v;
        if (!strcmp(n, "no"))
            return count_of(s, d) == 0;
        if (!strcmp(n, "a"))
            return count_of(s, d) > 0;
        return -1;
    }
    if (!strncmp(x, "the number of ", 14) && (z = split_at(x + 14, " is ")))
        return parse_number(z) >= 0 ? count_of(s, x + 14) == parse_number(z) : -1;
    if ((z = split_at(x, " are in the image")) && !*z && (y = strchr(x, ' '))) {
        *y++ = '\0';
        return parse_number(x) >= 0 ? count_of(s, y) == parse_number(x) : -1;
    }
    snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
    /* existence: "the image contains a D", "a D is in the image", "no D is in the image" */
    if (!strncmp(x, "the image contains ", 19)) {
        y = x + 19;
        if (!strncmp(y, "a ", 2))
            return count_of(s, y + 2) > 0;
        if (!strncmp(y, "no ", 3))
            return count_of(s, y + 3) == 0;
        return -1;
    }
    if ((z = split_at(x, " is in the image")) && !*z) {
        if (!strncmp(x, "a ", 2))
            return count_of(s, x + 2) > 0;
        if (!strncmp(x, "no ", 3))
            return count_of(s, x + 3) == 0;
        return -1;
    }
    snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
    /* "P : N" (a count) or "the D , K : V" and "the D : a F" (attributes) */
    if ((z = strstr(x, " : "))) {
        char *v = z + 3;
        *z = '\0';
        if (parse_number(v) >= 0 && strncmp(x, "the ", 4) != 0)
            return count_of(s, x) == parse_number(v);
        if (strncmp(x, "the ", 4) != 0)
            return -1;
        char *k = split_at(x + 4, " , ");
        int o = the_object(s, x + 4);
        if (o < 0)
            return -1;
        if (!k)
            return !strncmp(v, "a ", 2) ? fits(&s->obj[o], v + 2) : -1;
        return has_value(&s->obj[o], v);
    }
    /* "the K of the D is [a] V" and "V is the K of the D" */
    static const char *const keys[] = {"color", "shape", "material", "size"};
    for (int k = 0; k < 4; k++) {
        char head[32], tail[32];
        snprintf(head, sizeof head, "the %s of the ", keys[k]);
        snprintf(tail, sizeof tail, " is the %s of the ", keys[k]);
        snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
        if (!strncmp(x, head, strlen(head)) && (z = split_at(x + strlen(head), " is "))) {
            int o = the_object(s, x + strlen(head));
            if (!strncmp(z, "a ", 2))
                z += 2;
            return o < 0 ? -1 : has_value(&s->obj[o], z);
        }
        if ((z = split_at(x, tail))) {
            int o = the_object(s, z);
            return o < 0 ? -1 : has_value(&s->obj[o], x);
        }
    }
    /* "the D has the color V", "the D has the shape of a V", "the D is shaped like a V", "the D is made
     * of V", "the D is V in color", "the D is a F", "the D is V" */
    snprintf(x, sizeof x, "%.*s", (int)(len - 2), c);
    if (strncmp(x, "the ", 4) != 0)
        return -1;
    y = x + 4;
    static const char *const verbs[] = {" has the color ", " has the shape of a ", " is shaped like a ", " is made of ",
                                        " is a ", " is "};
    for (int k = 0; k < 6; k++) {
        if (!(z = split_at(y, verbs[k])))
            continue;
        int o = the_object(s, y);
        if (o < 0)
            return -1;
        char *in = strstr(z, " in ");
        if (in && (!strcmp(in, " in color") || !strcmp(in, " in size")))
            *in = '\0';
        if (k == 4)
            return fits(&s->obj[o], z);
        return has_value(&s->obj[o], z);
    }
    return -1;
}

/* Words that only questions use: a caption with one of them (or a question's opening) would teach the
 * backbone the task before any k-shot training. */
static int looks_like_question(const char *c)
{
    static const char *const words[] = {"?", "what", "how", "vqa", "question", "answer", "yes"};
    char buf[600];
    snprintf(buf, sizeof buf, "%s", c);
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
            if (!strcmp(w, words[k]))
                return 1;
    return strstr(c, "is there") || strstr(c, "are there") || !strncmp(c, "is ", 3) || !strncmp(c, "are ", 4);
}

static void test_captions_are_true(struct test_ctx *t)
{
    struct synth_config c = small_config();
    int kinds[8] = {0}, unread = 0, n = 0;
    for (long image = 0; image < 200; image++) {
        struct synth_scene s;
        synth_scene(&c, image, &s);
        struct synth_rng r;
        synth_rng_seed(&r, 7, 1, (uint64_t)image);
        for (int k = 0; k < 40; k++, n++) {
            char cap[SYNTH_CAPTION_MAX];
            synth_caption(&s, &r, cap, sizeof cap);
            int truth = caption_truth(&s, cap);
            unread += truth < 0;
            CHECKF(t, truth != 0, "image %ld: \"%s\" is false", image, cap);
            CHECKF(t, truth != -1, "image %ld: \"%s\" cannot be read", image, cap);
            CHECKF(t, !looks_like_question(cap), "\"%s\" reads like a question", cap);
            kinds[!strncmp(cap, "there are more", 14) || !strncmp(cap, "there are fewer", 15) ? 0
                  : strstr(cap, " of the ") && !strstr(cap, "color") && !strstr(cap, "size") &&
                          !strstr(cap, "shape") && !strstr(cap, "material") && !strstr(cap, "number")
                      ? 1
                  : strstr(cap, " : a ") || strstr(cap, "shows")   ? 2
                  : strstr(cap, "no ")                              ? 3
                  : strpbrk(cap, "0123456789")                      ? 4
                                                                    : 5]++;
        }
    }
    CHECK_INT(t, unread, 0);
    for (int k = 0; k < 6; k++) /* comparisons, relations, lists, absences, counts, attributes: all present */
        CHECKF(t, kinds[k] > n / 100, "caption group %d: %d of %d", k, kinds[k], n);
}

/* Statements for image-text matching: true ones true, false ones false (read back by caption_truth),
 * every kind that can be falsified made false, none a question. */
static void test_statements_true_and_false(struct test_ctx *t)
{
    struct synth_config c = small_config();
    int wrong = 0, unread = 0, n = 0, kinds[2][5] = {{0}};
    for (long image = 0; image < 200; image++) {
        struct synth_scene s;
        synth_scene(&c, image, &s);
        struct synth_rng r;
        synth_rng_seed(&r, 11, 2, (uint64_t)image);
        for (int k = 0; k < 40; k++, n++) {
            int truth = k % 2;
            char st[SYNTH_CAPTION_MAX];
            synth_statement(&s, &r, truth, st, sizeof st);
            int read = caption_truth(&s, st);
            unread += read < 0;
            wrong += read >= 0 && read != truth;
            CHECKF(t, read == truth, "image %ld: \"%s\" should be %s", image, st, truth ? "true" : "false");
            CHECKF(t, !looks_like_question(st), "\"%s\" reads like a question", st);
            CHECKF(t, !strstr(st, " : a ") && !strstr(st, "shows"), "\"%s\": lists are not statements", st);
            kinds[truth][!strncmp(st, "there are more", 14) || !strncmp(st, "there are fewer", 15) ||
                                 !strncmp(st, "there are as many", 17)
                             ? 0
                         : strstr(st, " left of ") || strstr(st, " right of ") || strstr(st, " above ") ||
                                 strstr(st, " below ")
                             ? 1
                         : strpbrk(st, "0123456789") || strstr(st, "number") ? 2
                         : strstr(st, "no ") || strstr(st, "there is a ")   ? 3
                                                                             : 4]++;
        }
    }
    CHECK_INT(t, unread, 0);
    CHECK_INT(t, wrong, 0);
    for (int v = 0; v < 2; v++) /* comparisons, relations, counts, existence, attributes; true and false */
        for (int k = 0; k < 5; k++)
            CHECKF(t, kinds[v][k] > n / 200, "%s statements of group %d: %d of %d", v ? "true" : "false", k,
                   kinds[v][k], n);
}

/* The pairs of the corpus with (itm = 1) or without image-text matching: m objectives take turns over
 * the pairs of one image. */
static void check_pairs(struct test_ctx *t, int itm)
{
    struct synth_config c = small_config();
    c.pretrain_images = 50;
    c.image_text_match = itm;
    long m = itm ? 3 : 2;
    struct synth_pair *p = xmalloc(sizeof *p), *q = xmalloc(sizeof *q);
    int objectives[3] = {0}, matches_true = 0;
    for (long i = 0; i < 200; i++) {
        synth_pair(&c, i, p);
        /* pool and pretraining images, never a test image */
        CHECK(t, (p->image >= 0 && p->image < c.train_images) ||
                     (p->image >= c.train_images + c.test_images && p->image < synth_n_images(&c)));
        CHECK_INT(t, p->objective, (int)(i % m));
        objectives[p->objective]++;
        synth_pair(&c, i - i % m + (i % m + 1) % m, q); /* the next pair of the same image */
        CHECK_INT(t, (int)p->image, (int)q->image);
        if (p->objective != SYNTH_IMAGE_TEXT_MATCH && q->objective != SYNTH_IMAGE_TEXT_MATCH)
            CHECK_STR(t, p->caption, q->caption); /* span corruption and prefix LM of one caption */
        struct synth_scene s;
        synth_scene(&c, p->image, &s);
        int truth = caption_truth(&s, p->caption);
        if (p->objective != SYNTH_IMAGE_TEXT_MATCH)
            CHECKF(t, truth == 1, "\"%s\"", p->caption);
        /* The objectives see the caption without its final " ." */
        char bare[1024];
        snprintf(bare, sizeof bare, "%s", p->caption);
        size_t bl = strlen(bare);
        CHECK(t, bl >= 2 && !strcmp(bare + bl - 2, " ."));
        if (bl >= 2 && !strcmp(bare + bl - 2, " ."))
            bare[bl - 2] = '\0';
        CHECK(t, !strstr(p->input, " .") && !strstr(p->target, " ."));
        char text[2048] = "";
        if (p->objective == SYNTH_IMAGE_TEXT_MATCH) {
            /* the statement, a sentinel; the target says whether it holds */
            snprintf(text, sizeof text, "%s <extra_id_0>", bare);
            CHECK_STR(t, p->input, text);
            CHECK(t, truth == 0 || truth == 1);
            CHECK_STR(t, p->target, truth == 1 ? "<extra_id_0> yes <extra_id_1>" : "<extra_id_0> no <extra_id_1>");
            matches_true += truth == 1;
            continue;
        }
        if (p->objective == SYNTH_PREFIX_LM) {
            /* FewVLM's prefix LM: input + " " + target is the caption, both non-empty */
            CHECK(t, p->input[0] && p->target[0]);
            snprintf(text, sizeof text, "%s %s", p->input, p->target);
            CHECK_STR(t, text, bare);
            continue;
        }
        /* Span corruption: filling the input's sentinels with the target's spans gives the caption. */
        char span[64][256];
        int ns = 0;
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", p->target);
        for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
            if (!strncmp(w, "<extra_id_", 10)) {
                CHECK_INT(t, atoi(w + 10), ns);
                span[ns++][0] = '\0';
            } else if (ns > 0) {
                snprintf(span[ns - 1] + strlen(span[ns - 1]), 256 - strlen(span[ns - 1]), " %s", w);
            }
        }
        CHECK(t, ns >= 2 && span[ns - 1][0] == '\0'); /* ends with a sentinel of its own */
        snprintf(buf, sizeof buf, "%s", p->input);
        int used = 0;
        for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
            if (!strncmp(w, "<extra_id_", 10))
                snprintf(text + strlen(text), sizeof text - strlen(text), "%s", span[used++]);
            else
                snprintf(text + strlen(text), sizeof text - strlen(text), " %s", w);
        }
        CHECK_INT(t, used, ns - 1);
        CHECK_STR(t, text + 1, bare);
    }
    if (itm) {
        CHECK(t, objectives[0] == 67 && objectives[1] == 67 && objectives[2] == 66);
        CHECKF(t, matches_true > 18 && matches_true < 48, "%d of 66 matching statements are true", matches_true);
    } else {
        CHECK(t, objectives[0] == 100 && objectives[1] == 100 && objectives[2] == 0);
    }
    free(p);
    free(q);
}

static void test_pretraining_pairs(struct test_ctx *t)
{
    check_pairs(t, 0);
    check_pairs(t, 1);
    struct synth_config c = small_config();
    c.pretrain_images = 50;
    struct synth_pair *p = xmalloc(sizeof *p), *q = xmalloc(sizeof *q);

    /* Deterministic, and a pretraining image's scene does not depend on the other counts. */
    synth_pair(&c, 17, p);
    synth_pair(&c, 17, q);
    CHECK(t, !strcmp(p->input, q->input) && !strcmp(p->target, q->target));
    struct synth_config d = c;
    d.train_images = 250;
    d.test_images = 60;
    struct synth_scene s1, s2;
    synth_scene(&c, c.train_images + c.test_images + 7, &s1);
    synth_scene(&d, d.train_images + d.test_images + 7, &s2);
    CHECK(t, s1.n == s2.n && memcmp(s1.obj, s2.obj, sizeof s1.obj[0] * (size_t)s1.n) == 0);
    synth_scene(&c, 7, &s2); /* and it is not pool image 7 */
    CHECK(t, s1.n != s2.n || memcmp(s1.obj, s2.obj, sizeof s1.obj[0] * (size_t)s1.n) != 0);
    free(p);
    free(q);
}

/* The files, read back through the real readers: soft scores from the 10 answers, every text within the
 * vocabulary and the length limits. */
static void test_files_read_back(struct test_ctx *t)
{
    struct synth_config c = small_config();
    c.pool_questions = 400;
    c.test_questions = 100;
    struct err e;
    CHECKF(t, synth_write(&c, t->tmpdir, &e) == 0, "%s", e.msg);
    struct data_spec s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "synthetic");
    data_spec_add_files(&s.pool, t->tmpdir, "train.json", "pool", &e);
    data_spec_add_files(&s.test, t->tmpdir, "test.json", "test", &e);
    data_spec_add_files(&s.annotations, t->tmpdir, "annotations_train.json,annotations_test.json", "a", &e);
    data_spec_add_files(&s.questions, t->tmpdir, "questions_train.json,questions_test.json", "q", &e);
    data_spec_path(s.pretrain, sizeof s.pretrain, t->tmpdir, "pretrain.json", &e);
    data_spec_path(s.pool_features, sizeof s.pool_features, t->tmpdir, "detector.h5", &e);
    data_spec_path(s.test_features, sizeof s.test_features, t->tmpdir, "detector.h5", &e);
    struct vqa_data ds;
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    CHECK_INT(t, ds.n_pool, 400);
    CHECK_INT(t, ds.n_test, 100);
    CHECK_INT(t, ds.n_pretrain, 200);
    int8_t layout[1];
    CHECKF(t, dataset_check_images(&ds, layout, &e) == 0, "%s", e.msg);
    CHECK_INT(t, layout[0], LAYOUT_VLT5);
    char vocab[600];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", t->tmpdir);
    struct tokenizer tok;
    CHECKF(t, tokenizer_load_file(&tok, TOK_WORDS, vocab, &e) == 0, "%s", e.msg);
    CHECK_INT(t, tok.vocab_size, tok.n_base + 200);
    static const float table[] = {0, 0.3f, 0.6f, 0.9f, 1, 1, 1, 1, 1, 1, 1};
    for (long q = 0; q < ds.nq; q++) {
        CHECK_INT(t, ds.q[q].n_raw, 10);
        /* label[a] is the table's score for the number of annotators whose answer normalises to a. */
        for (long l = ds.q[q].label0; l < ds.q[q].label0 + ds.q[q].n_labels; l++) {
            int m = 0;
            for (long r = ds.q[q].raw0; r < ds.q[q].raw0 + 10; r++) {
                char norm[64];
                normalise(strtab_get(&ds.raw_text, ds.raw_answer[r]), norm, sizeof norm);
                m += !strcmp(norm, strtab_get(&ds.answers, ds.label_answer[l]));
            }
            CHECKF(t, ds.label_score[l] == table[m], "question %s: %s has score %g from %d annotators",
                   strtab_get(&ds.qid, q), strtab_get(&ds.answers, ds.label_answer[l]), ds.label_score[l], m);
        }
        char text[300];
        snprintf(text, sizeof text, "vqa: %s", strtab_get(&ds.text, q));
        int32_t *ids;
        int n;
        CHECK_INT(t, tokenizer_encode(&tok, text, 0, &ids, &n, &e), 0);
        CHECKF(t, n <= QUESTION_MAX_TOKENS, "\"%s\" has %d tokens", text, n);
        for (int i = 0; i < n; i++)
            CHECKF(t, ids[i] != TOK_UNK, "\"%s\" has an unknown word", text);
        free(ids);
        /* FewVLM's prompt fits too, so truncation never cuts its "answer: <extra_id_0>". */
        prompt_question(PROMPT_FEWVLM, strtab_get(&ds.text, q), text, sizeof text);
        CHECK_INT(t, tokenizer_encode(&tok, text, 0, &ids, &n, &e), 0);
        CHECKF(t, n <= QUESTION_MAX_TOKENS, "\"%s\" has %d tokens", text, n);
        CHECK(t, n >= 5 && ids[n - 1] == TOK_EOS && ids[n - 2] == tokenizer_extra_id(&tok, 0));
        CHECK_STR(t, strtab_get(&tok.words, ids[n - 3]), ":");
        CHECK_STR(t, strtab_get(&tok.words, ids[n - 4]), "answer");
        CHECK_STR(t, strtab_get(&tok.words, ids[0]), "question");
        for (int i = 0; i < n; i++)
            CHECKF(t, ids[i] != TOK_UNK, "\"%s\" has an unknown word", text);
        free(ids);
    }
    for (long a = 0; a < ds.answers.n; a++) {
        int32_t *ids;
        int n;
        CHECK_INT(t, tokenizer_encode(&tok, strtab_get(&ds.answers, a), 0, &ids, &n, &e), 0);
        CHECK_INT(t, n, 2); /* one word and </s> */
        CHECK(t, ids[0] != TOK_UNK);
        int32_t word = ids[0];
        free(ids);
        char prompted[64];
        snprintf(prompted, sizeof prompted, "%s%s", prompt_answer_prefix(PROMPT_FEWVLM), strtab_get(&ds.answers, a));
        CHECK_INT(t, tokenizer_encode(&tok, prompted, 0, &ids, &n, &e), 0);
        CHECK(t, n == 3 && ids[0] == tokenizer_extra_id(&tok, 0) && ids[1] == word && ids[2] == TOK_EOS);
        char *back = tokenizer_decode(&tok, ids, n); /* decoding drops the sentinel */
        CHECK_STR(t, back, strtab_get(&ds.answers, a));
        free(back);
        free(ids);
    }
    for (long p = 0; p < ds.n_pretrain; p++)
        for (int k = 0; k < 2; k++) {
            int32_t *ids;
            int n;
            CHECK_INT(t, tokenizer_encode(&tok, strtab_get(k ? &ds.pt_target : &ds.pt_input, p), 0, &ids, &n, &e), 0);
            for (int i = 0; i < n; i++)
                CHECK(t, ids[i] != TOK_UNK);
            free(ids);
        }
    tokenizer_free(&tok);
    dataset_free(&ds);
    data_spec_free(&s);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"answers are correct for their scenes; 10 annotators with variants", test_answers_are_correct},
        {"an item does not depend on the sizes", test_items_do_not_depend_on_sizes},
        {"the detector's regions and features", test_detector},
        {"captions are true of their scenes and never read like a question", test_captions_are_true},
        {"statements for image-text matching: true ones true, false ones false", test_statements_true_and_false},
        {"pretraining pairs: span corruption, prefix LM, image-text matching; no test image", test_pretraining_pairs},
        {"the written files read back with soft scores and known words", test_files_read_back},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
