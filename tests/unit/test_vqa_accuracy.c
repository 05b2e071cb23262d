/* VQA accuracy (docs/scoring.md, "The rules"), its aggregation and rounding, the coverage rules of the
 * three variants, and the soft-label metrics (dev and GQA): hand-made cases from those rules, then the
 * per-question values that Python gives, bit for bit (fixtures in tests/data/score, made by
 * tests/reference). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/numfmt.h"
#include "data/label_score.h"
#include "data/vqa_accuracy.h"
#include "tests/harness.h"

#define MAX_ANSWERS 16

/* A question built from a list of answer strings (answer ids 1..n). */
struct question {
    struct vqa_answer answers[MAX_ANSWERS];
    struct vqa_gt gt;
};

static void make_question(struct question *q, long long id, const char *qtype, const char *const *texts, int n)
{
    for (int i = 0; i < n; i++)
        q->answers[i] = (struct vqa_answer){.answer = texts[i], .confidence = "yes", .answer_id = i + 1};
    q->gt = (struct vqa_gt){.id = {.num = id}, .question_type = qtype, .answer_type = "other",
                            .answers = q->answers, .n_answers = n};
}

/* "a dog" x6, "dog" x2, ...: fills texts from (string, count) pairs ending with NULL. */
static int fill(const char **texts, const char *const *spec)
{
    int n = 0;
    for (int k = 0; spec[k]; k += 2)
        for (int c = atoi(spec[k + 1]); c > 0; c--)
            texts[n++] = spec[k];
    return n;
}

/* The worked vectors of docs/scoring.md, as evalQA reports them: round(100 * acc, 2). */
static void test_worked_vectors(struct test_ctx *t)
{
    static const struct {
        const char *prediction;
        const char *spec[8];
        double a, b;
    } rows[] = {
        {"Yes", {"yes", "10"}, 100, 0},
        {"yes!", {"yes", "10"}, 100, 0},
        {"none", {"0", "10"}, 100, 0},
        {"2", {"two", "4", "2", "1", "3", "5"}, 30, 100},
        {"dog", {"a dog", "6", "dog", "2", "cat", "2"}, 60, 100},
        {"red", {"Red", "4", "red", "2", "blue", "4"}, 60, 100},
        {"yes", {"yes!", "5", "no", "5"}, 0, 100},
        {"t-shirt", {"t-shirt", "4", "shirt", "6"}, 100, 100},
        {"1,000", {"1000", "5", "1,000", "5"}, 100, 100},
        {"no", {"yes", "9", "no", "1"}, 30, 30},
        {"no", {"yes", "8", "no", "2"}, 60, 60},
        {"no", {"yes", "7", "no", "3"}, 90, 90},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const char *texts[MAX_ANSWERS];
        struct question q;
        make_question(&q, (long long)r, "t", texts, fill(texts, rows[r].spec));
        double a = round_2_decimals(100 * vqa_question_accuracy(&q.gt, rows[r].prediction, VQA_VLT5));
        double a16 = round_2_decimals(100 * vqa_question_accuracy(&q.gt, rows[r].prediction, VQA_OFFICIAL2016));
        double b = round_2_decimals(100 * vqa_question_accuracy(&q.gt, rows[r].prediction, VQA_OFFICIAL));
        CHECKF(t, a == rows[r].a && a16 == rows[r].a, "row %zu (%s): A gives %g and %g, expected %g", r + 1,
               rows[r].prediction, a, a16, rows[r].a);
        CHECKF(t, b == rows[r].b, "row %zu (%s): B gives %g, expected %g", r + 1, rows[r].prediction, b, rows[r].b);
    }
}

/* Whitespace in the answers: A leaves them raw, B cleans them. */
static void test_whitespace_in_answers(struct test_ctx *t)
{
    const char *texts[] = {" yes", "yes", "yes", "yes\t", "no", "no", "no", "no", "no", "no"};
    struct question q;
    make_question(&q, 1, "t", texts, 10);
    CHECK(t, vqa_question_accuracy(&q.gt, "yes", VQA_VLT5) == 0.6); /* 2 raw "yes" */
    CHECK(t, round_2_decimals(100 * vqa_question_accuracy(&q.gt, "yes", VQA_OFFICIAL)) == 100);
}

