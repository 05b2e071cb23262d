#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void dataset_init(struct vqa_data *ds, const char *name, int ids_are_strings)
{
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->ids_are_strings = ids_are_strings;
    strtab_intern(&ds->qtypes, ""); /* index 0: unknown */
    strtab_intern(&ds->atypes, "");
    strtab_find(&ds->qid, "");      /* build the indexes before the first add */
    strtab_find(&ds->image_key, "");
}

void dataset_free(struct vqa_data *ds)
{
    free(ds->q);
    strtab_free(&ds->qid);
    strtab_free(&ds->text);
    strtab_free(&ds->where);
    strtab_free(&ds->answers);
    free(ds->label_answer);
    free(ds->label_score);
    strtab_free(&ds->raw_text);
    free(ds->raw_answer);
    free(ds->raw_confidence);
    free(ds->raw_answer_id);
    strtab_free(&ds->image_id);
    free(ds->image_file);
    strtab_free(&ds->image_key);
    strtab_free(&ds->files);
    strtab_free(&ds->qtypes);
    strtab_free(&ds->atypes);
    strtab_free(&ds->pt_input);
    strtab_free(&ds->pt_target);
    free(ds->pt_image);
    memset(ds, 0, sizeof *ds);
}

long dataset_n_images(const struct vqa_data *ds)
{
    return ds->image_id.n;
}

int32_t dataset_image(struct vqa_data *ds, const char *file, const char *image_id)
{
    long f = strtab_intern(&ds->files, file);
    size_t n = strlen(image_id) + 32;
    char *key = xmalloc(n);
    snprintf(key, n, "%ld/%s", f, image_id);
    long row = strtab_find(&ds->image_key, key);
    if (row < 0) {
        row = strtab_add(&ds->image_key, key);
        strtab_add(&ds->image_id, image_id);
        if (row >= ds->cap_images) {
            ds->cap_images = ds->cap_images ? ds->cap_images * 2 : 1024;
            ds->image_file = xrealloc(ds->image_file, (size_t)ds->cap_images * sizeof *ds->image_file);
        }
        ds->image_file[row] = (int32_t)f;
    }
    free(key);
    return (int32_t)row;
}

long dataset_add_question(struct vqa_data *ds, const char *id_text, int64_t id, int source, const char *text,
                          int32_t image, const char *where, struct err *e)
{
    long seen = strtab_find(&ds->qid, id_text);
    if (seen >= 0)
        return err_set(e, "%s: question id %s appears twice (first in %s)", where, id_text,
                       strtab_get(&ds->where, seen));
    if (ds->nq >= ds->cap_q) {
        ds->cap_q = ds->cap_q ? ds->cap_q * 2 : 1024;
        ds->q = xrealloc(ds->q, (size_t)ds->cap_q * sizeof *ds->q);
    }
    long row = ds->nq++;
    struct question *q = &ds->q[row];
    memset(q, 0, sizeof *q);
    q->id = ds->ids_are_strings ? -1 : id;
    q->image = image;
    q->label0 = ds->n_labels;
    q->raw0 = ds->n_raw;
    q->source = (int8_t)source;
    strtab_add(&ds->qid, id_text);
    strtab_add(&ds->text, text);
    strtab_add(&ds->where, where);
    if (source == SRC_POOL)
        ds->n_pool++;
    else
        ds->n_test++;
    return row;
}

void dataset_add_label(struct vqa_data *ds, const char *answer, float score)
{
    if (ds->n_labels >= ds->cap_labels) {
        ds->cap_labels = ds->cap_labels ? ds->cap_labels * 2 : 4096;
        ds->label_answer = xrealloc(ds->label_answer, (size_t)ds->cap_labels * sizeof *ds->label_answer);
        ds->label_score = xrealloc(ds->label_score, (size_t)ds->cap_labels * sizeof *ds->label_score);
    }
    ds->label_answer[ds->n_labels] = (int32_t)strtab_intern(&ds->answers, answer);
    ds->label_score[ds->n_labels] = score;
    ds->n_labels++;
    ds->q[ds->nq - 1].n_labels++;
}

void dataset_begin_raw(struct vqa_data *ds, long row)
{
    ds->q[row].raw0 = ds->n_raw;
    ds->q[row].n_raw = 0;
}

void dataset_add_raw(struct vqa_data *ds, long row, const char *answer, int confidence, int32_t answer_id)
{
    if (ds->n_raw >= ds->cap_raw) {
        ds->cap_raw = ds->cap_raw ? ds->cap_raw * 2 : 16384;
        ds->raw_answer = xrealloc(ds->raw_answer, (size_t)ds->cap_raw * sizeof *ds->raw_answer);
        ds->raw_confidence = xrealloc(ds->raw_confidence, (size_t)ds->cap_raw * sizeof *ds->raw_confidence);
        ds->raw_answer_id = xrealloc(ds->raw_answer_id, (size_t)ds->cap_raw * sizeof *ds->raw_answer_id);
    }
    ds->raw_answer[ds->n_raw] = (int32_t)strtab_intern(&ds->raw_text, answer);
    ds->raw_confidence[ds->n_raw] = (int8_t)confidence;
    ds->raw_answer_id[ds->n_raw] = answer_id;
    ds->n_raw++;
    ds->q[row].n_raw++;
}

void dataset_set_types(struct vqa_data *ds, long row, const char *qtype, const char *atype)
{
    if (qtype)
        ds->q[row].qtype = (int32_t)strtab_intern(&ds->qtypes, qtype);
    if (atype)
        ds->q[row].atype = (int32_t)strtab_intern(&ds->atypes, atype);
}

long dataset_find(struct vqa_data *ds, const char *id_text)
{
    return strtab_find(&ds->qid, id_text);
}

void dataset_add_pretrain(struct vqa_data *ds, int32_t image, const char *input, const char *target)
{
    if (ds->n_pretrain >= ds->cap_pretrain) {
        ds->cap_pretrain = ds->cap_pretrain ? ds->cap_pretrain * 2 : 1024;
        ds->pt_image = xrealloc(ds->pt_image, (size_t)ds->cap_pretrain * sizeof *ds->pt_image);
    }
    ds->pt_image[ds->n_pretrain++] = image;
    strtab_add(&ds->pt_input, input);
    strtab_add(&ds->pt_target, target);
}
