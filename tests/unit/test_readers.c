/* The dataset readers on small made-up files in the real formats (tests/data, made by
 * tests/data/make_fixtures.py): VQA v2, GQA and OK-VQA, the k-shot pool against the reference sampler,
 * the detector files in both layouts, prepared.h5 written and read back, and every kind of bad input. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/detector.h"
#include "data/load.h"
#include "data/prepared.h"
#include "data/splits.h"
#include "tests/harness.h"

#define D "tests/data/"

/* VQA v2 as the defaults describe it, on the test files; `key=value` pairs replace one file. */
static void vqa_spec(struct data_spec *s, const char *pool, const char *features, const char *annotations,
                     const char *questions)
{
    memset(s, 0, sizeof *s);
    struct err e;
    snprintf(s->name, sizeof s->name, "vqav2");
    s->answer_max_len = ANSWER_MAX_TOKENS;
    s->tokenizer_kind = TOK_SENTENCEPIECE;
    data_spec_add_files(&s->pool, D "vqa", pool ? pool : "train.json", "pool", &e);
    data_spec_add_files(&s->test, D "vqa", "minival.json, nominival.json", "test", &e);
    if (!annotations || annotations[0])
        data_spec_add_files(&s->annotations, D "vqa", annotations ? annotations : "v2_mscoco_val2014_annotations.json",
                            "annotations", &e);
    if (questions)
        data_spec_add_files(&s->questions, D "vqa", questions, "questions", &e);
    data_spec_path(s->pool_features, sizeof s->pool_features, D "vqa", features ? features : "train_obj36.h5", &e);
    data_spec_path(s->test_features, sizeof s->test_features, D "vqa", "val_obj36.h5", &e);
    snprintf(s->tokenizer, sizeof s->tokenizer, D "tiny_spm.model");
}

/* GQA with the pool read from `pool` (a file under tests/data). */
static void gqa_spec(struct data_spec *s, const char *pool)
{
    memset(s, 0, sizeof *s);
    struct err e;
    snprintf(s->name, sizeof s->name, "gqa");
    s->ids_are_strings = 1;
    data_spec_add_files(&s->pool, "tests/data", pool, "pool", &e);
    data_spec_add_files(&s->test, D "gqa", "testdev.json", "test", &e);
    snprintf(s->pool_features, sizeof s->pool_features, D "gqa/gqa_obj36.h5");
    snprintf(s->test_features, sizeof s->test_features, D "gqa/gqa_obj36.h5");
}

static void test_vqa(struct test_ctx *t)
{
    struct data_spec s;
    vqa_spec(&s, NULL, NULL, NULL, "v2_OpenEnded_mscoco_val2014_questions.json");
    struct vqa_data ds;
    struct err e;
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    CHECK_INT(t, ds.nq, 31);
    CHECK_INT(t, ds.n_pool, 24);
    CHECK_INT(t, ds.n_test, 7);
    CHECK_INT(t, dataset_n_images(&ds), 12);
    CHECK_INT(t, ds.files.n, 2);
    CHECK_INT(t, ds.q[0].id, 9000);
    CHECK_STR(t, strtab_get(&ds.text, 0), "What color is the bus?");
    CHECK_STR(t, strtab_get(&ds.image_id, ds.q[0].image), "COCO_train2014_000000000009");
    /* Labels keep the file's order and values. */
    CHECK_INT(t, ds.q[0].n_labels, 2);
    CHECK_STR(t, strtab_get(&ds.answers, ds.label_answer[ds.q[0].label0]), "red");
    CHECK_NEAR(t, ds.label_score[ds.q[0].label0 + 1], 0.3, 1e-7, 0);
    /* Test questions get their 10 raw answers, as typed, and their types from the annotations. */
    long row = dataset_find(&ds, "42000");
    CHECK(t, row >= 24);
    const struct question *q = &ds.q[row];
    CHECK_INT(t, q->source, SRC_TEST);
    CHECK_INT(t, q->n_raw, 10);
    CHECK_STR(t, strtab_get(&ds.raw_text, ds.raw_answer[q->raw0 + 1]), "Red");
    CHECK_STR(t, strtab_get(&ds.raw_text, ds.raw_answer[q->raw0 + 9]), "blue");
    CHECK_INT(t, ds.raw_confidence[q->raw0 + 1], CONF_MAYBE);
    CHECK_INT(t, ds.raw_answer_id[q->raw0 + 9], 10);
    CHECK_STR(t, strtab_get(&ds.qtypes, q->qtype), "what color is the");
    CHECK_STR(t, strtab_get(&ds.atypes, q->atype), "other");
    for (long i = 0; i < ds.nq; i++)
        if (ds.q[i].source == SRC_POOL)
            CHECK_INT(t, ds.q[i].n_raw, 0); /* only val annotations are configured */
    int8_t layout[2] = {-1, -1};
    CHECKF(t, dataset_check_images(&ds, layout, &e) == 0, "%s", e.msg);
    CHECK_INT(t, layout[0], LAYOUT_COCO);
    CHECK_INT(t, layout[1], LAYOUT_COCO);
    dataset_free(&ds);
    data_spec_free(&s);
}

