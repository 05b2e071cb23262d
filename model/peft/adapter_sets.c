/* The adapters' activation sets (peft_sets_alloc): each site keeps, per set, what its backward and
 * the regulariser read of one forward (struct adapter_acts).  Set 0 is the buffers of adapter_bind;
 * sets 1 .. n-1 hold up to B examples.  Selecting a set moves pointers; nothing is copied. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/peft/adapter.h"

/* Allocates, or with `bytes` non-NULL only counts, the buffers of a set. */
static float *fbuf(size_t *bytes, size_t n)
{
    if (bytes) {
        *bytes += (n ? n : 1) * sizeof(float);
        return NULL;
    }
    return xcalloc(n ? n : 1, sizeof(float));
}

/* A site's set of B examples, its buffers sized as adapter_bind sizes them for the largest batch. */
static void alloc_acts(const struct adapter *A, const struct adapter_site *st, int B, struct adapter_acts *a,
                       size_t *bytes)
{
    const struct vlt5 *m = A->pf->model;
    const int d = m->dims.d_model, b = A->c.bottleneck, routed = A->pf->opts.routing != ROUTING_NONE;
    const int rows = peft_max_rows(m, st->site.stack == VLT5_ENCODER) / m->opts.max_batch * B;
    memset(a, 0, sizeof *a);
    a->x = fbuf(bytes, (size_t)rows * d), a->za = fbuf(bytes, (size_t)rows * b), a->zd = fbuf(bytes, (size_t)rows * b);
    a->zr = routed ? fbuf(bytes, (size_t)rows * b) : a->zd;
    a->xv = routed ? fbuf(bytes, (size_t)B * b) : NULL;
    a->cache_d = fbuf(bytes, proj_cache_floats(&st->down, rows));
    a->cache_u = fbuf(bytes, proj_cache_floats(&st->up, rows));
    a->cache_v = routed ? fbuf(bytes, proj_cache_floats(&st->down, B)) : NULL;
    a->ha = st->ha ? fbuf(bytes, (size_t)rows * d) : NULL; /* kept where set 0 keeps it */
}

static void free_acts(struct adapter_acts *a)
{
    if (a->zr != a->zd)
        free(a->zr);
    free(a->x), free(a->za), free(a->zd), free(a->xv), free(a->cache_d), free(a->cache_u), free(a->cache_v);
    free(a->ha);
    memset(a, 0, sizeof *a);
}

static void acts_save(const struct adapter_site *st, struct adapter_acts *a)
{
    a->ed = st->ed, a->eu = st->eu, a->B = st->B, a->T = st->T, a->trained = st->trained;
    a->reg_ready = st->reg_ready;
    a->x = st->x, a->zd = st->zd, a->zr = st->zr, a->za = st->za, a->ha = st->ha, a->xv = st->xv;
    a->cache_d = st->cache_d, a->cache_u = st->cache_u, a->cache_v = st->cache_v;
}

static void acts_load(struct adapter_site *st, const struct adapter_acts *a)
{
    st->ed = a->ed, st->eu = a->eu, st->B = a->B, st->T = a->T, st->trained = a->trained;
    st->reg_ready = a->reg_ready;
    st->x = a->x, st->zd = a->zd, st->zr = a->zr, st->za = a->za, st->ha = a->ha, st->xv = a->xv;
    st->cache_d = a->cache_d, st->cache_u = a->cache_u, st->cache_v = a->cache_v;
}

size_t adapter_set_bytes(const struct peft *pf, int B)
{
    const struct adapter *A = pf->method;
    size_t bytes = 0;
    for (int i = 0; i < A->n_sites; i++) {
        struct adapter_acts a;
        alloc_acts(A, &A->sites[i], B, &a, &bytes);
    }
    return bytes;
}

void adapter_set_select(struct peft *pf, int i)
{
    struct adapter *A = pf->method;
    if (i == A->cur_set || i < 0 || i >= A->n_sets)
        return;
    for (int k = 0; k < A->n_sites; k++) {
        struct adapter_site *st = &A->sites[k];
        acts_save(st, &st->sets[A->cur_set]);
        acts_load(st, &st->sets[i]);
    }
    A->cur_set = i;
}

void adapter_sets_free(struct adapter *A)
{
    if (A->n_sets == 0)
        return;
    adapter_set_select(A->pf, 0);
    for (int k = 0; k < A->n_sites; k++) {
        struct adapter_site *st = &A->sites[k];
        for (int i = 1; i < A->n_sets; i++)
            free_acts(&st->sets[i]);
        free(st->sets);
        st->sets = NULL;
    }
    A->n_sets = A->cur_set = 0;
}

int adapter_sets_alloc(struct peft *pf, int n, int B)
{
    struct adapter *A = pf->method;
    adapter_sets_free(A);
    if (n < 2)
        return 0;
    for (int k = 0; k < A->n_sites; k++) {
        struct adapter_site *st = &A->sites[k];
        st->sets = xcalloc((size_t)n, sizeof *st->sets);
        for (int i = 1; i < n; i++)
            alloc_acts(A, st, B, &st->sets[i], NULL);
    }
    A->n_sets = n, A->cur_set = 0;
    return 0;
}
