/* Writing prepared.h5 (layout: docs/data.md).  Serial HDF5 on one rank, under PATH.tmp until complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/h5io.h"
#include "data/prepared.h"

/* Encodes every string of a table into a [n, width] matrix (width = the longest, or max_len). */
struct token_matrix {
    int32_t *ids;  /* [n, width], 0-padded */
    int32_t *len;  /* [n] */
    long n;
    int width;
};

static int encode_all(const struct tokenizer *tok, const struct strtab *t, const char *prefix, const char *suffix,
                      int max_len, struct token_matrix *m, const char *what, struct err *e)
{
    memset(m, 0, sizeof *m);
    m->n = t->n;
    int32_t **rows = xcalloc((size_t)(t->n ? t->n : 1), sizeof *rows);
    m->len = xcalloc((size_t)(t->n ? t->n : 1), sizeof *m->len);
    size_t plen = strlen(prefix), slen = strlen(suffix), cap = 256;
    char *buf = xmalloc(cap);
    int rc = 0;
    m->width = 1;
    for (long i = 0; i < t->n && rc == 0; i++) {
        const char *s = strtab_get(t, i);
        size_t len = strlen(s), need = plen + len + slen + 1;
        if (need > cap)
            buf = xrealloc(buf, cap = need * 2);
        memcpy(buf, prefix, plen);
        memcpy(buf + plen, s, len);
        memcpy(buf + plen + len, suffix, slen + 1);
        int n;
        rc = tokenizer_encode(tok, buf, max_len, &rows[i], &n, e);
        if (rc != 0)
            err_prefix(e, "%s %ld", what, i);
        m->len[i] = n;
        if (n > m->width)
            m->width = n;
    }
    if (max_len > 0)
        m->width = max_len;
    m->ids = xcalloc((size_t)(t->n ? t->n : 1) * (size_t)m->width, sizeof *m->ids);
    for (long i = 0; i < t->n; i++) {
        if (rows[i])
            memcpy(m->ids + i * m->width, rows[i], (size_t)m->len[i] * sizeof *m->ids);
        free(rows[i]);
    }
    free(rows);
    free(buf);
    return rc;
}

static void token_matrix_free(struct token_matrix *m)
{
    free(m->ids);
    free(m->len);
}

static int write_tokens(hid_t g, const char *ids_name, const char *len_name, const struct token_matrix *m,
                        struct err *e)
{
    hsize_t dims[2] = {(hsize_t)m->n, (hsize_t)m->width}, n = (hsize_t)m->n;
    if (h5io_write_i32(g, ids_name, 2, dims, m->ids, e) != 0 || h5io_write_i32(g, len_name, 1, &n, m->len, e) != 0)
        return -1;
    return 0;
}

static int write_questions(hid_t f, const struct prepared_input *in, struct err *e)
{
    const struct vqa_data *ds = in->ds;
    hid_t g = h5io_group(f, "questions", e);
    if (g < 0)
        return -1;
    long nq = ds->nq;
    hsize_t n = (hsize_t)nq;
    int64_t *id = xmalloc((size_t)(nq + 1) * sizeof *id);
    int32_t *image = xmalloc((size_t)(nq + 1) * sizeof *image), *qt = xmalloc((size_t)(nq + 1) * sizeof *qt),
            *at = xmalloc((size_t)(nq + 1) * sizeof *at);
    int8_t *src = xmalloc((size_t)(nq + 1));
    for (long i = 0; i < nq; i++) {
        id[i] = ds->q[i].id;
        image[i] = ds->q[i].image;
        qt[i] = ds->q[i].qtype;
        at[i] = ds->q[i].atype;
        src[i] = ds->q[i].source;
    }
    struct token_matrix tm;
    int rc = encode_all(in->tok, &ds->text, prompt_question_prefix(in->prompt), prompt_question_suffix(in->prompt),
                        QUESTION_MAX_TOKENS, &tm, "question row", e);
    if (rc == 0)
        rc = write_tokens(g, "tokens", "n_tokens", &tm, e);
    if (rc == 0)
        rc = h5io_attr_str(g, "prompt", prompt_name(in->prompt), e);
    if (rc == 0)
        rc = h5io_write_i64(g, "id", 1, &n, id, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "id_text", &ds->qid, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "text", &ds->text, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "image", 1, &n, image, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "question_type", 1, &n, qt, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "answer_type", 1, &n, at, e);
    if (rc == 0)
        rc = h5io_write_i8(g, "source", 1, &n, src, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "question_types", &ds->qtypes, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "answer_types", &ds->atypes, e);
    token_matrix_free(&tm);
    free(id);
    free(image);
    free(qt);
    free(at);
    free(src);
    H5Gclose(g);
    return rc;
}

