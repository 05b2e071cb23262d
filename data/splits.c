#include "data/splits.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/kshot.h"

int split_set_build(struct split_set *s, const struct vqa_data *ds, const int64_t *seeds, int n_seeds,
                    const long *sizes, int n_sizes, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->pool = xmalloc((size_t)(ds->n_pool ? ds->n_pool : 1) * sizeof *s->pool);
    s->test = xmalloc((size_t)(ds->n_test ? ds->n_test : 1) * sizeof *s->test);
    for (long row = 0; row < ds->nq; row++) {
        if (ds->q[row].source == SRC_POOL)
            s->pool[s->n_pool++] = (int32_t)row;
        else
            s->test[s->n_test++] = (int32_t)row;
    }
    s->sets = xcalloc((size_t)n_seeds * (size_t)n_sizes, sizeof *s->sets);
    for (int a = 0; a < n_seeds; a++)
        for (int b = 0; b < n_sizes; b++) {
            struct kshot_lists *l = &s->sets[s->n_sets++];
            l->seed = seeds[a];
            l->k = sizes[b];
            l->train = xmalloc((size_t)l->k * sizeof *l->train);
            l->dev = xmalloc((size_t)l->k * sizeof *l->dev);
            if (kshot_split(s->n_pool, l->k, l->seed, ds->name, l->train, l->dev, e) != 0) {
                split_set_free(s);
                return -1;
            }
            for (long t = 0; t < l->k; t++) {
                l->train[t] = s->pool[l->train[t]];
                l->dev[t] = s->pool[l->dev[t]];
            }
        }
    return 0;
}

void split_set_free(struct split_set *s)
{
    for (int i = 0; i < s->n_sets; i++) {
        free(s->sets[i].train);
        free(s->sets[i].dev);
    }
    free(s->sets);
    free(s->pool);
    free(s->test);
    memset(s, 0, sizeof *s);
}
