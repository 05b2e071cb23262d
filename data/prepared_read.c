/* Reading prepared.h5 (layout: docs/data.md).  Every rank may open it: the default driver, read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "data/prepared.h"

/* Reads a 1-D int32/int64/float/int8 dataset that must have `want` entries (want < 0: any). */
static int read_1d(hid_t loc, const char *name, hid_t type, size_t elem, long want, void **out, long *n,
                   struct err *e)
{
    hsize_t dims[1];
    if (h5io_read(loc, name, type, elem, 1, dims, out, e) != 0)
        return -1;
    if (want >= 0 && (long)dims[0] != want) {
        char where[1600];
        h5io_where(loc, name, where, sizeof where);
        free(*out);
        *out = NULL;
        return err_set(e, "%s: %llu entries, expected %ld", where, (unsigned long long)dims[0], want);
    }
    if (n)
        *n = (long)dims[0];
    return 0;
}

/* A [rows, width] int32 token matrix and its lengths. */
static int read_tokens(hid_t g, const char *ids, const char *lens, long rows, int32_t **tok, int32_t **len,
                       int *width, struct err *e)
{
    hsize_t dims[2];
    if (h5io_read(g, ids, H5T_NATIVE_INT32, sizeof(int32_t), 2, dims, (void **)tok, e) != 0)
        return -1;
    if ((long)dims[0] != rows) {
        char where[1600];
        h5io_where(g, ids, where, sizeof where);
        return err_set(e, "%s: %llu rows, expected %ld", where, (unsigned long long)dims[0], rows);
    }
    *width = (int)dims[1];
    return read_1d(g, lens, H5T_NATIVE_INT32, sizeof(int32_t), rows, (void **)len, NULL, e);
}

/* Every row's length in 1..width and its ids in 0..vocab-1 (vocab 0: not known here). */
static int check_tokens(const char *path, const char *what, const int32_t *tok, const int32_t *len, long rows,
                        int width, int vocab, struct err *e)
{
    for (long r = 0; r < rows; r++) {
        if (len[r] < 1 || len[r] > width)
            return err_set(e, "damaged or foreign file %s: %s: row %ld has %d tokens, expected 1..%d", path, what, r,
                           len[r], width);
        for (int i = 0; vocab > 0 && i < len[r]; i++)
            if (tok[r * width + i] < 0 || tok[r * width + i] >= vocab)
                return err_set(e, "damaged or foreign file %s: %s: row %ld holds token id %d, outside the vocabulary "
                                  "of %d", path, what, r, tok[r * width + i], vocab);
    }
    return 0;
}

static hid_t open_group(hid_t f, const char *name, const char *path, struct err *e)
{
    hid_t g = -1;
    if (h5io_exists(f, name))
        H5E_BEGIN_TRY
        {
            g = H5Gopen2(f, name, H5P_DEFAULT);
        }
        H5E_END_TRY;
    if (g < 0)
        err_set(e, "%s: the group /%s is missing (was this file written by this version of mixphm?)", path, name);
    return g;
}

static int load_images(struct prepared *p, hid_t f, struct err *e)
{
    hid_t g = open_group(f, "images", p->path, e);
    if (g < 0)
        return -1;
    long nf;
    int rc = h5io_read_strtab(g, "id", &p->image_id, e);
    p->n_images = p->image_id.n;
    if (rc == 0)
        rc = read_1d(g, "file", H5T_NATIVE_INT32, 4, p->n_images, (void **)&p->image_file, NULL, e);
    if (rc == 0)
        rc = h5io_read_strtab(g, "files", &p->files, e);
    if (rc == 0)
        rc = read_1d(g, "layout", H5T_NATIVE_INT8, 1, p->files.n, (void **)&p->file_layout, &nf, e);
    if (rc == 0)
        rc = h5io_read_attr_str(g, "digest", p->images_digest, sizeof p->images_digest, e);
    for (long i = 0; rc == 0 && i < p->n_images; i++)
        if (p->image_file[i] < 0 || p->image_file[i] >= p->files.n)
            rc = err_set(e, "%s: /images/file[%ld] = %d is not a file index", p->path, i, p->image_file[i]);
    H5Gclose(g);
    return rc;
}

