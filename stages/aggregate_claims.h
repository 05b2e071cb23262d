/* The claims of the two papers, checked against the table of a sweep (report/results.md, "Claims"):
 *   - MixPHM is better than every other parameter-efficient method (MixPHM paper);
 *   - MixPHM is at least as good as full fine-tuning (MixPHM paper);
 *   - MixPHM's redundancy regulariser helps (the ablation: regularizer true against false);
 *   - a routing function helps its plain method (routing paper: lora+add against lora, ...).
 * Every comparison is paired by seed (one seed draws one k-shot split for every method): the mean of the
 * per-seed differences and on how many seeds the first method is ahead.  A claim "holds at k" when the
 * mean difference is positive; the text says where it holds and where not, and by how much.  Nothing is
 * tested for significance: with 3 to 5 seeds the win counts are the honest summary. */
#ifndef MIXPHM_STAGES_AGGREGATE_CLAIMS_H
#define MIXPHM_STAGES_AGGREGATE_CLAIMS_H

#include <stdio.h>

#include "stages/aggregate_table.h"

/* One paired comparison of rows a and b in column c. */
struct agg_pair {
    int n;          /* seeds with both results */
    int wins;       /* seeds on which a is strictly ahead */
    double diff;    /* mean of a - b over those seeds (0 when n is 0) */
};

struct agg_pair agg_compare(const struct agg_table *t, int a, int b, int c);
/* The row of a label, or -1. */
int agg_find_row(const struct agg_table *t, const char *label);

/* Writes the "Claims" section; nothing when the table has no MixPHM and no routing function. */
void agg_write_claims(const struct agg_table *t, FILE *f);

#endif
