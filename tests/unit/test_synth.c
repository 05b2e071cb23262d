/* The synthetic benchmark: answers checked against their scenes by an interpreter of the question
 * texts written here independently of the generator, 10 noisy annotators whose variants normalise back,
 * soft scores (docs/data.md, "Soft scores") through the written files, the detector's regions and
 * features, the pretraining pairs, and independence of each item from the sizes. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/dataset.h"
#include "data/load.h"
#include "data/prepared.h"
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

static void test_pretraining_pairs(struct test_ctx *t)
{
    struct synth_config c = small_config();
    struct synth_pair *p = xmalloc(sizeof *p);
    for (long i = 0; i < 100; i++) {
        synth_pair(&c, i, p);
        CHECK(t, p->image >= 0 && p->image < c.train_images);
        /* Filling the sentinels of the input with the target's spans gives the scene description back. */
        char text[2048] = "", span[64][256];
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
        CHECKF(t, !strncmp(text, " from left to right :", 21), "%s", text);
        struct synth_scene s;
        synth_scene(&c, p->image, &s);
        int objects = 0;
        for (const char *x = text; (x = strstr(x, " a ")); x++)
            objects++;
        CHECK_INT(t, objects, s.n);
    }
    free(p);
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
    }
    for (long a = 0; a < ds.answers.n; a++) {
        int32_t *ids;
        int n;
        CHECK_INT(t, tokenizer_encode(&tok, strtab_get(&ds.answers, a), 0, &ids, &n, &e), 0);
        CHECK_INT(t, n, 2); /* one word and </s> */
        CHECK(t, ids[0] != TOK_UNK);
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
        {"span-corruption pairs describe their scene", test_pretraining_pairs},
        {"the written files read back with soft scores and known words", test_files_read_back},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