static int load_questions(struct prepared *p, hid_t f, struct err *e)
{
    hid_t g = open_group(f, "questions", p->path, e);
    if (g < 0)
        return -1;
    int rc = h5io_read_strtab(g, "id_text", &p->q_id_text, e);
    long nq = p->n_questions = p->q_id_text.n;
    if (rc == 0)
        rc = read_1d(g, "id", H5T_NATIVE_INT64, 8, nq, (void **)&p->q_id, NULL, e);
    if (rc == 0)
        rc = h5io_read_strtab(g, "text", &p->q_text, e);
    if (rc == 0)
        rc = read_tokens(g, "tokens", "n_tokens", nq, &p->q_tokens, &p->q_n_tokens, &p->q_len, e);
    if (rc == 0)
        rc = read_1d(g, "image", H5T_NATIVE_INT32, 4, nq, (void **)&p->q_image, NULL, e);
    if (rc == 0)
        rc = read_1d(g, "question_type", H5T_NATIVE_INT32, 4, nq, (void **)&p->q_qtype, NULL, e);
    if (rc == 0)
        rc = read_1d(g, "answer_type", H5T_NATIVE_INT32, 4, nq, (void **)&p->q_atype, NULL, e);
    if (rc == 0)
        rc = read_1d(g, "source", H5T_NATIVE_INT8, 1, nq, (void **)&p->q_source, NULL, e);
    if (rc == 0)
        rc = h5io_read_strtab(g, "question_types", &p->qtypes, e);
    if (rc == 0)
        rc = h5io_read_strtab(g, "answer_types", &p->atypes, e);
    H5Gclose(g);
    if (rc != 0)
        return -1;
    if (p->q_len != QUESTION_MAX_TOKENS)
        return err_set(e, "%s: /questions/tokens has %d columns, expected %d", p->path, p->q_len, QUESTION_MAX_TOKENS);
    if ((g = open_group(f, "labels", p->path, e)) < 0)
        return -1;
    rc = read_1d(g, "start", H5T_NATIVE_INT64, 8, nq + 1, (void **)&p->label_start, NULL, e);
    if (rc == 0)
        rc = read_1d(g, "answer", H5T_NATIVE_INT32, 4, -1, (void **)&p->label_answer, &p->n_labels, e);
    if (rc == 0)
        rc = read_1d(g, "score", H5T_NATIVE_FLOAT, 4, p->n_labels, (void **)&p->label_score, NULL, e);
    H5Gclose(g);
    if (rc != 0 || (g = open_group(f, "answers", p->path, e)) < 0)
        return -1;
    rc = h5io_read_strtab(g, "text", &p->answers, e);
    p->n_answers = p->answers.n;
    if (rc == 0)
        rc = read_tokens(g, "tokens", "n_tokens", p->n_answers, &p->a_tokens, &p->a_n_tokens, &p->a_len, e);
    H5Gclose(g);
    if (rc != 0 || (g = open_group(f, "splits", p->path, e)) < 0)
        return -1;
    rc = read_1d(g, "pool", H5T_NATIVE_INT32, 4, -1, (void **)&p->pool, &p->n_pool, e);
    if (rc == 0)
        rc = read_1d(g, "test", H5T_NATIVE_INT32, 4, -1, (void **)&p->test, &p->n_test, e);
    H5Gclose(g);
    if (rc != 0 || (g = open_group(f, "tokenizer", p->path, e)) < 0)
        return -1;
    char kind[32];
    int64_t vocab = 0;
    long n_model = 0;
    rc = h5io_read_attr_str(g, "kind", kind, sizeof kind, e);
    if (rc == 0 && (p->tok_kind = tokenizer_kind_from_name(kind)) < 0)
        rc = err_set(e, "%s: /tokenizer: unknown kind '%s'", p->path, kind);
    if (rc == 0)
        rc = h5io_read_attr_i64(g, "vocab_size", &vocab, e);
    if (rc == 0)
        rc = read_1d(g, "model", H5T_NATIVE_UINT8, 1, -1, (void **)&p->tok_model, &n_model, e);
    p->vocab_size = (int)vocab;
    p->tok_model_len = (size_t)n_model;
    H5Gclose(g);
    if (rc != 0)
        return -1;
    if (p->vocab_size < 1)
        return err_set(e, "damaged or foreign file %s: /tokenizer: vocab_size %d", p->path, p->vocab_size);
    if (check_tokens(p->path, "/questions/tokens", p->q_tokens, p->q_n_tokens, nq, p->q_len, p->vocab_size, e) != 0 ||
        check_tokens(p->path, "/answers/tokens", p->a_tokens, p->a_n_tokens, p->n_answers, p->a_len, p->vocab_size, e) != 0)
        return -1;
    for (long i = 0; i < p->n_labels; i++)
        if (!(p->label_score[i] >= 0 && p->label_score[i] <= 1))
            return err_set(e, "damaged or foreign file %s: /labels/score[%ld] = %g, expected 0..1", p->path, i,
                           p->label_score[i]);
    /* Indexes must point inside their tables. */
    for (long q = 0; q < nq; q++) {
        if (p->label_start[q] > p->label_start[q + 1] || p->label_start[q + 1] > p->n_labels ||
            p->q_qtype[q] < 0 || p->q_qtype[q] >= p->qtypes.n || p->q_atype[q] < 0 || p->q_atype[q] >= p->atypes.n ||
            ((p->parts_loaded & PREPARED_IMAGES) && (p->q_image[q] < 0 || p->q_image[q] >= p->n_images)))
            return err_set(e, "%s: question row %ld points outside the tables (a damaged file?)", p->path, q);
    }
    for (long i = 0; i < p->n_labels; i++)
        if (p->label_answer[i] < 0 || p->label_answer[i] >= p->n_answers)
            return err_set(e, "%s: label %ld points outside the answer table", p->path, i);
    for (long i = 0; i < p->n_pool + p->n_test; i++) {
        int32_t r = i < p->n_pool ? p->pool[i] : p->test[i - p->n_pool];
        if (r < 0 || r >= nq)
            return err_set(e, "%s: /splits lists question row %d of %ld", p->path, r, nq);
    }
    return 0;
}