/* m matching answers out of 10, at every possible set of places. */
static void test_match_counts(struct test_ctx *t)
{
    static const double rounded[11] = {0, 30, 60, 90, 100, 100, 100, 100, 100, 100, 100};
    int seen_m2[3] = {0}, seen_m3[2] = {0};
    for (int mask = 0; mask < 1 << 10; mask++) {
        const char *ans[10];
        int m = 0;
        for (int i = 0; i < 10; i++) {
            ans[i] = (mask >> i & 1) ? "yes" : "no";
            m += mask >> i & 1;
        }
        double acc = vqa_match_accuracy(ans, 10, "yes");
        CHECKF(t, round_2_decimals(100 * acc) == rounded[m], "m = %d: %.17g", m, acc);
        if (m == 0 || m >= 4)
            CHECKF(t, acc == (m ? 1.0 : 0.0), "m = %d: %.17g", m, acc);
        if (m == 2) {
            CHECKF(t, acc == 0.5999999999999999 || acc == 0.6 || acc == 0.6000000000000001, "m = 2: %.17g", acc);
            seen_m2[0] |= acc == 0.5999999999999999, seen_m2[1] |= acc == 0.6, seen_m2[2] |= acc == 0.6000000000000001;
        }
        if (m == 3) {
            CHECKF(t, acc == 0.8999999999999998 || acc == 0.9, "m = 3: %.17g", acc);
            seen_m3[0] |= acc == 0.8999999999999998, seen_m3[1] |= acc == 0.9;
        }
    }
    /* the last bit depends on where the matches sit: every value docs/scoring.md lists occurs */
    CHECK(t, seen_m2[0] && seen_m2[1] && seen_m2[2] && seen_m3[0] && seen_m3[1]);
    /* the mean is over the records, not over 10 */
    const char *four[] = {"x", "x", "x", "y"};
    CHECK(t, vqa_match_accuracy(four, 4, "x") == (2.0 / 3 + 2.0 / 3 + 2.0 / 3 + 1.0) / 4);
    CHECK(t, vqa_match_accuracy(four, 4, "y") == (1.0 / 3 + 1.0 / 3 + 1.0 / 3 + 0.0) / 4);
    CHECK(t, vqa_match_accuracy(four + 3, 1, "y") == 0.0); /* one answer: it is always left out */
}

/* Per-question accuracies that Python computes, under both variants, bit for bit. */
static void test_python_accuracies(struct test_ctx *t)
{
    json_error_t je;
    json_t *root = json_load_file("tests/data/score/accuracy_vectors.json", 0, &je);
    CHECKF(t, json_is_array(root), "cannot load the fixture: %s", je.text);
    if (!root)
        return;
    size_t i;
    json_t *v;
    int differ = 0;
    json_array_foreach(root, i, v) {
        json_t *list = json_object_get(v, "answers");
        const char *texts[MAX_ANSWERS];
        int n = (int)json_array_size(list);
        for (int k = 0; k < n && k < MAX_ANSWERS; k++)
            texts[k] = json_string_value(json_array_get(list, (size_t)k));
        struct question q;
        make_question(&q, (long long)i, "t", texts, n);
        const char *pred = json_string_value(json_object_get(v, "prediction"));
        double want_a = strtod(json_string_value(json_object_get(v, "A")), NULL);
        double want_b = strtod(json_string_value(json_object_get(v, "B")), NULL);
        double a = vqa_question_accuracy(&q.gt, pred, VQA_VLT5), b = vqa_question_accuracy(&q.gt, pred, VQA_OFFICIAL);
        CHECKF(t, a == want_a, "vector %zu (\"%s\"): A = %a, Python %a", i, pred, a, want_a);
        CHECKF(t, b == want_b, "vector %zu (\"%s\"): B = %a, Python %a", i, pred, b, want_b);
        differ += want_a != want_b;
    }
    CHECKF(t, i > 500 && differ > 50, "%zu vectors, %d where A and B differ", i, differ);
    json_decref(root);
}

/* 80 scores for which sum/n*100 = 52.87499999999999 and 100*sum/n = 52.875 (which rounds to 52.88) */
static const double scores_80[80] = {
    1.0, 0.0, 0.3, 0.9, 0.9, 0.6, 0.6, 1.0, 0.0, 0.3, 0.6, 0.9, 0.9, 1.0, 0.3, 0.6, 0.9, 1.0, 0.0, 0.6,
    0.9, 1.0, 0.9, 0.6, 0.9, 0.9, 0.6, 0.9, 0.9, 0.0, 0.0, 0.6, 0.6, 0.9, 0.0, 0.0, 1.0, 0.6, 0.3, 0.0,
    0.6, 0.6, 0.3, 0.9, 0.9, 0.3, 0.9, 0.6, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.0, 0.0, 0.9, 0.6, 1.0,
    0.0, 1.0, 0.3, 0.6, 0.0, 0.6, 0.0, 0.3, 0.9, 0.6, 0.6, 0.0, 0.0, 0.6, 0.3, 0.3, 1.0, 0.0, 1.0, 0.3};

