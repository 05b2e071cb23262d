#include "data/label_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/numfmt.h"
#include "data/vqa_normalize.h"

double label_lookup(const struct vqa_label *label, const char *answer)
{
    for (int i = 0; i < label->n; i++)
        if (strcmp(label->answers[i], answer) == 0)
            return label->scores[i];
    return 0.0;
}

double gqa_question_score(const struct vqa_label *label, const char *prediction)
{
    char *a = gqa_normalize(prediction);
    double s = label_lookup(label, a);
    free(a);
    return s;
}

/* evaluate(): score = 0.; score += label[ans] for each question; return score / len(quesid2ans);
 * the caller multiplies by 100 afterwards. */
static double mean_times_100(const double *scores, size_t n)
{
    if (n == 0)
        return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += scores[i];
    return sum / (double)n * 100;
}

double dev_score_percent(const double *scores, size_t n)
{
    return round_2_decimals(mean_times_100(scores, n));
}

double gqa_accuracy_percent(const double *scores, size_t n)
{
    return mean_times_100(scores, n);
}