static int load_raw(struct prepared *p, hid_t f, struct err *e)
{
    hid_t g = open_group(f, "raw", p->path, e);
    if (g < 0)
        return -1;
    long nq = -1;
    int rc = read_1d(g, "start", H5T_NATIVE_INT64, 8, -1, (void **)&p->raw_start, &nq, e);
    if (rc == 0 && (p->parts_loaded & PREPARED_QUESTIONS) && nq != p->n_questions + 1)
        rc = err_set(e, "%s: /raw/start has %ld entries for %ld questions", p->path, nq, p->n_questions);
    if (rc == 0)
        rc = read_1d(g, "answer", H5T_NATIVE_INT32, 4, -1, (void **)&p->raw_answer, &p->n_raw, e);
    if (rc == 0)
        rc = read_1d(g, "confidence", H5T_NATIVE_INT8, 1, p->n_raw, (void **)&p->raw_confidence, NULL, e);
    if (rc == 0)
        rc = read_1d(g, "answer_id", H5T_NATIVE_INT32, 4, p->n_raw, (void **)&p->raw_answer_id, NULL, e);
    if (rc == 0)
        rc = h5io_read_strtab(g, "text", &p->raw_text, e);
    for (long i = 0; rc == 0 && i < p->n_raw; i++)
        if (p->raw_answer[i] < 0 || p->raw_answer[i] >= p->raw_text.n)
            rc = err_set(e, "%s: raw answer %ld points outside /raw/text", p->path, i);
    H5Gclose(g);
    return rc;
}

static int load_pretrain(struct prepared *p, hid_t f, struct err *e)
{
    hid_t g = open_group(f, "pretrain", p->path, e);
    if (g < 0)
        return -1;
    int rc = read_1d(g, "image", H5T_NATIVE_INT32, 4, -1, (void **)&p->pt_image, &p->n_pretrain, e);
    if (rc == 0)
        rc = read_tokens(g, "input", "n_input", p->n_pretrain, &p->pt_input, &p->pt_n_input, &p->pt_in_len, e);
    if (rc == 0)
        rc = read_tokens(g, "target", "n_target", p->n_pretrain, &p->pt_target, &p->pt_n_target, &p->pt_out_len, e);
    H5Gclose(g);
    if (rc == 0)
        rc = check_tokens(p->path, "/pretrain/input", p->pt_input, p->pt_n_input, p->n_pretrain, p->pt_in_len,
                          p->vocab_size, e);
    if (rc == 0)
        rc = check_tokens(p->path, "/pretrain/target", p->pt_target, p->pt_n_target, p->n_pretrain, p->pt_out_len,
                          p->vocab_size, e);
    for (long i = 0; rc == 0 && (p->parts_loaded & PREPARED_IMAGES) && i < p->n_pretrain; i++)
        if (p->pt_image[i] < 0 || p->pt_image[i] >= p->n_images)
            rc = err_set(e, "damaged or foreign file %s: /pretrain/image[%ld] = %d, outside the %ld images", p->path, i,
                         p->pt_image[i], p->n_images);
    return rc;
}

