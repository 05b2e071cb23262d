/* The splits prepare stores: the pool and test question lists, and for every (seed, k) the k-shot
 * train and dev lists (question rows, drawn from the pool with data/kshot.h). */
#ifndef MIXPHM_DATA_SPLITS_H
#define MIXPHM_DATA_SPLITS_H

#include <stdint.h>

#include "base/err.h"
#include "data/dataset.h"

struct kshot_lists {
    int64_t seed;
    long k;
    int32_t *train; /* [k] question rows */
    int32_t *dev;   /* [k] question rows */
};

struct split_set {
    int32_t *pool; /* [n_pool] question rows of the pool, in file order */
    long n_pool;
    int32_t *test; /* [n_test] */
    long n_test;
    int n_sets;
    struct kshot_lists *sets; /* [n_sets]: seeds outer, sizes inner, in the order given */
};

/* Every seed x every size; a size with 2k above the pool size is an error naming the dataset. */
int split_set_build(struct split_set *s, const struct vqa_data *ds, const int64_t *seeds, int n_seeds,
                    const long *sizes, int n_sizes, struct err *e);
void split_set_free(struct split_set *s);

#endif
