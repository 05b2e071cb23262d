#include "data/vqa_files.h"

#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/json_in.h"

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

/* Where a value is, spelled out only for an error message: "annotations[3] (question_id 42): answers[2]". */
struct where {
    const char *path, *array; /* array "" for a top-level array */
    size_t i;
    json_t *item;
    long answer; /* index in "answers", or -1 */
};

static int fail_at(const struct where *w, struct err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(const struct where *w, struct err *e, const char *fmt, ...)
{
    char what[ERR_MSG_MAX / 2], answer[48] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (w->answer >= 0)
        snprintf(answer, sizeof answer, ": answers[%ld]", w->answer);
    json_t *qid = json_is_object(w->item) ? json_object_get(w->item, "question_id") : NULL;
    if (json_is_integer(qid))
        return err_set(e, "%s: %s[%zu] (question_id %" JSON_INTEGER_FORMAT ")%s: %s", w->path, w->array, w->i,
                       json_integer_value(qid), answer, what);
    return err_set(e, "%s: %s[%zu]%s: %s", w->path, w->array, w->i, answer, what);
}

static int get_int(json_t *obj, const char *key, long long *v, const struct where *w, struct err *e)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x))
        return fail_at(w, e, "\"%s\" must be an integer%s", key, x ? "" : " (it is missing)");
    *v = json_integer_value(x);
    return 0;
}

/* An optional integer: *v is left alone when the key is absent. */
static int get_opt_int(json_t *obj, const char *key, long long *v, const struct where *w, struct err *e)
{
    return json_object_get(obj, key) ? get_int(obj, key, v, w, e) : 0;
}

static int get_str(json_t *obj, const char *key, const char **v, const struct where *w, struct err *e)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_string(x))
        return fail_at(w, e, "\"%s\" must be a string%s", key, x ? "" : " (it is missing)");
    *v = json_string_value(x);
    return 0;
}

/* ---- annotations ------------------------------------------------------------------------------ */

static int read_answers(json_t *list, struct vqa_answer *out, struct where *w, struct err *e)
{
    size_t k;
    json_t *a;
    json_array_foreach(list, k, a) {
        w->answer = (long)k;
        if (!json_is_object(a))
            return fail_at(w, e, "must be an object");
        out[k].confidence = NULL;
        if ((json_object_get(a, "answer_confidence") &&
             get_str(a, "answer_confidence", &out[k].confidence, w, e) != 0) ||
            get_str(a, "answer", &out[k].answer, w, e) != 0 || get_int(a, "answer_id", &out[k].answer_id, w, e) != 0)
            return -1;
    }
    w->answer = -1;
    return 0;
}

static int read_annotation(json_t *item, size_t i, struct vqa_annotations *a, size_t *next_answer,
                           const char *path, struct err *e)
{
    struct where w = {path, "annotations", i, item, -1};
    if (!json_is_object(item))
        return fail_at(&w, e, "must be an object");
    struct vqa_gt *g = &a->gt[i];
    g->id.str = NULL;
    a->image_ids[i] = VQA_NO_IMAGE_ID;
    if (get_int(item, "question_id", &g->id.num, &w, e) != 0 ||
        get_str(item, "question_type", &g->question_type, &w, e) != 0 ||
        get_str(item, "answer_type", &g->answer_type, &w, e) != 0 ||
        get_opt_int(item, "image_id", &a->image_ids[i], &w, e) != 0)
        return -1;
    json_t *list = json_object_get(item, "answers");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail_at(&w, e, "\"answers\" must be a non-empty array");
    g->answers = a->answers + *next_answer;
    g->n_answers = (int)json_array_size(list);
    *next_answer += json_array_size(list);
    if (read_answers(list, (struct vqa_answer *)g->answers, &w, e) != 0)
        return -1;
    if (vqa_gt_check(g, e) != 0)
        return err_prefix(e, "%s: annotations[%zu]", path, i);
    return 0;
}

int vqa_read_annotations(const char *path, struct vqa_annotations *a, struct err *e)
{
    memset(a, 0, sizeof *a);
    a->root = json_in_load(path, e);
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

int vqa_read_questions(const char *path, struct vqa_questions *q, struct err *e)
{
    memset(q, 0, sizeof *q);
    q->root = json_in_load(path, e);
    if (!q->root)
        return -1;
    json_t *list = top_array(q->root, path, "questions", e);
    if (!list)
        goto fail;
    q->n = json_array_size(list);
    q->ids = xcalloc(q->n ? q->n : 1, sizeof *q->ids);
    q->image_ids = xcalloc(q->n ? q->n : 1, sizeof *q->image_ids);
    q->text = xcalloc(q->n ? q->n : 1, sizeof *q->text);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        struct where w = {path, "questions", i, item, -1};
        q->image_ids[i] = VQA_NO_IMAGE_ID;
        if (!json_is_object(item)) {
            fail_at(&w, e, "must be an object");
            goto fail;
        }
        if (get_int(item, "question_id", &q->ids[i].num, &w, e) != 0 ||
            get_opt_int(item, "image_id", &q->image_ids[i], &w, e) != 0 ||
            get_str(item, "question", &q->text[i], &w, e) != 0)
            goto fail;
    }
    size_t earlier, dup = vqa_id_index_build(&q->index, q->n ? &q->ids[0] : NULL, q->n, sizeof *q->ids, &earlier);
    if (dup != VQA_ID_NONE) {
        err_set(e, "%s: question_id %lld appears twice (questions[%zu] and questions[%zu])", path, q->ids[dup].num,
                earlier, dup);
        goto fail;
    }
    return 0;
fail:
    vqa_questions_free(q);
    return -1;
}

void vqa_questions_free(struct vqa_questions *q)
{
    vqa_id_index_free(&q->index);
    free(q->ids);
    free(q->image_ids);
    free(q->text);
    if (q->root)
        json_decref(q->root);
    memset(q, 0, sizeof *q);
}

int vqa_check_questions(const char *path, const struct vqa_annotations *a, struct err *e)
{
    struct vqa_questions qs;
    if (vqa_read_questions(path, &qs, e) != 0)
        return -1;
    int rc = -1;
    size_t missing = 0, i;
    char list_text[512] = "";
    for (i = 0; i < a->n; i++) {
        size_t q = vqa_id_index_get(&qs.index, &a->gt[i].id);
        if (q == VQA_ID_NONE) {
            if (++missing <= 5) {
                size_t used = strlen(list_text);
                snprintf(list_text + used, sizeof list_text - used, "%s%lld", missing > 1 ? ", " : "",
                         a->gt[i].id.num);
            }
        } else if (a->image_ids[i] != VQA_NO_IMAGE_ID && qs.image_ids[q] != VQA_NO_IMAGE_ID &&
                   a->image_ids[i] != qs.image_ids[q]) {
            err_set(e, "%s: question_id %lld has image_id %lld, but its annotation says image_id %lld "
                    "(are the questions and annotations files of the same split?)", path, a->gt[i].id.num,
                    qs.image_ids[q], a->image_ids[i]);
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
    vqa_questions_free(&qs);
    return rc;
}

/* ---- results ---------------------------------------------------------------------------------- */

int vqa_read_results(const char *path, struct vqa_results *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    r->root = json_in_load(path, e);
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
        struct where w = {path, "", i, item, -1};
        if (!json_is_object(item)) {
            fail_at(&w, e, "must be an object");
            goto fail;
        }
        r->pred[i].id.str = NULL;
        if (get_int(item, "question_id", &r->pred[i].id.num, &w, e) != 0 ||
            get_str(item, "answer", &r->pred[i].answer, &w, e) != 0)
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