int prepared_open(struct prepared *p, const char *path, int parts, struct err *e)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    hid_t f = h5io_open(path, e);
    if (f < 0)
        return -1;
    char format[64] = "", qids[32] = "";
    int64_t version = 0;
    int rc = h5io_read_attr_str(f, "format", format, sizeof format, e);
    if (rc == 0 && strcmp(format, PREPARED_FORMAT) != 0)
        rc = err_set(e, "%s: not a prepared.h5 file (format '%s')", path, format);
    if (rc == 0)
        rc = h5io_read_attr_i64(f, "version", &version, e);
    if (rc == 0 && version != PREPARED_VERSION)
        rc = err_set(e, "%s: format version %lld; this mixphm reads version %d (rerun prepare)", path,
                     (long long)version, PREPARED_VERSION);
    if (rc == 0)
        rc = h5io_read_attr_str(f, "dataset", p->dataset, sizeof p->dataset, e);
    if (rc == 0)
        rc = h5io_read_attr_str(f, "question_ids", qids, sizeof qids, e);
    p->ids_are_strings = strcmp(qids, "string") == 0;
    if (rc == 0 && (parts & PREPARED_IMAGES) && (rc = load_images(p, f, e)) == 0)
        p->parts_loaded |= PREPARED_IMAGES;
    if (rc == 0 && (parts & PREPARED_QUESTIONS) && (rc = load_questions(p, f, e)) == 0)
        p->parts_loaded |= PREPARED_QUESTIONS;
    if (rc == 0 && (parts & PREPARED_RAW) && (rc = load_raw(p, f, e)) == 0)
        p->parts_loaded |= PREPARED_RAW;
    if (rc == 0 && (parts & PREPARED_PRETRAIN) && (rc = load_pretrain(p, f, e)) == 0)
        p->parts_loaded |= PREPARED_PRETRAIN;
    H5Fclose(f);
    if (rc != 0)
        prepared_close(p);
    return rc;
}

void prepared_close(struct prepared *p)
{
    void *arrays[] = {p->q_id, p->q_image, p->q_tokens, p->q_n_tokens, p->q_qtype, p->q_atype, p->q_source,
                      p->label_start, p->label_answer, p->label_score, p->a_tokens, p->a_n_tokens, p->pool,
                      p->test, p->tok_model, p->raw_start, p->raw_answer, p->raw_confidence, p->raw_answer_id,
                      p->image_file, p->file_layout, p->pt_image, p->pt_input, p->pt_n_input, p->pt_target,
                      p->pt_n_target};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    struct strtab *tabs[] = {&p->q_id_text, &p->q_text, &p->qtypes, &p->atypes, &p->answers,
                             &p->raw_text, &p->image_id, &p->files};
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++)
        strtab_free(tabs[i]);
    memset(p, 0, sizeof *p);
}

int prepared_split(const struct prepared *p, int64_t seed, long k, int which, int32_t **rows, long *n,
                   struct err *e)
{
    *rows = NULL;
    *n = 0;
    hid_t f = h5io_open(p->path, e);
    if (f < 0)
        return -1;
    char name[160];
    snprintf(name, sizeof name, "splits/seed_%lld/k_%ld/%s", (long long)seed, k, which == SPLIT_DEV ? "dev" : "train");
    int rc;
    if (!h5io_exists(f, name))
        rc = err_set(e, "%s: no k-shot split for seed %lld and k = %ld (prepare made the seeds and sizes of "
                     "data.seeds and data.sizes; rerun it after changing them)", p->path, (long long)seed, k);
    else
        rc = read_1d(f, name, H5T_NATIVE_INT32, 4, k, (void **)rows, n, e);
    for (long i = 0; rc == 0 && (p->parts_loaded & PREPARED_QUESTIONS) && i < *n; i++)
        if ((*rows)[i] < 0 || (*rows)[i] >= p->n_questions)
            rc = err_set(e, "%s: /%s lists question row %d of %ld", p->path, name, (*rows)[i], p->n_questions);
    H5Fclose(f);
    if (rc != 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

int prepared_tokenizer(const struct prepared *p, struct tokenizer *t, struct err *e)
{
    char what[PATH_MAX_LEN + 32];
    snprintf(what, sizeof what, "%s: /tokenizer/model", p->path);
    if (!p->tok_model)
        return err_set(e, "%s: the questions were not loaded (PREPARED_QUESTIONS)", p->path);
    if (tokenizer_load_bytes(t, p->tok_kind, p->tok_model, p->tok_model_len, what, e) != 0)
        return -1;
    if (t->vocab_size != p->vocab_size) {
        tokenizer_free(t);
        return err_set(e, "%s: the tokenizer has %d ids, the file says %d", what, t->vocab_size, p->vocab_size);
    }
    return 0;
}

int prepared_labels(const struct prepared *p, long q, const int32_t **answers, const float **scores)
{
    *answers = p->label_answer + p->label_start[q];
    *scores = p->label_score + p->label_start[q];
    return (int)(p->label_start[q + 1] - p->label_start[q]);
}
