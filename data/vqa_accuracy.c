#include "data/vqa_accuracy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/numfmt.h"
#include "base/strbuf.h"
#include "data/vqa_normalize.h"

static const char *const variant_names[] = {"vlt5", "official2016", "official"};

const char *vqa_variant_name(enum vqa_variant v)
{
    return variant_names[v];
}

int vqa_variant_parse(const char *name, enum vqa_variant *v, struct err *e)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, variant_names[i])) {
            *v = (enum vqa_variant)i;
            return 0;
        }
    return err_set(e, "unknown VQA accuracy variant '%s' (expected vlt5, official2016 or official)", name);
}

/* ---- one question ----------------------------------------------------------------------------- */

double vqa_match_accuracy(const char *const *answers, int n, const char *prediction)
{
    int matches = 0;
    for (int j = 0; j < n; j++)
        matches += strcmp(answers[j], prediction) == 0;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        /* the other answers that match: leave answer i out */
        int m = matches - (strcmp(answers[i], prediction) == 0);
        double acc = (double)m / 3;
        sum += acc < 1.0 ? acc : 1.0;
    }
    return sum / n;
}

static int all_identical(char *const *s, int n)
{
    for (int i = 1; i < n; i++)
        if (strcmp(s[i], s[0]) != 0)
            return 0;
    return 1;
}

/* D(P(s)), freeing s. */
static char *punct_digit_article(char *s)
{
    char *p = vqa_punctuation(s);
    char *d = vqa_digit_article(p);
    free(p);
    free(s);
    return d;
}

double vqa_question_accuracy(const struct vqa_gt *gt, const char *prediction, enum vqa_variant v)
{
    int n = gt->n_answers;
    char **ans = xmalloc((size_t)n * sizeof *ans); /* [n] the answers as compared */
    char *r;
    if (v == VQA_OFFICIAL) {
        /* variant B: W everywhere; D(P(.)) on both sides only when the cleaned answers differ */
        for (int i = 0; i < n; i++)
            ans[i] = vqa_clean_whitespace(gt->answers[i].answer);
        r = vqa_clean_whitespace(prediction);
        if (!all_identical(ans, n)) {
            for (int i = 0; i < n; i++)
                ans[i] = punct_digit_article(ans[i]);
            r = punct_digit_article(r);
        }
    } else {
        /* variant A: the prediction always gets W, P, D; the answers are raw, or P(answer) when the
         * raw strings are not all identical */
        r = punct_digit_article(vqa_clean_whitespace(prediction));
        for (int i = 0; i < n; i++)
            ans[i] = xstrdup(gt->answers[i].answer);
        if (!all_identical(ans, n))
            for (int i = 0; i < n; i++) {
                char *p = vqa_punctuation(ans[i]);
                free(ans[i]);
                ans[i] = p;
            }
    }
    double acc = vqa_match_accuracy((const char *const *)ans, n, r);
    for (int i = 0; i < n; i++)
        free(ans[i]);
    free(ans);
    free(r);
    return acc;
}

int vqa_gt_check(const struct vqa_gt *gt, struct err *e)
{
    char id[VQA_ID_TEXT];
    vqa_id_format(&gt->id, id);
    if (!gt->question_type || !gt->answer_type)
        return err_set(e, "question %s: no question_type or answer_type", id);
    if (gt->n_answers < 1)
        return err_set(e, "question %s: no answers (at least one is needed)", id);
    for (int i = 0; i < gt->n_answers; i++) {
        if (!gt->answers[i].answer)
            return err_set(e, "question %s: answers[%d] has no text", id, i);
        for (int j = 0; j < i; j++)
            if (gt->answers[j].answer_id == gt->answers[i].answer_id)
                return err_set(e, "question %s: answer_id %lld is used twice (answers[%d] and answers[%d]); the "
                               "tools leave out one answer per id", id, gt->answers[i].answer_id, j, i);
    }
    return 0;
}

/* ---- aggregation ------------------------------------------------------------------------------ */

void vqa_tally_init(struct vqa_tally *t, enum vqa_variant v)
{
    memset(t, 0, sizeof *t);
    t->variant = v;
}

