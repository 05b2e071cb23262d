#include "train/decode.h"

#include <stdlib.h>

#include <string.h>

#include "base/mem.h"
#include "data/label_score.h"
#include "mpi/agree.h"

int decode_rows(struct model_ctx *mc, const struct prepared *p, const struct tokenizer *tok, const struct image_cache *c,
                struct batch_buf *buf, const int32_t *rows, long n, int batch, int max_new, char **preds,
                struct err *e)
{
    int32_t *out = xmalloc((size_t)batch * (size_t)max_new * sizeof *out); /* [batch, max_new] */
    int *lengths = xmalloc((size_t)batch * sizeof *lengths);                /* [batch] */
    int rc = 0;
    for (long start = 0; start < n && rc == 0; start += batch) {
        int B = (int)(n - start < batch ? n - start : batch);
        struct vlt5_batch b;
        rc = batch_vqa(&b, buf, p, c, rows + start, B, 0, B, 0, 0, 0, e);
        if (rc != 0)
            break;
        b.train = 0;
        rc = vlt5_generate(&mc->model, &b, max_new, out, lengths, e);
        for (int i = 0; rc == 0 && i < B; i++)
            preds[start + i] = tokenizer_decode(tok, out + (size_t)i * (size_t)max_new, lengths[i]);
    }
    free(out);
    free(lengths);
    return rc;
}

double question_label_score(const struct prepared *p, long q, const char *prediction)
{
    const int32_t *answers;
    const float *scores;
    int n = prepared_labels(p, q, &answers, &scores);
    const char **texts = xmalloc((size_t)(n ? n : 1) * sizeof *texts); /* [n] */
    double *s = xmalloc((size_t)(n ? n : 1) * sizeof *s);               /* [n] */
    for (int i = 0; i < n; i++) {
        texts[i] = strtab_get(&p->answers, answers[i]);
        s[i] = scores[i];
    }
    struct vqa_label label = {texts, s, n};
    double score = strcmp(p->dataset, "gqa") == 0 ? gqa_question_score(&label, prediction)
                                                  : label_lookup(&label, prediction);
    free(texts);
    free(s);
    return score;
}

int validate_dev(struct model_ctx *mc, MPI_Comm comm, const struct prepared *p, const struct tokenizer *tok,
                 const struct image_cache *c, struct batch_buf *buf, const int32_t *rows, long n, int batch,
                 int max_new, double *score, struct err *e)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int lo, hi;
    batch_share((int)n, rank, size, &lo, &hi);
    peft_eval_prepare(mc->peft);
    char **preds = xcalloc((size_t)(hi - lo + 1), sizeof *preds);
    int rc = decode_rows(mc, p, tok, c, buf, rows + lo, hi - lo, batch, max_new, preds, e);
    double *mine = xmalloc((size_t)(hi - lo + 1) * sizeof *mine); /* [hi - lo] */
    for (int i = 0; rc == 0 && i < hi - lo; i++)
        mine[i] = question_label_score(p, rows[lo + i], preds[i]);
    for (int i = 0; i < hi - lo; i++)
        free(preds[i]);
    free(preds);
    if (agree_all_ok(comm, rc, e) != 0) {
        free(mine);
        return -1;
    }
    int *counts = xmalloc((size_t)size * sizeof *counts), *displs = xmalloc((size_t)size * sizeof *displs);
    for (int r = 0; r < size; r++) {
        int a, b;
        batch_share((int)n, r, size, &a, &b);
        counts[r] = b - a;
        displs[r] = a;
    }
    double *all = xmalloc((size_t)(n ? n : 1) * sizeof *all); /* [n] in dev order */
    MPI_Allgatherv(mine, hi - lo, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, comm);
    *score = dev_score_percent(all, (size_t)n);
    free(all);
    free(counts);
    free(displs);
    free(mine);
    return 0;
}