static int write_answers(hid_t f, const struct prepared_input *in, struct err *e)
{
    const struct vqa_data *ds = in->ds;
    hid_t g = h5io_group(f, "answers", e);
    if (g < 0)
        return -1;
    struct token_matrix tm;
    int rc = encode_all(in->tok, &ds->answers, prompt_answer_prefix(in->prompt), "", in->answer_max_len, &tm, "answer", e);
    if (rc == 0)
        rc = write_tokens(g, "tokens", "n_tokens", &tm, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "text", &ds->answers, e);
    token_matrix_free(&tm);
    H5Gclose(g);
    return rc;
}

/* Soft-score labels: question q has (answer[i], score[i]) for start[q] <= i < start[q + 1]. */
static int write_labels(hid_t f, const struct vqa_data *ds, struct err *e)
{
    hid_t g = h5io_group(f, "labels", e);
    if (g < 0)
        return -1;
    int64_t *start = xmalloc((size_t)(ds->nq + 1) * sizeof *start);
    for (long q = 0; q < ds->nq; q++)
        start[q] = ds->q[q].label0;
    start[ds->nq] = ds->n_labels;
    hsize_t n1 = (hsize_t)ds->nq + 1, nl = (hsize_t)ds->n_labels;
    static const int32_t none_i = 0;
    static const float none_f = 0;
    int rc = h5io_write_i64(g, "start", 1, &n1, start, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "answer", 1, &nl, ds->label_answer ? ds->label_answer : &none_i, e);
    if (rc == 0)
        rc = h5io_write_f32(g, "score", 1, &nl, ds->label_score ? ds->label_score : &none_f, e);
    free(start);
    H5Gclose(g);
    return rc;
}

/* Raw answers in question order (the annotation files may list them in any order). */
static int write_raw(hid_t f, const struct vqa_data *ds, struct err *e)
{
    hid_t g = h5io_group(f, "raw", e);
    if (g < 0)
        return -1;
    long nr = ds->n_raw, nq = ds->nq, o = 0;
    int64_t *start = xmalloc((size_t)(nq + 1) * sizeof *start);
    int32_t *answer = xmalloc((size_t)(nr + 1) * sizeof *answer), *aid = xmalloc((size_t)(nr + 1) * sizeof *aid);
    int8_t *conf = xmalloc((size_t)(nr + 1));
    for (long q = 0; q < nq; q++) {
        start[q] = o;
        for (long k = ds->q[q].raw0; k < ds->q[q].raw0 + ds->q[q].n_raw; k++, o++) {
            answer[o] = ds->raw_answer[k];
            aid[o] = ds->raw_answer_id[k];
            conf[o] = ds->raw_confidence[k];
        }
    }
    start[nq] = o;
    hsize_t n = (hsize_t)o, n1 = (hsize_t)nq + 1;
    int rc = h5io_write_i64(g, "start", 1, &n1, start, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "answer", 1, &n, answer, e);
    if (rc == 0)
        rc = h5io_write_i8(g, "confidence", 1, &n, conf, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "answer_id", 1, &n, aid, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "text", &ds->raw_text, e);
    free(start);
    free(answer);
    free(aid);
    free(conf);
    H5Gclose(g);
    return rc;
}

static int write_images(hid_t f, const struct prepared_input *in, struct err *e)
{
    const struct vqa_data *ds = in->ds;
    hid_t g = h5io_group(f, "images", e);
    if (g < 0)
        return -1;
    hsize_t n = (hsize_t)dataset_n_images(ds), nf = (hsize_t)ds->files.n;
    static const int32_t none = 0;
    int rc = h5io_write_strtab(g, "id", &ds->image_id, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "file", 1, &n, ds->image_file ? ds->image_file : &none, e);
    if (rc == 0)
        rc = h5io_write_strtab(g, "files", &ds->files, e);
    if (rc == 0)
        rc = h5io_write_i8(g, "layout", 1, &nf, in->file_layout, e);
    if (rc == 0)
        rc = h5io_attr_str(g, "digest", in->images_digest, e);
    H5Gclose(g);
    return rc;
}