/* The k-shot samples are the reference implementation's, by question id. */
static void test_kshot_pool(struct test_ctx *t)
{
    struct data_spec s;
    vqa_spec(&s, NULL, NULL, NULL, NULL);
    struct vqa_data ds;
    struct err e;
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    json_error_t je;
    json_t *ref = json_load_file(D "vqa/kshot_k4.json", 0, &je);
    CHECKF(t, json_is_array(ref), "%s", je.text);
    int64_t seeds[] = {13, 21, 42, 87, 100};
    long sizes[] = {4};
    struct split_set sp;
    CHECKF(t, split_set_build(&sp, &ds, seeds, 5, sizes, 1, &e) == 0, "%s", e.msg);
    CHECK_INT(t, sp.n_sets, 5);
    CHECK_INT(t, sp.n_pool, 24);
    CHECK_INT(t, sp.n_test, 7);
    for (int i = 0; i < sp.n_sets && ref; i++) {
        json_t *c = json_array_get(ref, (size_t)i);
        CHECK_INT(t, json_integer_value(json_object_get(c, "seed")), sp.sets[i].seed);
        for (int j = 0; j < 4; j++) {
            CHECK_INT(t, ds.q[sp.sets[i].train[j]].id, json_integer_value(json_array_get(json_object_get(c, "train"), (size_t)j)));
            CHECK_INT(t, ds.q[sp.sets[i].dev[j]].id, json_integer_value(json_array_get(json_object_get(c, "dev"), (size_t)j)));
        }
    }
    split_set_free(&sp);
    long too_big[] = {13};
    CHECK_INT(t, split_set_build(&sp, &ds, seeds, 1, too_big, 1, &e), -1);
    CHECK_CONTAINS(t, e.msg, "vqav2: k = 13 needs 26 pool questions");
    CHECK_CONTAINS(t, e.msg, "the pool has 24");
    json_decref(ref);
    dataset_free(&ds);
    data_spec_free(&s);
}