static void type_add(struct vqa_type_acc **types, size_t *n, size_t *cap, const char *name, double acc)
{
    size_t i = 0;
    while (i < *n && strcmp((*types)[i].name, name) != 0)
        i++;
    if (i == *n) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *types = xrealloc(*types, *cap * sizeof **types);
        }
        (*types)[i] = (struct vqa_type_acc){.name = name};
        (*n)++;
    }
    (*types)[i].sum += acc;
    (*types)[i].n++;
}

void vqa_tally_add(struct vqa_tally *t, const char *question_type, const char *answer_type, double acc)
{
    t->sum += acc;
    t->n++;
    type_add(&t->qtypes, &t->n_qtypes, &t->cap_qtypes, question_type, acc);
    type_add(&t->atypes, &t->n_atypes, &t->cap_atypes, answer_type, acc);
}

/* round(100*float(sum(accs))/len(accs), 2): the multiplication comes first */
static double percent(double sum, size_t n)
{
    return round_2_decimals(100 * sum / (double)n);
}

int vqa_tally_finish(struct vqa_tally *t, struct err *e)
{
    if (t->n == 0)
        return err_set(e, "no question to score");
    t->overall = percent(t->sum, t->n);
    for (size_t i = 0; i < t->n_qtypes; i++)
        t->qtypes[i].percent = percent(t->qtypes[i].sum, t->qtypes[i].n);
    for (size_t i = 0; i < t->n_atypes; i++)
        t->atypes[i].percent = percent(t->atypes[i].sum, t->atypes[i].n);
    return 0;
}

void vqa_tally_free(struct vqa_tally *t)
{
    free(t->qtypes);
    free(t->atypes);
    t->qtypes = t->atypes = NULL;
    t->n_qtypes = t->n_atypes = t->cap_qtypes = t->cap_atypes = 0;
}

/* A JSON string as json.dumps(ensure_ascii=False) writes it: '"', '\\' and the control characters
 * escaped (\n, \t... where JSON has a short form, else \u00XX), every other byte as it is. */
static void write_json_string(FILE *f, const char *s)
{
    static const char shorts[] = "\"\\\b\f\n\r\t", letters[] = "\"\\bfnrt"; /* "\b" is written \b */
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *k = strchr(shorts, *p);
        if (k)
            fprintf(f, "\\%c", letters[k - shorts]);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void write_types(FILE *f, const char *key, const struct vqa_type_acc *types, size_t n)
{
    fprintf(f, "  \"%s\": {", key);
    for (size_t i = 0; i < n; i++) {
        char num[NUMFMT_LEN];
        format_double_repr(types[i].percent, num);
        fputs(i ? ",\n    " : "\n    ", f);
        write_json_string(f, types[i].name);
        fprintf(f, ": %s", num);
    }
    fputs(n ? "\n  },\n" : "},\n", f);
}

void vqa_tally_write_json(const struct vqa_tally *t, FILE *f)
{
    char num[NUMFMT_LEN];
    format_double_repr(t->overall, num);
    fprintf(f, "{\n  \"overall\": %s,\n", num);
    write_types(f, "perQuestionType", t->qtypes, t->n_qtypes);
    write_types(f, "perAnswerType", t->atypes, t->n_atypes);
    fprintf(f, "  \"variant\": \"%s\"\n}\n", vqa_variant_name(t->variant));
}

/* ---- whole sets ------------------------------------------------------------------------------- */

#define IDS_NAMED 5

/* Lists the ids (the first at `first`, the next `stride` bytes further) that `other` lacks, as
 * "1, 2, 3, 4, 5 and 7 more" in `list`; returns how many there are. */
static size_t absent_ids(const struct vqa_id *first, size_t n, size_t stride, const struct vqa_id_index *other,
                         char *list, size_t cap)
{
    size_t count = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct vqa_id *id = (const struct vqa_id *)((const char *)first + i * stride);
        if (vqa_id_index_get(other, id) != VQA_ID_NONE)
            continue;
        if (++count <= IDS_NAMED) {
            char text[VQA_ID_TEXT];
            vqa_id_format(id, text);
            strbuf_appendf(list, cap, "%s%s", count == 1 ? "" : ", ", text);
        }
    }
    if (count > IDS_NAMED)
        strbuf_appendf(list, cap, " and %zu more", count - IDS_NAMED);
    return count;
}

