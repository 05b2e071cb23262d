#include "data/vqa_files.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Loads a JSON file whose top level is an object or an array. */
static json_t *load_json(const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_errno(e, errno, "cannot read '%s'", path);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadf(f, 0, &je);
    fclose(f);
    if (!root)
        err_set(e, "%s:%d:%d: malformed JSON: %s", path, je.line, je.column, je.text);
    return root;
}

/* The array under `key` of a top-level object. */
static json_t *top_array(json_t *root, const char *path, const char *key, struct err *e)
{
    json_t *arr = json_is_object(root) ? json_object_get(root, key) : NULL;
    if (!json_is_array(arr)) {
        err_set(e, "%s: expected a JSON object with an array \"%s\" (the official VQA %s file)", path, key,
                strcmp(key, "questions") == 0 ? "questions" : "annotations");
        return NULL;
    }
    return arr;
}

/* Where an item is, for messages: "annotations[3] (question_id 42)". */
static void item_name(char *out, size_t n, const char *array, size_t i, json_t *item)
{
    json_t *qid = json_is_object(item) ? json_object_get(item, "question_id") : NULL;
    if (json_is_integer(qid))
        snprintf(out, n, "%s[%zu] (question_id %" JSON_INTEGER_FORMAT ")", array, i, json_integer_value(qid));
    else
        snprintf(out, n, "%s[%zu]", array, i);
}

static int get_int(json_t *obj, const char *key, long long *v, const char *path, const char *where, struct err *e)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x))
        return err_set(e, "%s: %s: \"%s\" must be an integer%s", path, where, key, x ? "" : " (it is missing)");
    *v = json_integer_value(x);
    return 0;
}

static int get_str(json_t *obj, const char *key, const char **v, const char *path, const char *where, struct err *e)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_string(x))
        return err_set(e, "%s: %s: \"%s\" must be a string%s", path, where, key, x ? "" : " (it is missing)");
    *v = json_string_value(x);
    return 0;
}

/* ---- annotations ------------------------------------------------------------------------------ */

static int read_answers(json_t *list, struct vqa_answer *out, const char *path, const char *where, struct err *e)
{
    size_t k;
    json_t *a;
    json_array_foreach(list, k, a) {
        char at[300];
        snprintf(at, sizeof at, "%s: answers[%zu]", where, k);
        if (!json_is_object(a))
            return err_set(e, "%s: %s must be an object", path, at);
        out[k].confidence = NULL;
        json_t *conf = json_object_get(a, "answer_confidence");
        if (conf && get_str(a, "answer_confidence", &out[k].confidence, path, at, e) != 0)
            return -1;
        if (get_str(a, "answer", &out[k].answer, path, at, e) != 0 ||
            get_int(a, "answer_id", &out[k].answer_id, path, at, e) != 0)
            return -1;
    }
    return 0;
}

static int read_annotation(json_t *item, size_t i, struct vqa_annotations *a, size_t *next_answer,
                           const char *path, struct err *e)
{
    char where[200];
    item_name(where, sizeof where, "annotations", i, item);
    if (!json_is_object(item))
        return err_set(e, "%s: %s must be an object", path, where);
    struct vqa_gt *g = &a->gt[i];
    g->id.str = NULL;
    if (get_int(item, "question_id", &g->id.num, path, where, e) != 0 ||
        get_str(item, "question_type", &g->question_type, path, where, e) != 0 ||
        get_str(item, "answer_type", &g->answer_type, path, where, e) != 0)
        return -1;
    a->image_ids[i] = VQA_NO_IMAGE_ID;
    if (json_object_get(item, "image_id") && get_int(item, "image_id", &a->image_ids[i], path, where, e) != 0)
        return -1;
    json_t *list = json_object_get(item, "answers");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return err_set(e, "%s: %s: \"answers\" must be a non-empty array", path, where);
    g->answers = a->answers + *next_answer;
    g->n_answers = (int)json_array_size(list);
    *next_answer += json_array_size(list);
    if (read_answers(list, (struct vqa_answer *)g->answers, path, where, e) != 0)
        return -1;
    if (vqa_gt_check(g, e) != 0)
        return err_prefix(e, "%s: annotations[%zu]", path, i);
    return 0;
}

int vqa_read_annotations(const char *path, struct vqa_annotations *a, struct err *e)
{
    memset(a, 0, sizeof *a);
    a->root = load_json(path, e);
    if (!a->root)
        return -1;
    json_t *list = top_array(a->root, path, "annotations", e);
    if (!list)
        goto fail;
    size_t n = json_array_size(list), n_answers = 0, i;
    json_t *item;
    json_array_foreach(list, i, item) {
        json_t *ans = json_is_object(item) ? json_object_get(item, "answers") : NULL;
        n_answers += json_is_array(ans) ? json_array_size(ans) : 0;
    }
    a->n = n;
    a->gt = xcalloc(n ? n : 1, sizeof *a->gt);
    a->image_ids = xcalloc(n ? n : 1, sizeof *a->image_ids);
    a->answers = xcalloc(n_answers ? n_answers : 1, sizeof *a->answers);
    size_t next_answer = 0;
    json_array_foreach(list, i, item)
        if (read_annotation(item, i, a, &next_answer, path, e) != 0)
            goto fail;
    struct vqa_id_index ix;
    size_t earlier, dup = vqa_id_index_build(&ix, n ? &a->gt[0].id : NULL, n, sizeof *a->gt, &earlier);
    if (dup != VQA_ID_NONE) {
        vqa_id_index_free(&ix);
        err_set(e, "%s: question_id %lld is annotated twice (annotations[%zu] and annotations[%zu])", path,
                a->gt[dup].id.num, earlier, dup);
        goto fail;
    }
    vqa_id_index_free(&ix);
    return 0;
fail:
    vqa_annotations_free(a);
    return -1;
}

