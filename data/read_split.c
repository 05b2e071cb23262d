/* Split files in the VL-T5/LXMERT layout (docs/data.md, "Split files"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/json_in.h"
#include "data/readers.h"

long long image_number(const char *img_id)
{
    size_t n = strlen(img_id), i = n;
    while (i > 0 && img_id[i - 1] >= '0' && img_id[i - 1] <= '9')
        i--;
    if (i == n || n - i > 18)
        return -1;
    return atoll(img_id + i);
}

/* The id of entry `i` as text (and as an integer when the dataset's ids are integers). */
static int entry_id(const struct vqa_data *ds, json_t *entry, const char *file, long i, char *id_text,
                    size_t n, long long *id, struct err *e)
{
    char item[64];
    snprintf(item, sizeof item, "entry %ld", i);
    json_t *v = json_in_field(entry, "question_id", ds->ids_are_strings ? JSON_STRING : JSON_INTEGER, 1, file,
                              item, e);
    if (!v) {
        if (!ds->ids_are_strings && json_is_string(json_object_get(entry, "question_id")))
            err_prefix(e, "%s question ids are integers", ds->name);
        else if (ds->ids_are_strings && json_is_integer(json_object_get(entry, "question_id")))
            err_prefix(e, "%s question ids are strings (leading zeros matter)", ds->name);
        return -1;
    }
    if (ds->ids_are_strings) {
        if (snprintf(id_text, n, "%s", json_string_value(v)) >= (int)n || !id_text[0])
            return err_set(e, "%s: entry %ld: question_id '%s' is empty or too long", file, i, json_string_value(v));
        *id = -1;
    } else {
        *id = (long long)json_integer_value(v);
        snprintf(id_text, n, "%lld", *id);
    }
    return 0;
}

static int read_label(struct vqa_data *ds, json_t *label, const char *file, const char *item, struct err *e)
{
    const char *answer;
    json_t *score;
    json_object_foreach(label, answer, score)
    {
        if (!json_is_number(score))
            return err_set(e, "%s: %s: label['%s'] should be a number, got %s", file, item, answer,
                           json_in_kind(score));
        double s = json_number_value(score);
        if (!(s >= 0.0 && s <= 1.0))
            return err_set(e, "%s: %s: label['%s'] = %g is not a soft score in [0, 1]", file, item, answer, s);
        dataset_add_label(ds, answer, (float)s);
    }
    return 0;
}

int read_split_file(struct vqa_data *ds, const char *path, int source, const char *features, struct err *e)
{
    json_t *root = json_in_load(path, e);
    if (!root)
        return -1;
    int rc = 0;
    if (!json_in_expect_array(root, path, "the file (a list of question entries)", e))
        rc = -1;
    size_t i;
    json_t *entry;
    json_array_foreach(root, i, entry)
    {
        if (rc != 0)
            break;
        char id_text[256], item[320], where[PATH_MAX_LEN + 64];
        long long id = -1;
        if (entry_id(ds, entry, path, (long)i, id_text, sizeof id_text, &id, e) != 0) {
            rc = -1;
            break;
        }
        snprintf(item, sizeof item, "entry %zu (question_id %s)", i, id_text);
        json_t *img = json_in_field(entry, "img_id", JSON_STRING, 1, path, item, e);
        /* The loaders take 'sent', or 'question' when there is no 'sent'. */
        const char *text_key = json_object_get(entry, "sent") || !json_object_get(entry, "question") ? "sent" : "question";
        json_t *sent = img ? json_in_field(entry, text_key, JSON_STRING, 0, path, item, e) : NULL;
        if (img && !sent && !e->msg[0])
            err_set(e, "%s: %s: no question text (neither 'sent' nor 'question')", path, item);
        json_t *label = sent ? json_in_field(entry, "label", JSON_OBJECT, 0, path, item, e) : NULL;
        if (!sent || e->msg[0]) {
            rc = -1;
            break;
        }
        if (!json_string_value(img)[0]) {
            rc = err_set(e, "%s: %s: img_id is empty", path, item);
            break;
        }
        snprintf(where, sizeof where, "%s entry %zu", path, i);
        int32_t image = dataset_image(ds, features, json_string_value(img));
        long row = dataset_add_question(ds, id_text, id, source, json_string_value(sent), image, where, e);
        if (row < 0 || (label && read_label(ds, label, path, item, e) != 0)) {
            rc = -1;
            break;
        }
        json_t *qt = json_object_get(entry, "question_type"), *at = json_object_get(entry, "answer_type");
        dataset_set_types(ds, row, json_is_string(qt) ? json_string_value(qt) : NULL,
                          json_is_string(at) ? json_string_value(at) : NULL);
    }
    json_decref(root);
    return rc;
}

int read_pretrain_file(struct vqa_data *ds, const char *path, const char *features, struct err *e)
{
    json_t *root = json_in_load(path, e);
    if (!root)
        return -1;
    int rc = json_in_expect_array(root, path, "the file (a list of pretraining pairs)", e) ? 0 : -1;
    size_t i;
    json_t *entry;
    json_array_foreach(root, i, entry)
    {
        if (rc != 0)
            break;
        char item[64];
        snprintf(item, sizeof item, "pair %zu", i);
        json_t *img = json_in_field(entry, "img_id", JSON_STRING, 1, path, item, e);
        json_t *in = img ? json_in_field(entry, "input", JSON_STRING, 1, path, item, e) : NULL;
        json_t *out = in ? json_in_field(entry, "target", JSON_STRING, 1, path, item, e) : NULL;
        if (!out) {
            rc = -1;
            break;
        }
        dataset_add_pretrain(ds, dataset_image(ds, features, json_string_value(img)), json_string_value(in),
                             json_string_value(out));
    }
    json_decref(root);
    return rc;
}