/* ---- aggregation ---------------------------------------------------------------------------------- */

static double tally_overall(const double *accs, int n)
{
    struct vqa_tally tl;
    struct err e;
    vqa_tally_init(&tl, VQA_VLT5);
    for (int i = 0; i < n; i++)
        vqa_tally_add(&tl, "q", "a", accs[i]);
    double overall = vqa_tally_finish(&tl, &e) == 0 ? tl.overall : NAN;
    vqa_tally_free(&tl);
    return overall;
}

static void test_rounding(struct test_ctx *t)
{
    /* Python's round(x, 2): the exact binary value, ties to even */
    CHECK(t, round_2_decimals(2.675) == 2.67);  /* 2.67499999... in binary */
    CHECK(t, round_2_decimals(0.125) == 0.12);  /* an exact tie goes to even */
    CHECK(t, round_2_decimals(0.375) == 0.38);
    CHECK(t, round_2_decimals(1.005) == 1.0);
    CHECK(t, round_2_decimals(59.374999999999986) == 59.37);
    /* 100*S/n lands just below 59.375 when summed left to right in this order (59.37), exactly on it
     * when summed in sorted order (59.38, ties to even): order and plain summation matter */
    static const double in_order[16] = {0.5999999999999999, 0.9, 0.6, 0.3, 0.8999999999999998, 0.6000000000000001,
                                        0.5999999999999999, 0.0, 1.0, 0.6000000000000001, 0.0, 0.6,
                                        0.5999999999999999, 0.3, 0.9, 1.0};
    static const double sorted[16] = {0.0, 0.0, 0.3, 0.3, 0.5999999999999999, 0.5999999999999999,
                                      0.5999999999999999, 0.6, 0.6, 0.6000000000000001, 0.6000000000000001,
                                      0.8999999999999998, 0.9, 0.9, 1.0, 1.0};
    CHECK(t, tally_overall(in_order, 16) == 59.37);
    CHECK(t, tally_overall(sorted, 16) == 59.38);
    /* 100*S/n is exactly 73.125 here: ties to even gives 73.12 (rounding half up would give 73.13) */
    static const double tie[16] = {0.0, 0.3, 0.3, 0.5999999999999999, 0.5999999999999999, 0.6, 0.8999999999999998,
                                   0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0};
    CHECK(t, tally_overall(tie, 16) == 73.12);
    CHECK(t, tally_overall((const double[]){1.0 / 3, 1.0 / 3, 1.0 / 3}, 3) == 33.33);
    /* the multiplication by 100 comes before the division (sum/n*100 would give 52.87) */
    CHECK(t, tally_overall(scores_80, 80) == 52.88);
}

