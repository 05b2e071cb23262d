/* Writing the synthetic benchmark in the real datasets' file formats (docs/synthetic.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "data/dataset.h"
#include "base/h5io.h"
#include "data/synth.h"

static void image_name(const struct synth_config *c, long image, char *out, size_t n)
{
    const char *set = image == synth_blank_image(c)                  ? "blank"
                      : image < c->train_images                      ? "train"
                      : image < c->train_images + c->test_images     ? "test"
                                                                     : "pretrain";
    snprintf(out, n, "SYN_%s_%012ld", set, image + 1);
}

/* VQA-style ids: image number * 1000 + the question's number on that image. */
static long long question_id(const struct synth_config *c, int test, long index)
{
    long n_images = test ? c->test_images : c->train_images;
    return (long long)(synth_question_image(c, test, index) + 1) * 1000 + index / n_images;
}

/* The soft score of an answer given by m annotators (docs/data.md, "Soft scores"). */
static json_t *soft_score(int m)
{
    return m >= 4 ? json_integer(1) : json_real(m == 3 ? 0.9 : m == 2 ? 0.6 : 0.3);
}

static int dump(json_t *root, const char *dir, const char *name, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (path_join(path, sizeof path, dir, name, e) != 0)
        return -1;
    char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!text)
        return err_set(e, "cannot format %s", path);
    int rc = write_file_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

static const char *const confidence_names[] = {[CONF_NO] = "no", [CONF_MAYBE] = "maybe", [CONF_YES] = "yes"};

/* The questions of one split: official question and annotation files and the LXMERT-style split file. */
static int write_questions(const struct synth_config *c, int test, const char *dir, struct err *e)
{
    long n = test ? c->test_questions : c->pool_questions;
    const char *subtype = test ? "test" : "train";
    json_t *questions = json_array(), *annotations = json_array(), *split = json_array();
    struct synth_question *q = xmalloc(sizeof *q);
    for (long i = 0; i < n; i++) {
        struct synth_scene s;
        synth_scene(c, synth_question_image(c, test, i), &s);
        synth_question(c, test, i, &s, q);
        long long qid = question_id(c, test, i);
        char img[64];
        image_name(c, q->image, img, sizeof img);
        json_array_append_new(questions, json_pack("{s:I, s:I, s:s}", "question_id", (json_int_t)qid, "image_id",
                                                   (json_int_t)(q->image + 1), "question", q->text));
        json_t *answers = json_array(), *label = json_object();
        int count[SYNTH_ANNOTATORS] = {0}, best = 0;
        for (int a = 0; a < SYNTH_ANNOTATORS; a++) {
            json_array_append_new(answers, json_pack("{s:s, s:s, s:i}", "answer", q->typed[a], "answer_confidence",
                                                     confidence_names[q->confidence[a]], "answer_id", a + 1));
            int first = 0; /* count each canonical answer at its first annotator */
            while (strcmp(q->canonical[first], q->canonical[a]) != 0)
                first++;
            count[first]++;
        }
        for (int a = 0; a < SYNTH_ANNOTATORS; a++) {
            if (count[a] > count[best])
                best = a;
            if (count[a] > 0) /* soft scores over the canonical answers */
                json_object_set_new(label, q->canonical[a], soft_score(count[a]));
        }
        json_array_append_new(annotations,
                              json_pack("{s:I, s:I, s:s, s:s, s:s, s:o}", "question_id", (json_int_t)qid, "image_id",
                                        (json_int_t)(q->image + 1), "question_type", q->qtype, "answer_type",
                                        q->atype, "multiple_choice_answer", q->canonical[best], "answers", answers));
        json_array_append_new(split, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "question_id", (json_int_t)qid,
                                               "img_id", img, "sent", q->text, "question_type", q->qtype,
                                               "answer_type", q->atype, "label", label));
    }
    free(q);
    char name[64];
    json_t *head = json_pack("{s:{s:s}, s:s, s:s, s:s, s:{}}", "info", "description", "mixphm synthetic benchmark",
                             "task_type", "Open-Ended", "data_type", "synthetic", "data_subtype", subtype, "license");
    json_t *qfile = json_deep_copy(head), *afile = json_deep_copy(head);
    json_decref(head);
    json_object_set_new(qfile, "questions", questions);
    json_object_set_new(afile, "annotations", annotations);
    snprintf(name, sizeof name, "questions_%s.json", subtype);
    if (dump(qfile, dir, name, e) != 0)
        return -1;
    snprintf(name, sizeof name, "annotations_%s.json", subtype);
    if (dump(afile, dir, name, e) != 0)
        return -1;
    return dump(split, dir, test ? "test.json" : "train.json", e);
}

static int write_pretrain(const struct synth_config *c, const char *dir, struct err *e)
{
    json_t *pairs = json_array();
    struct synth_pair *p = xmalloc(sizeof *p);
    for (long i = 0; i < c->pretrain_pairs + c->language_pairs; i++) {
        synth_corpus_pair(c, i, p);
        char img[64];
        image_name(c, p->image, img, sizeof img);
        json_array_append_new(pairs, json_pack("{s:s, s:s, s:s}", "img_id", img, "input", p->input, "target", p->target));
    }
    free(p);
    return dump(pairs, dir, "pretrain.json", e);
}