void vqa_annotations_free(struct vqa_annotations *a)
{
    free(a->gt);
    free(a->image_ids);
    free(a->answers);
    if (a->root)
        json_decref(a->root);
    memset(a, 0, sizeof *a);
}

/* ---- questions -------------------------------------------------------------------------------- */

int vqa_check_questions(const char *path, const struct vqa_annotations *a, struct err *e)
{
    json_t *root = load_json(path, e);
    if (!root)
        return -1;
    int rc = -1;
    json_t *list = top_array(root, path, "questions", e);
    size_t n = list ? json_array_size(list) : 0, i;
    struct vqa_id *ids = xcalloc(n ? n : 1, sizeof *ids);            /* [n] */
    long long *image_ids = xcalloc(n ? n : 1, sizeof *image_ids);    /* [n] */
    struct vqa_id_index ix = {0};
    if (!list)
        goto done;
    json_t *item;
    json_array_foreach(list, i, item) {
        char where[200];
        item_name(where, sizeof where, "questions", i, item);
        if (!json_is_object(item)) {
            err_set(e, "%s: %s must be an object", path, where);
            goto done;
        }
        image_ids[i] = VQA_NO_IMAGE_ID;
        if (get_int(item, "question_id", &ids[i].num, path, where, e) != 0 ||
            (json_object_get(item, "image_id") && get_int(item, "image_id", &image_ids[i], path, where, e) != 0))
            goto done;
    }
    size_t earlier, dup = vqa_id_index_build(&ix, n ? &ids[0] : NULL, n, sizeof *ids, &earlier);
    if (dup != VQA_ID_NONE) {
        err_set(e, "%s: question_id %lld appears twice (questions[%zu] and questions[%zu])", path, ids[dup].num,
                earlier, dup);
        goto done;
    }
    size_t missing = 0;
    char list_text[512] = "";
    for (i = 0; i < a->n; i++) {
        size_t q = vqa_id_index_get(&ix, &a->gt[i].id);
        if (q == VQA_ID_NONE) {
            if (++missing <= 5) {
                size_t used = strlen(list_text);
                snprintf(list_text + used, sizeof list_text - used, "%s%lld", missing > 1 ? ", " : "",
                         a->gt[i].id.num);
            }
        } else if (a->image_ids[i] != VQA_NO_IMAGE_ID && image_ids[q] != VQA_NO_IMAGE_ID &&
                   a->image_ids[i] != image_ids[q]) {
            err_set(e, "%s: question_id %lld has image_id %lld, but its annotation says image_id %lld "
                    "(are the questions and annotations files of the same split?)", path, a->gt[i].id.num,
                    image_ids[q], a->image_ids[i]);
            goto done;
        }
    }
    if (missing > 0) {
        err_set(e, "%s: %zu annotated question%s %s not in the questions file: %s%s", path, missing,
                missing == 1 ? "" : "s", missing == 1 ? "is" : "are", list_text, missing > 5 ? ", ..." : "");
        goto done;
    }
    rc = 0;
done:
    vqa_id_index_free(&ix);
    free(ids);
    free(image_ids);
    json_decref(root);
    return rc;
}

/* ---- results ---------------------------------------------------------------------------------- */

int vqa_read_results(const char *path, struct vqa_results *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    r->root = load_json(path, e);
    if (!r->root)
        return -1;
    if (!json_is_array(r->root)) {
        err_set(e, "%s: expected a JSON array of {\"question_id\": ..., \"answer\": ...} (the VQA results format)",
                path);
        goto fail;
    }
    r->n = json_array_size(r->root);
    r->pred = xcalloc(r->n ? r->n : 1, sizeof *r->pred);
    size_t i;
    json_t *item;
    json_array_foreach(r->root, i, item) {
        char where[200];
        item_name(where, sizeof where, "", i, item);
        if (!json_is_object(item)) {
            err_set(e, "%s: %s must be an object", path, where);
            goto fail;
        }
        r->pred[i].id.str = NULL;
        if (get_int(item, "question_id", &r->pred[i].id.num, path, where, e) != 0 ||
            get_str(item, "answer", &r->pred[i].answer, path, where, e) != 0)
            goto fail;
    }
    return 0;
fail:
    vqa_results_free(r);
    return -1;
}

void vqa_results_free(struct vqa_results *r)
{
    free(r->pred);
    if (r->root)
        json_decref(r->root);
    memset(r, 0, sizeof *r);
}
