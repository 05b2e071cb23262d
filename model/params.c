#include "model/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void params_init(struct params *p)
{
    memset(p, 0, sizeof *p);
}

void params_free(struct params *p)
{
    free(p->train);
    free(p->grad);
    free(p->adam_m);
    free(p->adam_v);
    free(p->adam_step);
    free(p->frozen);
    for (int i = 0; p->t && i < p->n; i++)
        free(p->t[i].own);
    free(p->t);
    memset(p, 0, sizeof *p);
}

int params_find(const struct params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return i;
    return -1;
}

int params_add(struct params *p, const char *name, int ndim, const int *shape, int owner, int trainable,
               struct err *e)
{
    if (p->allocated)
        return err_set(e, "parameter '%s': registered after the buffers were allocated", name);
    size_t len = strlen(name);
    if (len == 0 || len >= PARAM_NAME_MAX || strchr(name, '/'))
        return err_set(e, "parameter name '%s': expected 1 to %d characters without '/'", name, PARAM_NAME_MAX - 1);
    if (ndim < 1 || ndim > PARAM_MAX_DIMS)
        return err_set(e, "parameter '%s': %d dimensions (expected 1 to %d)", name, ndim, PARAM_MAX_DIMS);
    if (params_find(p, name) >= 0)
        return err_set(e, "parameter '%s' is registered twice", name);
    struct param_tensor t;
    memset(&t, 0, sizeof t);
    memcpy(t.name, name, len + 1);
    t.ndim = ndim;
    t.numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return err_set(e, "parameter '%s': dimension %d is %d", name, i, shape[i]);
        t.shape[i] = shape[i];
        t.numel *= (size_t)shape[i];
    }
    t.owner = owner;
    t.trainable = trainable ? 1 : 0;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->t = xrealloc(p->t, sizeof *p->t * (size_t)p->cap);
    }
    p->t[p->n] = t;
    return p->n++;
}

int params_set_trainable(struct params *p, const char *pattern, int owner_mask, int trainable)
{
    int changed = 0;
    if (p->allocated)
        return 0;
    for (int i = 0; i < p->n; i++) {
        struct param_tensor *t = &p->t[i];
        if (!(t->owner & owner_mask) || !strstr(t->name, pattern) || t->trainable == (trainable ? 1 : 0))
            continue;
        t->trainable = trainable ? 1 : 0;
        changed++;
    }
    return changed;
}

void params_set_detached(struct params *p, int h)
{
    if (!p->allocated && h >= 0 && h < p->n)
        p->t[h].detached = 1;
}

void params_release(struct params *p, int h)
{
    struct param_tensor *t = &p->t[h];
    if (!t->detached)
        return;
    free(t->own);
    t->own = NULL;
}

void params_alloc(struct params *p)
{
    size_t off[2] = {0, 0}; /* [frozen, trainable] */
    for (int i = 0; i < p->n; i++) {
        struct param_tensor *t = &p->t[i];
        t->detached = t->detached && !t->trainable;
        if (t->detached) {
            t->own = xaligned_calloc(t->numel, sizeof(float));
            continue;
        }
        t->offset = off[t->trainable];
        off[t->trainable] += (t->numel + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    }
    p->n_frozen = off[0];
    p->n_train = off[1];
    p->frozen = p->n_frozen ? xaligned_calloc(p->n_frozen, sizeof(float)) : NULL;
    if (p->n_train) {
        p->train = xaligned_calloc(p->n_train, sizeof(float));
        p->grad = xaligned_calloc(p->n_train, sizeof(float));
        p->adam_m = xaligned_calloc(p->n_train, sizeof(float));
        p->adam_v = xaligned_calloc(p->n_train, sizeof(float));
    }
    p->adam_step = xcalloc((size_t)(p->n ? p->n : 1), sizeof *p->adam_step);
    p->allocated = 1;
}

float *params_data(const struct params *p, int h)
{
    const struct param_tensor *t = &p->t[h];
    if (t->detached)
        return t->own;
    return (t->trainable ? p->train : p->frozen) + t->offset;
}

float *params_grad(const struct params *p, int h)
{
    const struct param_tensor *t = &p->t[h];
    return t->trainable ? p->grad + t->offset : NULL;
}

size_t params_count(const struct params *p, int trainable, int owner_mask)
{
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        if ((p->t[i].owner & owner_mask) && (trainable < 0 || p->t[i].trainable == trainable))
            n += p->t[i].numel;
    return n;
}

void params_zero_grad(struct params *p)
{
    if (p->grad)
        memset(p->grad, 0, sizeof(float) * p->n_train);
}

void params_shape_str(const struct param_tensor *t, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, i ? ", %d" : "%d", t->shape[i]);
    if (k < n)
        snprintf(out + k, n - k, "]");
}