/* Indexes the ids; -1 naming the first one that comes twice. */
static int index_ids(struct vqa_id_index *ix, const struct vqa_id *first, size_t n, size_t stride,
                     const char *what, struct err *e)
{
    size_t earlier, dup = vqa_id_index_build(ix, first, n, stride, &earlier);
    if (dup == VQA_ID_NONE)
        return 0;
    char text[VQA_ID_TEXT];
    vqa_id_format((const struct vqa_id *)((const char *)first + dup * stride), text);
    return err_set(e, "question id %s %s twice ([%zu] and [%zu])", text, what, earlier, dup);
}

static int check_coverage(const struct vqa_gt *gt, size_t n_gt, const struct vqa_id_index *gt_ix,
                          const struct vqa_pred *pred, size_t n_pred, const struct vqa_id_index *pred_ix,
                          enum vqa_variant v, struct err *e)
{
    char unknown[1024], missing[1024];
    size_t n_unknown = 0, n_missing = 0;
    if (n_pred > 0)
        n_unknown = absent_ids(&pred[0].id, n_pred, sizeof *pred, gt_ix, unknown, sizeof unknown);
    if (v == VQA_VLT5) {
        if (n_unknown > 0)
            return err_set(e, "%zu predicted question id%s %s not in the annotations: %s", n_unknown,
                           n_unknown == 1 ? "" : "s", n_unknown == 1 ? "is" : "are", unknown);
        return 0;
    }
    if (n_gt > 0)
        n_missing = absent_ids(&gt[0].id, n_gt, sizeof *gt, pred_ix, missing, sizeof missing);
    if (n_missing == 0 && n_unknown == 0)
        return 0;
    char msg[ERR_MSG_MAX] = "";
    strbuf_appendf(msg, sizeof msg, "variant %s scores exactly the annotated questions, as the official tool does:",
                   vqa_variant_name(v));
    if (n_missing > 0)
        strbuf_appendf(msg, sizeof msg, " %zu annotated question%s ha%s no prediction (%s)%s", n_missing,
                       n_missing == 1 ? "" : "s", n_missing == 1 ? "s" : "ve", missing, n_unknown ? ";" : "");
    if (n_unknown > 0)
        strbuf_appendf(msg, sizeof msg, " %zu predicted question%s %s not in the annotations (%s)", n_unknown,
                       n_unknown == 1 ? "" : "s", n_unknown == 1 ? "is" : "are", unknown);
    return err_set(e, "%s", msg);
}

int vqa_score(const struct vqa_gt *gt, size_t n_gt, const struct vqa_pred *pred, size_t n_pred,
              enum vqa_variant v, struct vqa_tally *t, struct err *e)
{
    vqa_tally_init(t, v);
    for (size_t i = 0; i < n_gt; i++)
        if (vqa_gt_check(&gt[i], e) != 0)
            return -1;
    for (size_t i = 0; i < n_pred; i++)
        if (!pred[i].answer)
            return err_set(e, "prediction [%zu] has no answer", i);
    struct vqa_id_index gt_ix, pred_ix;
    int rc = -1;
    if (index_ids(&gt_ix, n_gt ? &gt[0].id : NULL, n_gt, sizeof *gt, "is annotated", e) != 0) {
        vqa_id_index_free(&gt_ix);
        return -1;
    }
    if (index_ids(&pred_ix, n_pred ? &pred[0].id : NULL, n_pred, sizeof *pred, "is predicted", e) != 0 ||
        check_coverage(gt, n_gt, &gt_ix, pred, n_pred, &pred_ix, v, e) != 0)
        goto done;
    if (v == VQA_VLT5) {
        /* evaluate_raw: the predicted ids, in prediction order */
        for (size_t i = 0; i < n_pred; i++) {
            const struct vqa_gt *g = &gt[vqa_id_index_get(&gt_ix, &pred[i].id)];
            vqa_tally_add(t, g->question_type, g->answer_type, vqa_question_accuracy(g, pred[i].answer, v));
        }
    } else {
        /* vqaEval.evaluate: vqa.getQuesIds(), the annotation order */
        for (size_t i = 0; i < n_gt; i++) {
            const struct vqa_pred *p = &pred[vqa_id_index_get(&pred_ix, &gt[i].id)];
            vqa_tally_add(t, gt[i].question_type, gt[i].answer_type, vqa_question_accuracy(&gt[i], p->answer, v));
        }
    }
    rc = vqa_tally_finish(t, e);
done:
    vqa_id_index_free(&gt_ix);
    vqa_id_index_free(&pred_ix);
    return rc;
}