static int write_vocab(const struct synth_config *c, const char *dir, struct err *e)
{
    /* The scene words, then with `language` the language corpus's. */
    int n[2] = {0, 0};
    const char *const *list[2] = {synth_words(&n[0]), synth_language_words(&n[1])};
    if (!c->language)
        n[1] = 0;
    size_t len = 32;
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < n[l]; i++)
            len += strlen(list[l][i]) + 1;
    char *text = xmalloc(len);
    strcpy(text, "<pad>\n</s>\n<unk>\n");
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < n[l]; i++) {
            strcat(text, list[l][i]);
            strcat(text, "\n");
        }
    char path[PATH_MAX_LEN];
    int rc = path_join(path, sizeof path, dir, "vocab.txt", e);
    if (rc == 0)
        rc = write_file_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

/* One image group in the VL-T5 layout (docs/data.md, "Detector files"). */
static int write_image(hid_t f, const char *name, const struct synth_scene *s, const struct synth_region *r,
                       const float *feat, int dim, struct err *e)
{
    hid_t g = h5io_group(f, name, e);
    if (g < 0)
        return -1;
    float boxes[SYNTH_REGIONS][4], obj_conf[SYNTH_REGIONS], attr_conf[SYNTH_REGIONS];
    int64_t obj_id[SYNTH_REGIONS], attr_id[SYNTH_REGIONS];
    for (int i = 0; i < SYNTH_REGIONS; i++) {
        memcpy(boxes[i], r[i].box, sizeof boxes[i]);
        obj_conf[i] = attr_conf[i] = r[i].conf;
        /* Detector classes: the shape for object regions, 5 + the kind of background otherwise. */
        obj_id[i] = r[i].object >= 0 ? 1 + s->obj[r[i].object].attr[ATTR_SHAPE] : 5 + r[i].bg_class;
        attr_id[i] = r[i].object >= 0 ? 1 + s->obj[r[i].object].attr[ATTR_COLOR] : 0;
    }
    hsize_t fd[2] = {SYNTH_REGIONS, (hsize_t)dim}, bd[2] = {SYNTH_REGIONS, 4}, n = SYNTH_REGIONS;
    int64_t h = s->height, w = s->width;
    int rc = h5io_write_f32(g, "features", 2, fd, feat, e);
    if (rc == 0)
        rc = h5io_write_f32(g, "boxes", 2, bd, &boxes[0][0], e);
    if (rc == 0)
        rc = h5io_write_i64(g, "obj_id", 1, &n, obj_id, e);
    if (rc == 0)
        rc = h5io_write_f32(g, "obj_conf", 1, &n, obj_conf, e);
    if (rc == 0)
        rc = h5io_write_i64(g, "attr_id", 1, &n, attr_id, e);
    if (rc == 0)
        rc = h5io_write_f32(g, "attr_conf", 1, &n, attr_conf, e);
    if (rc == 0)
        rc = h5io_write_i64(g, "img_h", 0, NULL, &h, e);
    if (rc == 0)
        rc = h5io_write_i64(g, "img_w", 0, NULL, &w, e);
    H5Gclose(g);
    return rc;
}

static int write_detector(const struct synth_config *c, const char *dir, struct err *e)
{
    char path[PATH_MAX_LEN];
    struct h5io_output o;
    if (path_join(path, sizeof path, dir, "detector.h5", e) != 0 || h5io_output_open(&o, path, e) != 0)
        return -1;
    hid_t f = o.file;
    struct synth_detector det;
    synth_detector_init(&det, c);
    float *feat = xmalloc((size_t)SYNTH_REGIONS * (size_t)c->feature_dim * sizeof *feat); /* [36, dim] */
    int rc = h5io_attr_str(f, "description", "mixphm synthetic benchmark: frozen detector outputs, VL-T5 layout", e);
    for (long i = 0; rc == 0 && i < synth_n_images(c); i++) {
        struct synth_scene s;
        struct synth_region r[SYNTH_REGIONS];
        char name[64];
        synth_scene(c, i, &s);
        synth_regions(c, i, &s, r);
        synth_detector_run(&det, c, i, &s, r, feat);
        image_name(c, i, name, sizeof name);
        rc = write_image(f, name, &s, r, feat, c->feature_dim, e);
    }
    free(feat);
    synth_detector_free(&det);
    return h5io_output_close(&o, rc, e);
}

int synth_write(const struct synth_config *c, const char *dir, struct err *e)
{
    if (make_dirs(dir, e) != 0)
        return -1;
    if (write_vocab(c, dir, e) != 0 || write_questions(c, 0, dir, e) != 0 || write_questions(c, 1, dir, e) != 0 ||
        write_pretrain(c, dir, e) != 0 || write_detector(c, dir, e) != 0)
        return err_prefix(e, "synthetic benchmark");
    return 0;
}
