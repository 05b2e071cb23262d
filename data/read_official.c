/* Official VQA-format annotation and question files (docs/data.md, "Official annotation and question
 * files"), merged into a dataset.  The files are read and validated by data/vqa_files.c (the readers
 * `mixphm score` uses); this file checks them against the questions the split files gave and keeps what
 * prepare stores. */
#include <stdio.h>
#include <string.h>

#include "data/readers.h"
#include "data/vqa_files.h"

/* The question of an official record, or -1 when the dataset does not hold it (not an error). */
static long dataset_row(struct vqa_data *ds, long long question_id, char *id_text, size_t n)
{
    snprintf(id_text, n, "%lld", question_id);
    return dataset_find(ds, id_text);
}

/* The record's image_id must be the number inside the question's img_id (when it has one). */
static int check_image(const struct vqa_data *ds, long row, long long image_id, const char *path, const char *item,
                       struct err *e)
{
    if (image_id == VQA_NO_IMAGE_ID)
        return err_set(e, "%s: %s: the field 'image_id' is missing", path, item);
    const char *img_id = strtab_get(&ds->image_id, ds->q[row].image);
    long long want = image_number(img_id);
    if (want >= 0 && want != image_id)
        return err_set(e, "%s: %s: image_id %lld, but %s gives img_id '%s'", path, item, image_id,
                       strtab_get(&ds->where, row), img_id);
    return 0;
}

static int add_answers(struct vqa_data *ds, long row, const struct vqa_gt *g, const char *path, const char *item,
                       struct err *e)
{
    dataset_begin_raw(ds, row);
    for (int j = 0; j < g->n_answers; j++) {
        const struct vqa_answer *a = &g->answers[j];
        const char *c = a->confidence;
        int confidence = !c ? -2 : strcmp(c, "yes") == 0 ? CONF_YES : strcmp(c, "maybe") == 0 ? CONF_MAYBE
                                 : strcmp(c, "no") == 0 ? CONF_NO : -1;
        if (confidence == -2)
            return err_set(e, "%s: %s answer %d: the field 'answer_confidence' is missing", path, item, j);
        if (confidence < 0)
            return err_set(e, "%s: %s answer %d: answer_confidence '%s' is not yes, maybe or no", path, item, j, c);
        dataset_add_raw(ds, row, a->answer, confidence, (int32_t)a->answer_id);
    }
    return 0;
}

int read_annotations_file(struct vqa_data *ds, const char *path, struct err *e)
{
    struct vqa_annotations a;
    if (vqa_read_annotations(path, &a, e) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < a.n && rc == 0; i++) {
        char id_text[32], item[96];
        long row = dataset_row(ds, a.gt[i].id.num, id_text, sizeof id_text);
        if (row < 0)
            continue;
        snprintf(item, sizeof item, "annotation %zu (question_id %s)", i, id_text);
        if (ds->q[row].n_raw > 0)
            rc = err_set(e, "%s: %s: the question has a second annotation record", path, item);
        else if ((rc = check_image(ds, row, a.image_ids[i], path, item, e)) == 0) {
            dataset_set_types(ds, row, a.gt[i].question_type, a.gt[i].answer_type);
            rc = add_answers(ds, row, &a.gt[i], path, item, e);
        }
    }
    vqa_annotations_free(&a);
    return rc;
}

int read_questions_file(struct vqa_data *ds, const char *path, long *n_test_found, struct err *e)
{
    struct vqa_questions q;
    *n_test_found = 0;
    if (vqa_read_questions(path, &q, e) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < q.n && rc == 0; i++) {
        char id_text[32], item[96];
        long row = dataset_row(ds, q.ids[i].num, id_text, sizeof id_text);
        if (row < 0)
            continue;
        snprintf(item, sizeof item, "question %zu (question_id %s)", i, id_text);
        if ((rc = check_image(ds, row, q.image_ids[i], path, item, e)) != 0)
            break;
        if (strcmp(q.text[i], strtab_get(&ds->text, row)) != 0)
            rc = err_set(e, "%s: %s: the text \"%s\" differs from \"%s\" in %s", path, item, q.text[i],
                         strtab_get(&ds->text, row), strtab_get(&ds->where, row));
        else if (ds->q[row].source == SRC_TEST)
            (*n_test_found)++;
    }
    vqa_questions_free(&q);
    return rc;
}

int check_test_answers(const struct vqa_data *ds, const char *files, struct err *e)
{
    for (long row = 0; row < ds->nq; row++)
        if (ds->q[row].source == SRC_TEST && ds->q[row].n_raw == 0)
            return err_set(e, "test question %s (%s) has no record in the annotation file(s) %s",
                           strtab_get(&ds->qid, row), strtab_get(&ds->where, row), files);
    return 0;
}
