#include "pipeline/score_cmd.h"

#include <stdlib.h>

#include "data/vqa_accuracy.h"
#include "data/vqa_files.h"

int score_command(const struct cli *c, FILE *out, struct err *e)
{
    enum vqa_variant v = VQA_VLT5;
    if (c->variant && vqa_variant_parse(c->variant, &v, e) != 0)
        return err_prefix(e, "--variant");
    struct vqa_annotations ann;
    struct vqa_results res = {0};
    struct vqa_tally t;
    vqa_tally_init(&t, v);
    int rc = -1;
    if (vqa_read_annotations(c->annotations, &ann, e) != 0)
        return -1;
    if (vqa_check_questions(c->questions, &ann, e) != 0 || vqa_read_results(c->results, &res, e) != 0)
        goto done;
    if (vqa_score(ann.gt, ann.n, res.pred, res.n, v, &t, e) != 0) {
        err_prefix(e, "%s (scored against %s)", c->results, c->annotations);
        goto done;
    }
    /* Print only once everything is known, so that an error leaves stdout empty. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        err_set(e, "out of memory");
        goto done;
    }
    vqa_tally_write_json(&t, mem);
    fclose(mem);
    if (fwrite(text, 1, len, out) != len || fflush(out) != 0)
        err_set(e, "cannot write the scores to standard output");
    else
        rc = 0;
    free(text);
done:
    vqa_tally_free(&t);
    vqa_results_free(&res);
    vqa_annotations_free(&ann);
    return rc;
}