static void test_gqa_and_okvqa(struct test_ctx *t)
{
    struct data_spec s;
    struct err e;
    gqa_spec(&s, "gqa/train.json");
    struct vqa_data ds;
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    CHECK_INT(t, ds.ids_are_strings, 1);
    CHECK_STR(t, strtab_get(&ds.qid, 0), "00000005"); /* leading zeros kept */
    CHECK_INT(t, ds.q[0].id, -1);
    CHECK(t, dataset_find(&ds, "00020001") >= 0);
    CHECK_INT(t, dataset_n_images(&ds), 3); /* pool and test share the file and the images */
    int8_t layout[1] = {-1};
    CHECKF(t, dataset_check_images(&ds, layout, &e) == 0, "%s", e.msg);
    CHECK_INT(t, layout[0], LAYOUT_VLT5);
    /* GQA answers are not truncated to 10 tokens. */
    struct tokenizer tok;
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, D "tiny_spm.model", &e), 0);
    int64_t seed = 13;
    long k = 2;
    struct split_set sp;
    CHECK_INT(t, split_set_build(&sp, &ds, &seed, 1, &k, 1, &e), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/gqa.h5", t->tmpdir);
    struct prepared_input in = {.ds = &ds, .tok = &tok, .answer_max_len = 0, .splits = &sp, .file_layout = layout,
                                .images_digest = "x"};
    CHECKF(t, prepared_write(path, &in, &e) == 0, "%s", e.msg);
    struct prepared p;
    CHECKF(t, prepared_open(&p, path, PREPARED_QUESTIONS, &e) == 0, "%s", e.msg);
    CHECK_INT(t, p.ids_are_strings, 1);
    CHECK_STR(t, strtab_get(&p.q_id_text, 0), "00000005");
    long a = strtab_find(&p.answers, "left side of the picture");
    int32_t *ids;
    int n;
    CHECK_INT(t, tokenizer_encode(&tok, "left side of the picture", 0, &ids, &n, &e), 0);
    CHECK(t, a >= 0 && n > ANSWER_MAX_TOKENS && p.a_len >= n && p.a_n_tokens[a] == n);
    CHECK(t, a >= 0 && memcmp(p.a_tokens + a * p.a_len, ids, (size_t)n * sizeof *ids) == 0);
    free(ids);
    prepared_close(&p);
    split_set_free(&sp);
    tokenizer_free(&tok);
    dataset_free(&ds);
    data_spec_free(&s);

    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "okvqa");
    data_spec_add_files(&s.pool, D "okvqa", "train.json", "pool", &e);
    data_spec_add_files(&s.test, D "okvqa", "val.json", "test", &e);
    data_spec_add_files(&s.annotations, D "okvqa", "mscoco_val2014_annotations.json", "annotations", &e);
    snprintf(s.pool_features, sizeof s.pool_features, D "okvqa/train_obj36.h5");
    snprintf(s.test_features, sizeof s.test_features, D "okvqa/val_obj36.h5");
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    long row = dataset_find(&ds, "5001");
    CHECK(t, row >= 0);
    CHECK_INT(t, ds.q[row].n_raw, 10);
    CHECK_STR(t, strtab_get(&ds.raw_text, ds.raw_answer[ds.q[row].raw0]), "banana"); /* 'answer', not 'raw_answer' */
    CHECK_INT(t, ds.raw_confidence[ds.q[row].raw0], CONF_NO);
    CHECK_STR(t, strtab_get(&ds.qtypes, ds.q[row].qtype), "eight");
    dataset_free(&ds);
    data_spec_free(&s);
}

/* Both layouts give the normalised boxes of docs/data.md; a box of the whole image is exactly 0..1. */
static void test_detector_files(struct test_ctx *t)
{
    struct detector_file d;
    struct err e;
    float feat[36 * 8], boxes[36 * 4];
    int64_t hw[2];
    int dim = 0;
    CHECK_INT(t, detector_open(&d, D "vqa/val_obj36.h5", LAYOUT_COCO, &e), 0);
    CHECK_INT(t, detector_feature_dim(&d, "COCO_val2014_000000000073", &dim, &e), 0);
    CHECK_INT(t, dim, 8);
    CHECKF(t, detector_read(&d, "COCO_val2014_000000000073", 8, feat, boxes, hw, &e) == 0, "%s", e.msg);
    CHECK_INT(t, hw[0], 375);
    CHECK_INT(t, hw[1], 500);
    float whole[4] = {0, 0, 1, 1};
    CHECK(t, memcmp(boxes, whole, sizeof whole) == 0);
    for (int i = 0; i < 36 * 4; i++)
        CHECK(t, boxes[i] >= 0 && boxes[i] <= 1);
    CHECK_INT(t, detector_read(&d, "COCO_val2014_000000000099", 8, feat, boxes, hw, &e), -1);
    CHECK_CONTAINS(t, e.msg, "image 'COCO_val2014_000000000099' is not in the file (no group '99')");
    CHECK_INT(t, detector_read(&d, "COCO_val2014_000000000073", 16, feat, boxes, hw, &e), -1);
    CHECK_CONTAINS(t, e.msg, "'features' should be [36, 16]");
    detector_close(&d);
    CHECK_INT(t, detector_open(&d, D "gqa/gqa_obj36.h5", LAYOUT_VLT5, &e), 0);
    CHECKF(t, detector_read(&d, "n000003", 8, feat, boxes, hw, &e) == 0, "%s", e.msg);
    CHECK_INT(t, hw[1], 500);
    detector_close(&d);
    /* The division is float32's, as NumPy's on float32 boxes. */
    float b[4] = {333.0f, 1.0f, 499.9999f, 332.0f};
    CHECK_INT(t, boxes_normalize_f32(b, 1, 500, 333, "img", &e), 0);
    CHECK(t, b[0] == 333.0f / 500.0f && b[1] == 1.0f / 333.0f && b[2] == 499.9999f / 500.0f);
    float out[4] = {500.006f, 0, 10, 10};
    CHECK_INT(t, boxes_normalize_f32(out, 1, 500, 333, "img 7", &e), -1);
    CHECK_CONTAINS(t, e.msg, "img 7: box 0 coordinate 0");
    float neg[4] = {-0.001f, 0, 10, 10}; /* -2e-6 of the width: inside the tolerance, clamped */
    CHECK_INT(t, boxes_normalize_f32(neg, 1, 500, 333, "img", &e), 0);
    CHECK(t, neg[0] == 0.0f);
}

