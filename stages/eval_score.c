#include "stages/eval_score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/numfmt.h"
#include "data/label_score.h"
#include "data/vqa_accuracy.h"
#include "train/decode.h"

static const char *confidence_name(int c)
{
    return c == CONF_YES ? "yes" : c == CONF_MAYBE ? "maybe" : "no";
}

static int score_vqa(const struct prepared *p, const int32_t *rows, long n, char *const *preds, int vqa_metric,
                     char **json, double *overall, struct err *e)
{
    struct vqa_gt *gt = xcalloc((size_t)(n ? n : 1), sizeof *gt);          /* [n] */
    struct vqa_pred *pred = xcalloc((size_t)(n ? n : 1), sizeof *pred);    /* [n] */
    struct vqa_answer *answers = xcalloc((size_t)(p->n_raw ? p->n_raw : 1), sizeof *answers);
    long used = 0;
    for (long i = 0; i < n; i++) {
        int32_t q = rows[i];
        struct vqa_id id = {p->ids_are_strings ? strtab_get(&p->q_id_text, q) : NULL, p->q_id[q]};
        gt[i].id = pred[i].id = id;
        gt[i].question_type = strtab_get(&p->qtypes, p->q_qtype[q]);
        gt[i].answer_type = strtab_get(&p->atypes, p->q_atype[q]);
        gt[i].answers = answers + used;
        gt[i].n_answers = (int)(p->raw_start[q + 1] - p->raw_start[q]);
        for (int64_t r = p->raw_start[q]; r < p->raw_start[q + 1]; r++, used++) {
            answers[used].answer = strtab_get(&p->raw_text, p->raw_answer[r]);
            answers[used].confidence = confidence_name(p->raw_confidence[r]);
            answers[used].answer_id = p->raw_answer_id[r];
        }
        pred[i].answer = preds[i];
    }
    struct vqa_tally t;
    int rc = vqa_score(gt, (size_t)n, pred, (size_t)n, (enum vqa_variant)vqa_metric, &t, e);
    if (rc == 0) {
        size_t len;
        FILE *f = open_memstream(json, &len);
        vqa_tally_write_json(&t, f);
        fclose(f);
        *overall = t.overall;
    }
    vqa_tally_free(&t);
    free(gt);
    free(pred);
    free(answers);
    return rc;
}

static int score_gqa(const struct prepared *p, const int32_t *rows, long n, char *const *preds, char **json,
                     double *overall)
{
    double *scores = xmalloc((size_t)(n ? n : 1) * sizeof *scores); /* [n] */
    for (long i = 0; i < n; i++)
        scores[i] = question_label_score(p, rows[i], preds[i]);
    /* MixPHM prints GQA's accuracy with 2 decimals. */
    *overall = round_2_decimals(gqa_accuracy_percent(scores, (size_t)n));
    free(scores);
    char num[NUMFMT_LEN];
    format_double_repr(*overall, num);
    size_t len = strlen(num) + 64;
    *json = xmalloc(len);
    snprintf(*json, len, "{\"overall\": %s, \"variant\": \"gqa\"}", num);
    return 0;
}

int eval_score(const struct prepared *p, const int32_t *rows, long n, char *const *preds, int vqa_metric,
               char **json, double *overall, struct err *e)
{
    if (strcmp(p->dataset, "gqa") == 0)
        return score_gqa(p, rows, n, preds, json, overall);
    return score_vqa(p, rows, n, preds, vqa_metric, json, overall, e);
}
