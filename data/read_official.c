/* Official VQA-format annotation and question files (formats.md 1.1, 1.2 and 8.2). */
#include <stdio.h>
#include <string.h>

#include "data/json_in.h"
#include "data/readers.h"

/* The array `key` of the file's top-level object. */
static json_t *top_array(json_t *root, const char *path, const char *key, struct err *e)
{
    if (!json_is_object(root)) {
        err_set(e, "%s: expected an object with '%s' at the top level, got %s", path, key, json_in_kind(root));
        return NULL;
    }
    json_t *a = json_object_get(root, key);
    if (!a) {
        err_set(e, "%s: the top-level field '%s' is missing (is this the right kind of file?)", path, key);
        return NULL;
    }
    return json_in_expect_array(a, path, key, e);
}

/* Finds the question of record `r`; -1 when ds does not hold it (not an error), -2 on a bad record. */
static long record_question(struct vqa_data *ds, json_t *r, const char *path, const char *kind, size_t i,
                            struct err *e)
{
    char item[64];
    snprintf(item, sizeof item, "%s %zu", kind, i);
    json_t *qid = json_in_field(r, "question_id", JSON_INTEGER, 1, path, item, e);
    if (!qid)
        return -2;
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", (long long)json_integer_value(qid));
    return dataset_find(ds, id_text);
}

/* The record's image_id must be the number inside the question's img_id (when it has one). */
static int check_image(const struct vqa_data *ds, long row, json_t *r, const char *path, const char *item,
                       struct err *e)
{
    json_t *img = json_in_field(r, "image_id", JSON_INTEGER, 1, path, item, e);
    if (!img)
        return -1;
    const char *img_id = strtab_get(&ds->image_id, ds->q[row].image);
    long long want = image_number(img_id);
    if (want >= 0 && want != (long long)json_integer_value(img))
        return err_set(e, "%s: %s: image_id %lld, but %s gives img_id '%s'", path, item,
                       (long long)json_integer_value(img), strtab_get(&ds->where, row), img_id);
    return 0;
}

static int read_answers(struct vqa_data *ds, long row, json_t *answers, const char *path, const char *item,
                        struct err *e)
{
    size_t j;
    json_t *a;
    dataset_begin_raw(ds, row);
    json_array_foreach(answers, j, a)
    {
        char sub[400];
        snprintf(sub, sizeof sub, "%s answer %zu", item, j);
        json_t *text = json_in_field(a, "answer", JSON_STRING, 1, path, sub, e);
        json_t *conf = text ? json_in_field(a, "answer_confidence", JSON_STRING, 1, path, sub, e) : NULL;
        json_t *aid = conf ? json_in_field(a, "answer_id", JSON_INTEGER, 1, path, sub, e) : NULL;
        if (!aid)
            return -1;
        const char *c = json_string_value(conf);
        int confidence = strcmp(c, "yes") == 0 ? CONF_YES : strcmp(c, "maybe") == 0 ? CONF_MAYBE
                         : strcmp(c, "no") == 0 ? CONF_NO : -1;
        if (confidence < 0)
            return err_set(e, "%s: %s: answer_confidence '%s' is not yes, maybe or no", path, sub, c);
        int32_t id = (int32_t)json_integer_value(aid);
        const struct question *q = &ds->q[row];
        for (long k = q->raw0; k < q->raw0 + q->n_raw; k++)
            if (ds->raw_answer_id[k] == id)
                return err_set(e, "%s: %s: answer_id %d appears twice in this question", path, sub, id);
        dataset_add_raw(ds, row, json_string_value(text), confidence, id);
    }
    return 0;
}

/* What to do with one record whose question is in ds ("annotation 3 (question_id 42)" is `item`). */
typedef int (*record_fn)(struct vqa_data *ds, long row, json_t *r, const char *path, const char *item, void *ctx,
                         struct err *e);

/* Calls fn for every record of the top-level array `key` whose question ds holds. */
static int for_each_record(struct vqa_data *ds, const char *path, const char *key, const char *kind, record_fn fn,
                           void *ctx, struct err *e)
{
    json_t *root = json_in_load(path, e);
    if (!root)
        return -1;
    json_t *records = top_array(root, path, key, e);
    int rc = records ? 0 : -1;
    size_t i;
    json_t *r;
    if (records)
        json_array_foreach(records, i, r)
        {
            long row = record_question(ds, r, path, kind, i, e);
            if (row == -1)
                continue;
            char item[96];
            snprintf(item, sizeof item, "%s %zu (question_id %s)", kind, i, row >= 0 ? strtab_get(&ds->qid, row) : "?");
            if (row < 0 || check_image(ds, row, r, path, item, e) != 0 || fn(ds, row, r, path, item, ctx, e) != 0) {
                rc = -1;
                break;
            }
        }
    json_decref(root);
    return rc;
}

static int annotation_record(struct vqa_data *ds, long row, json_t *r, const char *path, const char *item, void *ctx,
                             struct err *e)
{
    (void)ctx;
    json_t *qt = json_in_field(r, "question_type", JSON_STRING, 1, path, item, e);
    json_t *at = qt ? json_in_field(r, "answer_type", JSON_STRING, 1, path, item, e) : NULL;
    json_t *answers = at ? json_in_field(r, "answers", JSON_ARRAY, 1, path, item, e) : NULL;
    if (!answers)
        return -1;
    if (ds->q[row].n_raw > 0)
        return err_set(e, "%s: %s: the question has a second annotation record", path, item);
    if (json_array_size(answers) == 0)
        return err_set(e, "%s: %s: 'answers' is empty", path, item);
    dataset_set_types(ds, row, json_string_value(qt), json_string_value(at));
    return read_answers(ds, row, answers, path, item, e);
}

int read_annotations_file(struct vqa_data *ds, const char *path, struct err *e)
{
    return for_each_record(ds, path, "annotations", "annotation", annotation_record, NULL, e);
}

static int question_record(struct vqa_data *ds, long row, json_t *r, const char *path, const char *item, void *ctx,
                           struct err *e)
{
    json_t *text = json_in_field(r, "question", JSON_STRING, 1, path, item, e);
    if (!text)
        return -1;
    if (strcmp(json_string_value(text), strtab_get(&ds->text, row)) != 0)
        return err_set(e, "%s: %s: the text \"%s\" differs from \"%s\" in %s", path, item, json_string_value(text),
                       strtab_get(&ds->text, row), strtab_get(&ds->where, row));
    if (ds->q[row].source == SRC_TEST)
        (*(long *)ctx)++;
    return 0;
}

int read_questions_file(struct vqa_data *ds, const char *path, long *n_test_found, struct err *e)
{
    *n_test_found = 0;
    return for_each_record(ds, path, "questions", "question", question_record, n_test_found, e);
}

int check_test_answers(const struct vqa_data *ds, const char *files, struct err *e)
{
    for (long row = 0; row < ds->nq; row++)
        if (ds->q[row].source == SRC_TEST && ds->q[row].n_raw == 0)
            return err_set(e, "test question %s (%s) has no record in the annotation file(s) %s",
                           strtab_get(&ds->qid, row), strtab_get(&ds->where, row), files);
    return 0;
}