static void test_prepared_round_trip(struct test_ctx *t)
{
    struct data_spec s;
    vqa_spec(&s, NULL, NULL, NULL, NULL);
    struct vqa_data ds;
    struct tokenizer tok;
    struct err e;
    CHECKF(t, dataset_load(&s, &ds, &e) == 0, "%s", e.msg);
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, s.tokenizer, &e), 0);
    int8_t layout[2];
    CHECK_INT(t, dataset_check_images(&ds, layout, &e), 0);
    int64_t seeds[] = {13, 42};
    long sizes[] = {2, 4};
    struct split_set sp;
    CHECK_INT(t, split_set_build(&sp, &ds, seeds, 2, sizes, 2, &e), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/prepared.h5", t->tmpdir);
    struct prepared_input in = {.ds = &ds, .tok = &tok, .answer_max_len = ANSWER_MAX_TOKENS, .splits = &sp,
                                .file_layout = layout, .images_digest = "0123456789abcdef"};
    CHECKF(t, prepared_write(path, &in, &e) == 0, "%s", e.msg);
    struct prepared p;
    CHECKF(t, prepared_open(&p, path, PREPARED_ALL, &e) == 0, "%s", e.msg);
    CHECK_STR(t, p.dataset, "vqav2");
    CHECK_INT(t, p.n_questions, ds.nq);
    CHECK_INT(t, p.q_len, 20);
    CHECK_INT(t, p.a_len, 10);
    CHECK_INT(t, p.n_pool, 24);
    CHECK_INT(t, p.n_test, 7);
    CHECK_STR(t, p.images_digest, "0123456789abcdef");
    for (long q = 0; q < p.n_questions; q++) {
        char text[300];
        snprintf(text, sizeof text, "vqa: %s", strtab_get(&ds.text, q));
        int32_t *ids;
        int n;
        CHECK_INT(t, tokenizer_encode(&tok, text, 20, &ids, &n, &e), 0);
        CHECK_INT(t, p.q_n_tokens[q], n);
        CHECK(t, memcmp(p.q_tokens + q * p.q_len, ids, (size_t)n * sizeof *ids) == 0);
        CHECK_INT(t, p.q_tokens[q * p.q_len + p.q_len - 1], n == 20 ? TOK_EOS : 0);
        free(ids);
        CHECK_INT(t, p.q_id[q], ds.q[q].id);
        CHECK_STR(t, strtab_get(&p.q_text, q), strtab_get(&ds.text, q));
        CHECK_STR(t, strtab_get(&p.image_id, p.q_image[q]), strtab_get(&ds.image_id, ds.q[q].image));
        const int32_t *la;
        const float *sc;
        int nl = prepared_labels(&p, q, &la, &sc);
        CHECK_INT(t, nl, ds.q[q].n_labels);
        for (int i = 0; i < nl; i++) {
            CHECK_STR(t, strtab_get(&p.answers, la[i]), strtab_get(&ds.answers, ds.label_answer[ds.q[q].label0 + i]));
            CHECK(t, sc[i] == ds.label_score[ds.q[q].label0 + i]);
        }
        CHECK_INT(t, p.raw_start[q + 1] - p.raw_start[q], ds.q[q].n_raw);
        for (int i = 0; i < ds.q[q].n_raw; i++) {
            long r = p.raw_start[q] + i, k = ds.q[q].raw0 + i;
            CHECK_STR(t, strtab_get(&p.raw_text, p.raw_answer[r]), strtab_get(&ds.raw_text, ds.raw_answer[k]));
            CHECK_INT(t, p.raw_answer_id[r], ds.raw_answer_id[k]);
            CHECK_INT(t, p.raw_confidence[r], ds.raw_confidence[k]);
        }
    }
    /* Answer tokens, and the tokenizer kept in the file decodes them back. */
    struct tokenizer back;
    CHECKF(t, prepared_tokenizer(&p, &back, &e) == 0, "%s", e.msg);
    int decoded = 0;
    for (long a = 0; a < p.n_answers; a++) {
        int known = 1; /* the tiny test model has no piece for some answers ("3"): <unk> decodes to nothing */
        for (int i = 0; i < p.a_n_tokens[a]; i++)
            known &= p.a_tokens[a * p.a_len + i] != TOK_UNK;
        if (!known)
            continue;
        char *text = tokenizer_decode(&back, p.a_tokens + a * p.a_len, p.a_n_tokens[a]);
        CHECK_STR(t, text, strtab_get(&p.answers, a));
        free(text);
        decoded++;
    }
    CHECK(t, decoded >= 5);
    tokenizer_free(&back);
    for (int i = 0; i < sp.n_sets; i++) {
        int32_t *rows;
        long n;
        CHECKF(t, prepared_split(&p, sp.sets[i].seed, sp.sets[i].k, SPLIT_DEV, &rows, &n, &e) == 0, "%s", e.msg);
        CHECK_INT(t, n, sp.sets[i].k);
        CHECK(t, memcmp(rows, sp.sets[i].dev, (size_t)n * sizeof *rows) == 0);
        free(rows);
    }
    int32_t *rows;
    long n;
    CHECK_INT(t, prepared_split(&p, 21, 2, SPLIT_TRAIN, &rows, &n, &e), -1);
    CHECK_CONTAINS(t, e.msg, "no k-shot split for seed 21 and k = 2");
    CHECK_INT(t, p.n_pretrain, 0);
    prepared_close(&p);
    /* Equal inputs give a byte-identical file. */
    char again[640];
    snprintf(again, sizeof again, "%s/again.h5", t->tmpdir);
    CHECK_INT(t, prepared_write(again, &in, &e), 0);
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK_INT(t, read_file(path, &a, &na, &e), 0);
    CHECK_INT(t, read_file(again, &b, &nb, &e), 0);
    CHECK(t, na == nb && memcmp(a, b, na) == 0);
    free(a);
    free(b);
    CHECK_INT(t, prepared_open(&p, D "vqa/train.json", PREPARED_ALL, &e), -1);
    CHECK_CONTAINS(t, e.msg, "is not an HDF5 file");
    split_set_free(&sp);
    tokenizer_free(&tok);
    dataset_free(&ds);
    data_spec_free(&s);
}