static int write_tokenizer(hid_t f, const struct tokenizer *tok, struct err *e)
{
    hid_t g = h5io_group(f, "tokenizer", e);
    if (g < 0)
        return -1;
    int rc = h5io_write_u8(g, "model", (hsize_t)tok->model_len, tok->model, e);
    if (rc == 0)
        rc = h5io_attr_str(g, "kind", tokenizer_kind_name(tok->kind), e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "vocab_size", tok->vocab_size, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "pad_id", TOK_PAD, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "eos_id", TOK_EOS, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "unk_id", TOK_UNK, e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "extra_id_0", tokenizer_extra_id(tok, 0), e);
    if (rc == 0)
        rc = h5io_attr_i64(g, "vis_extra_id_0", tokenizer_vis_extra_id(tok, 0), e);
    H5Gclose(g);
    return rc;
}

static int write_splits(hid_t f, const struct split_set *s, struct err *e)
{
    hid_t g = h5io_group(f, "splits", e);
    if (g < 0)
        return -1;
    hsize_t np = (hsize_t)s->n_pool, nt = (hsize_t)s->n_test;
    int rc = h5io_write_i32(g, "pool", 1, &np, s->pool, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "test", 1, &nt, s->test, e);
    for (int i = 0; i < s->n_sets && rc == 0; i++) {
        const struct kshot_lists *l = &s->sets[i];
        char name[96];
        snprintf(name, sizeof name, "seed_%lld", (long long)l->seed);
        hid_t gs = h5io_exists(g, name) ? H5Gopen2(g, name, H5P_DEFAULT) : h5io_group(g, name, e);
        if (gs < 0)
            return -1;
        snprintf(name, sizeof name, "k_%ld", l->k);
        hid_t gk = h5io_group(gs, name, e);
        hsize_t k = (hsize_t)l->k;
        rc = gk < 0 ? -1 : h5io_write_i32(gk, "train", 1, &k, l->train, e);
        if (rc == 0)
            rc = h5io_write_i32(gk, "dev", 1, &k, l->dev, e);
        if (gk >= 0)
            H5Gclose(gk);
        H5Gclose(gs);
    }
    H5Gclose(g);
    return rc;
}

static int write_pretrain(hid_t f, const struct prepared_input *in, struct err *e)
{
    const struct vqa_data *ds = in->ds;
    hid_t g = h5io_group(f, "pretrain", e);
    if (g < 0)
        return -1;
    hsize_t n = (hsize_t)ds->n_pretrain;
    static const int32_t none = 0;
    struct token_matrix a, b;
    int rc = encode_all(in->tok, &ds->pt_input, "", "", 0, &a, "pretraining input", e);
    int rc2 = encode_all(in->tok, &ds->pt_target, "", "", 0, &b, "pretraining target", e);
    if (rc == 0 && rc2 != 0)
        rc = -1;
    if (rc == 0)
        rc = write_tokens(g, "input", "n_input", &a, e);
    if (rc == 0)
        rc = write_tokens(g, "target", "n_target", &b, e);
    if (rc == 0)
        rc = h5io_write_i32(g, "image", 1, &n, ds->pt_image ? ds->pt_image : &none, e);
    token_matrix_free(&a);
    token_matrix_free(&b);
    H5Gclose(g);
    return rc;
}

int prepared_write(const char *path, const struct prepared_input *in, struct err *e)
{
    struct h5io_output o;
    if (h5io_output_open(&o, path, e) != 0)
        return -1;
    hid_t f = o.file;
    const struct vqa_data *ds = in->ds;
    int rc = h5io_attr_str(f, "format", PREPARED_FORMAT, e);
    if (rc == 0)
        rc = h5io_attr_i64(f, "version", PREPARED_VERSION, e);
    if (rc == 0)
        rc = h5io_attr_str(f, "dataset", ds->name, e);
    if (rc == 0)
        rc = h5io_attr_str(f, "question_ids", ds->ids_are_strings ? "string" : "integer", e);
    if (rc == 0)
        rc = write_questions(f, in, e);
    if (rc == 0)
        rc = write_answers(f, in, e);
    if (rc == 0)
        rc = write_labels(f, ds, e);
    if (rc == 0)
        rc = write_raw(f, ds, e);
    if (rc == 0)
        rc = write_images(f, in, e);
    if (rc == 0)
        rc = write_tokenizer(f, in->tok, e);
    if (rc == 0)
        rc = write_splits(f, in->splits, e);
    if (rc == 0)
        rc = write_pretrain(f, in, e);
    return h5io_output_close(&o, rc, e);
}
