#include "data/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/detector.h"
#include "base/h5io.h"
#include "data/readers.h"

void data_spec_free(struct data_spec *s)
{
    strtab_free(&s->pool);
    strtab_free(&s->test);
    strtab_free(&s->annotations);
    strtab_free(&s->questions);
}

int data_spec_path(char *out, size_t n, const char *root, const char *name, struct err *e)
{
    if (name[0] == '/' || !root[0]) {
        if (snprintf(out, n, "%s", name) >= (int)n)
            return err_set(e, "path too long: '%s'", name);
        return 0;
    }
    return path_join(out, n, root, name, e);
}

int data_spec_add_files(struct strtab *files, const char *root, const char *list, const char *key, struct err *e)
{
    char *copy = xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        size_t len = strlen(item);
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        if (!len) {
            rc = err_set(e, "%s: an empty file name in \"%s\"", key, list);
            break;
        }
        char path[PATH_MAX_LEN];
        rc = data_spec_path(path, sizeof path, root, item, e);
        if (rc == 0)
            strtab_add(files, path);
    }
    free(copy);
    return rc;
}

/* "a.json, b.json" for messages. */
static void list_files(const struct strtab *t, char *out, size_t n)
{
    out[0] = '\0';
    for (long i = 0; i < t->n; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? ", " : "", strtab_get(t, i));
}

int dataset_load(const struct data_spec *s, struct vqa_data *ds, struct err *e)
{
    dataset_init(ds, s->name, s->ids_are_strings);
    if (s->pool.n == 0 || s->test.n == 0)
        return err_set(e, "%s: both a pool and a test split file are needed", s->name);
    for (long i = 0; i < s->pool.n; i++)
        if (read_split_file(ds, strtab_get(&s->pool, i), SRC_POOL, s->pool_features, e) != 0)
            return -1;
    for (long i = 0; i < s->test.n; i++)
        if (read_split_file(ds, strtab_get(&s->test, i), SRC_TEST, s->test_features, e) != 0)
            return -1;
    if (ds->n_pool == 0)
        return err_set(e, "%s: the pool file(s) hold no questions", s->name);
    if (ds->n_test == 0)
        return err_set(e, "%s: the test file(s) hold no questions", s->name);
    char names[4096];
    for (long i = 0; i < s->annotations.n; i++)
        if (read_annotations_file(ds, strtab_get(&s->annotations, i), e) != 0)
            return -1;
    if (s->annotations.n > 0) {
        list_files(&s->annotations, names, sizeof names);
        if (check_test_answers(ds, names, e) != 0)
            return -1;
    }
    long found = 0;
    for (long i = 0; i < s->questions.n; i++) {
        long n = 0;
        if (read_questions_file(ds, strtab_get(&s->questions, i), &n, e) != 0)
            return -1;
        found += n;
    }
    if (s->questions.n > 0 && found != ds->n_test) {
        list_files(&s->questions, names, sizeof names);
        return err_set(e, "the question file(s) %s hold %ld of the %ld test questions", names, found, ds->n_test);
    }
    if (s->pretrain[0] && read_pretrain_file(ds, s->pretrain, s->pool_features, e) != 0)
        return -1;
    return 0;
}

/* The first question that uses image `image`, for messages. */
static const char *user_of(const struct vqa_data *ds, long image)
{
    for (long q = 0; q < ds->nq; q++)
        if (ds->q[q].image == image)
            return strtab_get(&ds->where, q);
    return "the pretraining corpus";
}

int dataset_check_images(const struct vqa_data *ds, int8_t *file_layout, struct err *e)
{
    long n_images = dataset_n_images(ds);
    for (long f = 0; f < ds->files.n; f++) {
        long first = -1;
        for (long i = 0; i < n_images && first < 0; i++)
            if (ds->image_file[i] == f)
                first = i;
        if (first < 0)
            continue;
        const char *path = strtab_get(&ds->files, f);
        int layout = LAYOUT_VLT5;
        struct detector_file d;
        if (detector_open(&d, path, LAYOUT_VLT5, e) != 0)
            return -1;
        int rc = detector_detect_layout(d.file, path, strtab_get(&ds->image_id, first), &layout, e);
        d.layout = layout;
        if (rc != 0)
            err_prefix(e, "%s", user_of(ds, first));
        for (long i = first; rc == 0 && i < n_images; i++)
            if (ds->image_file[i] == f && !detector_has(&d, strtab_get(&ds->image_id, i)))
                rc = err_set(e, "%s: image '%s' (of %s) is not in the file", path, strtab_get(&ds->image_id, i),
                             user_of(ds, i));
        detector_close(&d);
        if (rc != 0)
            return -1;
        file_layout[f] = (int8_t)layout;
    }
    return 0;
}