/* Loading with one file replaced must fail naming the file and each fragment. */
static void expect_load_error(struct test_ctx *t, const char *pool, const char *features, const char *annotations,
                              const char *questions, const char *frag1, const char *frag2)
{
    struct data_spec s;
    vqa_spec(&s, pool, features, annotations, questions);
    struct vqa_data ds;
    struct err e;
    int rc = dataset_load(&s, &ds, &e);
    if (rc == 0) {
        int8_t layout[2];
        rc = dataset_check_images(&ds, layout, &e);
    }
    CHECKF(t, rc == -1, "expected an error mentioning \"%s\"", frag1);
    if (rc == -1) {
        CHECK_CONTAINS(t, e.msg, frag1);
        CHECK_CONTAINS(t, e.msg, frag2);
    }
    dataset_free(&ds);
    data_spec_free(&s);
}

static void test_bad_input(struct test_ctx *t)
{
    expect_load_error(t, "../bad/malformed.json", NULL, NULL, NULL, "bad/malformed.json:2:", "malformed JSON");
    expect_load_error(t, "missing.json", NULL, NULL, NULL, "vqa/missing.json", "No such file");
    expect_load_error(t, "../bad/not_a_list.json", NULL, NULL, NULL, "bad/not_a_list.json",
                      "should be an array, got an object");
    expect_load_error(t, "../bad/duplicate_ids.json", NULL, NULL, NULL, "bad/duplicate_ids.json entry 5",
                      "question id 42002 appears twice (first in tests/data/vqa/../bad/duplicate_ids.json entry 2)");
    expect_load_error(t, "../bad/string_id.json", NULL, NULL, NULL, "bad/string_id.json: entry 3",
                      "vqav2 question ids are integers");
    expect_load_error(t, "../bad/missing_sent.json", NULL, NULL, NULL, "missing_sent.json: entry 2 (question_id 42002)",
                      "no question text");
    expect_load_error(t, "../bad/bad_score.json", NULL, NULL, NULL, "bad_score.json: entry 2 (question_id 42002)",
                      "label['red'] should be a number, got a string");
    expect_load_error(t, "../bad/unknown_image.json", NULL, NULL, NULL, "image 'COCO_train2014_000000031337'",
                      "vqa/train_obj36.h5");
    expect_load_error(t, NULL, "../bad/not_hdf5.h5", NULL, NULL, "bad/not_hdf5.h5", "not an HDF5 file");
    expect_load_error(t, NULL, "../bad/no_such.h5", NULL, NULL, "bad/no_such.h5", "no such file");
    expect_load_error(t, NULL, NULL, "../bad/annotations_missing_question.json", NULL, "test question 42000",
                      "has no record in the annotation file(s) tests/data/vqa/../bad/annotations_missing_question.json");
    expect_load_error(t, NULL, NULL, "../bad/annotations_no_list.json", NULL, "annotations_no_list.json",
                      "expected a JSON object with an array \"annotations\"");
    expect_load_error(t, NULL, NULL, "../bad/annotations_bad_confidence.json", NULL, "answer 3",
                      "answer_confidence 'perhaps' is not yes, maybe or no");
    expect_load_error(t, NULL, NULL, "", "../bad/questions_other_text.json", "questions_other_text.json: question 1",
                      "differs from \"How many dogs are there?\"");
    expect_load_error(t, NULL, NULL, "v2_mscoco_val2014_annotations.json,v2_mscoco_val2014_annotations.json", NULL,
                      "v2_mscoco_val2014_annotations.json: annotation 1 (question_id 74007)",
                      "has a second annotation record");
    /* GQA wants string ids. */
    struct data_spec s;
    struct err e;
    gqa_spec(&s, "vqa/train.json");
    struct vqa_data ds;
    CHECK_INT(t, dataset_load(&s, &ds, &e), -1);
    CHECK_CONTAINS(t, e.msg, "gqa question ids are strings (leading zeros matter)");
    CHECK_CONTAINS(t, e.msg, "vqa/train.json: entry 0");
    dataset_free(&ds);
    data_spec_free(&s);
    /* Detector data errors name the image. */
    struct detector_file d;
    float feat[36 * 8], boxes[36 * 4];
    CHECK_INT(t, detector_open(&d, D "bad/features_wrong_shape.h5", LAYOUT_COCO, &e), 0);
    CHECK_INT(t, detector_read(&d, "COCO_train2014_000000000064", 8, feat, boxes, NULL, &e), -1);
    CHECK_CONTAINS(t, e.msg, "image 'COCO_train2014_000000000064': 'features' should be [36, 8]");
    detector_close(&d);
    CHECK_INT(t, detector_open(&d, D "bad/boxes_outside.h5", LAYOUT_COCO, &e), 0);
    CHECK_INT(t, detector_read(&d, "COCO_train2014_000000000009", 8, feat, boxes, NULL, &e), -1);
    CHECK_CONTAINS(t, e.msg, "boxes_outside.h5: image 'COCO_train2014_000000000009': box 1");
    detector_close(&d);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"VQA v2 split, annotation and question files", test_vqa},
        {"k-shot samples equal the reference sampler's", test_kshot_pool},
        {"GQA string ids and OK-VQA annotations", test_gqa_and_okvqa},
        {"detector files in both layouts", test_detector_files},
        {"prepared.h5 written and read back", test_prepared_round_trip},
        {"bad input names the file and the item", test_bad_input},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