static void test_numbers_as_python_prints_them(struct test_ctx *t)
{
    static const struct {
        double x;
        const char *repr;
    } cases[] = {{55.12, "55.12"},  {100.0, "100.0"}, {0.0, "0.0"}, {59.37, "59.37"}, {0.1 + 0.2, "0.30000000000000004"},
                 {33.33, "33.33"}, {7.0, "7.0"},     {-0.0, "-0.0"}, {1e-05, "1e-05"}, {1.5e16, "1.5e+16"},
                 {0.0001, "0.0001"}, {123456789012345.6, "123456789012345.6"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[NUMFMT_LEN];
        format_double_repr(cases[i].x, out);
        CHECK_STR(t, out, cases[i].repr);
    }
}

static void test_per_type_tables(struct test_ctx *t)
{
    struct vqa_tally tl;
    struct err e;
    vqa_tally_init(&tl, VQA_OFFICIAL);
    vqa_tally_add(&tl, "how many", "number", 1.0);
    vqa_tally_add(&tl, "what color is the", "other", 0.3);
    vqa_tally_add(&tl, "how many", "number", 0.0);
    vqa_tally_add(&tl, "is the", "yes/no", 0.6);
    vqa_tally_add(&tl, "what color is the", "other", 0.9);
    CHECK_INT(t, vqa_tally_finish(&tl, &e), 0);
    CHECK(t, tl.overall == 56.0);
    CHECK_INT(t, tl.n_qtypes, 3);
    CHECK_INT(t, tl.n_atypes, 3);
    /* types in order of first appearance, each round(100 * sum / n, 2) */
    CHECK_STR(t, tl.qtypes[0].name, "how many");
    CHECK(t, tl.qtypes[0].percent == 50.0 && tl.qtypes[0].n == 2);
    CHECK_STR(t, tl.qtypes[1].name, "what color is the");
    CHECK(t, tl.qtypes[1].percent == 60.0);
    CHECK_STR(t, tl.qtypes[2].name, "is the");
    CHECK(t, tl.qtypes[2].percent == 60.0);
    CHECK_STR(t, tl.atypes[1].name, "other");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    vqa_tally_write_json(&tl, f);
    fclose(f);
    CHECK_STR(t, text, "{\n  \"overall\": 56.0,\n  \"perQuestionType\": {\n    \"how many\": 50.0,\n"
                       "    \"what color is the\": 60.0,\n    \"is the\": 60.0\n  },\n  \"perAnswerType\": {\n"
                       "    \"number\": 50.0,\n    \"other\": 60.0,\n    \"yes/no\": 60.0\n  },\n"
                       "  \"variant\": \"official\"\n}\n");
    free(text);
    vqa_tally_free(&tl);
    vqa_tally_init(&tl, VQA_VLT5);
    CHECK_INT(t, vqa_tally_finish(&tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "no question to score");
    vqa_tally_free(&tl);
}

/* ---- coverage --------------------------------------------------------------------------------------- */

#define N_GT 8

struct gt_set {
    struct question q[N_GT];
};

/* Questions 101..108; question 100+k has answers "a<k>" x10, except 103 ("x" x4, "y" x6). */
static void make_gt_set(struct gt_set *s, struct vqa_gt *gt)
{
    static const char *const names[N_GT] = {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"};
    for (int k = 0; k < N_GT; k++) {
        const char *texts[10];
        for (int i = 0; i < 10; i++)
            texts[i] = k == 2 ? (i < 4 ? "x" : "y") : names[k];
        make_question(&s->q[k], 101 + k, k % 2 ? "odd" : "even", texts, 10);
        /* the answer strings point to static storage, so texts[] going away is fine */
        gt[k] = s->q[k].gt;
    }
}

static void test_vlt5_scores_the_predictions(struct test_ctx *t)
{
    struct gt_set s;
    struct vqa_gt gt[N_GT];
    make_gt_set(&s, gt);
    struct vqa_tally tl;
    struct err e;
    /* two answered questions out of eight, in prediction order */
    struct vqa_pred pred[] = {{{.num = 103}, "x"}, {{.num = 102}, "A2."}};
    CHECK_INT(t, vqa_score(gt, N_GT, pred, 2, VQA_VLT5, &tl, &e), 0);
    CHECK_INT(t, tl.n, 2);
    CHECK(t, tl.overall == 100.0); /* x: 4 matches; A2. -> a2 */
    CHECK_STR(t, tl.qtypes[0].name, "even"); /* 103 first */
    vqa_tally_free(&tl);
    /* an unknown id is named */
    struct vqa_pred bad[] = {{{.num = 101}, "a1"}, {{.num = 999}, "?"}, {{.num = 998}, "?"}};
    CHECK_INT(t, vqa_score(gt, N_GT, bad, 3, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "2 predicted question ids are not in the annotations: 999, 998");
    vqa_tally_free(&tl);
    /* nothing predicted: nothing to score */
    CHECK_INT(t, vqa_score(gt, N_GT, NULL, 0, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "no question to score");
    vqa_tally_free(&tl);
}

static void test_official_needs_every_question(struct test_ctx *t)
{
    struct gt_set s;
    struct vqa_gt gt[N_GT];
    make_gt_set(&s, gt);
    struct vqa_pred pred[N_GT + 1];
    for (int k = 0; k < N_GT; k++)
        pred[k] = (struct vqa_pred){{.num = 101 + (N_GT - 1 - k)}, "a1"}; /* reversed order */
    struct vqa_tally tl;
    struct err e;
    for (int v = VQA_OFFICIAL2016; v <= VQA_OFFICIAL; v++) {
        CHECK_INT(t, vqa_score(gt, N_GT, pred, N_GT, (enum vqa_variant)v, &tl, &e), 0);
        CHECK_INT(t, tl.n, N_GT);
        CHECK_STR(t, tl.qtypes[0].name, "even"); /* annotation order: 101 first */
        CHECK(t, tl.overall == 12.5);
        vqa_tally_free(&tl);
        /* two missing */
        CHECK_INT(t, vqa_score(gt, N_GT, pred + 2, N_GT - 2, (enum vqa_variant)v, &tl, &e), -1);
        CHECK_CONTAINS(t, e.msg, vqa_variant_name((enum vqa_variant)v));
        CHECK_CONTAINS(t, e.msg, "2 annotated questions have no prediction (107, 108)");
        vqa_tally_free(&tl);
        /* one extra */
        pred[N_GT] = (struct vqa_pred){{.num = 5}, "x"};
        CHECK_INT(t, vqa_score(gt, N_GT, pred, N_GT + 1, (enum vqa_variant)v, &tl, &e), -1);
        CHECK_CONTAINS(t, e.msg, "1 predicted question is not in the annotations (5)");
        vqa_tally_free(&tl);
        /* all missing: a few are named, and how many */
        CHECK_INT(t, vqa_score(gt, N_GT, pred + N_GT, 1, (enum vqa_variant)v, &tl, &e), -1);
        CHECK_CONTAINS(t, e.msg, "8 annotated questions have no prediction (101, 102, 103, 104, 105 and 3 more)");
        CHECK_CONTAINS(t, e.msg, "1 predicted question is not in the annotations (5)");
        vqa_tally_free(&tl);
    }
}

static void test_ids_and_records(struct test_ctx *t)
{
    struct gt_set s;
    struct vqa_gt gt[N_GT];
    make_gt_set(&s, gt);
    struct vqa_tally tl;
    struct err e;
    struct vqa_pred twice[] = {{{.num = 101}, "a"}, {{.num = 102}, "b"}, {{.num = 101}, "c"}};
    CHECK_INT(t, vqa_score(gt, N_GT, twice, 3, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "question id 101 is predicted twice ([0] and [2])");
    vqa_tally_free(&tl);
    gt[5].id.num = 101;
    CHECK_INT(t, vqa_score(gt, N_GT, twice, 1, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "question id 101 is annotated twice ([0] and [5])");
    vqa_tally_free(&tl);
    gt[5].id.num = 106;
    s.q[1].answers[7].answer_id = 3;
    CHECK_INT(t, vqa_score(gt, N_GT, twice, 1, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "question 102: answer_id 3 is used twice");
    vqa_tally_free(&tl);
    s.q[1].answers[7].answer_id = 8;
    gt[3].n_answers = 0;
    CHECK_INT(t, vqa_score(gt, N_GT, twice, 1, VQA_VLT5, &tl, &e), -1);
    CHECK_CONTAINS(t, e.msg, "question 104: no answers");
    vqa_tally_free(&tl);
    /* GQA-style string ids keep their leading zeros and never equal an integer id */
    struct vqa_id a = {.str = "07333408"}, b = {.str = "7333408"}, c = {.num = 7333408}, d = {.str = "07333408"};
    CHECK(t, !vqa_id_equal(&a, &b) && !vqa_id_equal(&b, &c) && vqa_id_equal(&a, &d));
    struct vqa_id_index ix;
    vqa_id_index_init(&ix, 0);
    CHECK(t, vqa_id_index_put(&ix, &a, 0) == VQA_ID_NONE && vqa_id_index_put(&ix, &c, 1) == VQA_ID_NONE);
    CHECK(t, vqa_id_index_get(&ix, &d) == 0 && vqa_id_index_get(&ix, &c) == 1 && vqa_id_index_get(&ix, &b) == VQA_ID_NONE);
    CHECK(t, vqa_id_index_put(&ix, &d, 5) == 0);
    /* the index grows and keeps everything */
    struct vqa_id many[3000];
    for (int i = 0; i < 3000; i++) {
        many[i] = (struct vqa_id){.num = 1000LL * i};
        vqa_id_index_put(&ix, &many[i], (size_t)i + 10);
    }
    int found = 1;
    for (int i = 0; i < 3000; i++)
        found &= vqa_id_index_get(&ix, &many[i]) == (size_t)i + 10;
    CHECK(t, found && ix.n == 3002 && vqa_id_index_get(&ix, &a) == 0);
    vqa_id_index_free(&ix);
    char text[VQA_ID_TEXT];
    vqa_id_format(&a, text);
    CHECK_STR(t, text, "\"07333408\"");
    enum vqa_variant v;
    CHECK_INT(t, vqa_variant_parse("official2016", &v, &e), 0);
    CHECK_INT(t, v, VQA_OFFICIAL2016);
    CHECK_INT(t, vqa_variant_parse("Official", &v, &e), -1);
    CHECK_CONTAINS(t, e.msg, "unknown VQA accuracy variant 'Official' (expected vlt5, official2016 or official)");
}

/* ---- soft labels ------------------------------------------------------------------------------------- */

static void test_soft_labels(struct test_ctx *t)
{
    const char *keys[] = {"pipe", "t-shirt", "at the camera"};
    double scores[] = {1.0, 0.9, 0.6};
    struct vqa_label l = {keys, scores, 3};
    CHECK(t, label_lookup(&l, "pipe") == 1.0);
    CHECK(t, label_lookup(&l, "Pipe") == 0.0); /* the dev metric compares raw strings */
    CHECK(t, label_lookup(&l, "pipe ") == 0.0);
    CHECK(t, gqa_question_score(&l, "The Pipe.") == 1.0);
    /* only the prediction is normalised: answers with a hyphen or an article can never score */
    CHECK(t, gqa_question_score(&l, "t-shirt") == 0.0);
    CHECK(t, gqa_question_score(&l, "at the camera") == 0.0);
    /* the dev score divides first, then multiplies by 100, then goes through "%.2f": here that gives
     * 52.87 where the VQA accuracy's 100*sum/n gives 52.88 (test_rounding) */
    CHECK(t, dev_score_percent(scores_80, 80) == 52.87);
    CHECK(t, gqa_accuracy_percent(scores_80, 80) == 52.87499999999999);
    CHECK(t, isnan(dev_score_percent(scores_80, 0)));
}

static void test_python_labels(struct test_ctx *t)
{
    json_error_t je;
    json_t *root = json_load_file("tests/data/score/label_vectors.json", 0, &je);
    CHECKF(t, json_is_object(root), "cannot load the fixture: %s", je.text);
    if (!root)
        return;
    json_t *labels = json_object_get(root, "labels"), *preds = json_object_get(root, "predictions");
    size_t n = json_array_size(preds);
    double *lookup = xcalloc(n, sizeof *lookup), *gqa = xcalloc(n, sizeof *gqa);
    for (size_t i = 0; i < n; i++) {
        json_t *lab = json_array_get(labels, i);
        const char *keys[16];
        double scores[16];
        int k = 0;
        const char *key;
        json_t *val;
        json_object_foreach(lab, key, val) {
            keys[k] = key;
            scores[k++] = json_real_value(val);
        }
        struct vqa_label l = {keys, scores, k};
        const char *p = json_string_value(json_array_get(preds, i));
        lookup[i] = label_lookup(&l, p);
        gqa[i] = gqa_question_score(&l, p);
        CHECKF(t, lookup[i] == json_number_value(json_array_get(json_object_get(root, "lookup"), i)), "lookup %zu", i);
        CHECKF(t, gqa[i] == json_number_value(json_array_get(json_object_get(root, "gqa"), i)), "gqa %zu", i);
    }
    CHECK(t, n >= 50);
    CHECK(t, dev_score_percent(lookup, n) == json_real_value(json_object_get(root, "dev_score")));
    CHECK(t, gqa_accuracy_percent(gqa, n) == strtod(json_string_value(json_object_get(root, "gqa_accuracy")), NULL));
    free(lookup);
    free(gqa);
    json_decref(root);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"worked vectors, variants A and B", test_worked_vectors},
        {"whitespace in the answers", test_whitespace_in_answers},
        {"m = 0..10 matches at every place", test_match_counts},
        {"per-question accuracy against Python", test_python_accuracies},
        {"rounding and summation order", test_rounding},
        {"numbers as Python prints them", test_numbers_as_python_prints_them},
        {"per question type and answer type", test_per_type_tables},
        {"vlt5 scores the predicted ids", test_vlt5_scores_the_predictions},
        {"official variants need exactly the annotated ids", test_official_needs_every_question},
        {"ids, duplicates and answer records", test_ids_and_records},
        {"soft labels: dev metric and GQA", test_soft_labels},
        {"soft labels against Python", test_python_labels},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
