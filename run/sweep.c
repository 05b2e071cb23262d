#include "run/sweep.h"

#include <stdio.h>
#include <string.h>

/* The axis order of the expansion: these first, then other sweep keys in schema order. */
static const char *const leading_axes[] = {"peft.method", "peft.routing", "data.sizes", "data.seeds"};

struct axes {
    const char *routed; /* peft.routed_methods */
    int n;
    int key[CFG_MAX_AXES + 4];
    int count[CFG_MAX_AXES + 4];
    union cfg_value v[CFG_MAX_AXES + 4][CFG_MAX_SWEEP];
};

static void collect_axes(const struct config *cfg, struct axes *ax)
{
    int nk;
    const struct cfg_key *keys = config_schema(&nk);
    ax->n = 0;
    ax->routed = cfg->peft.routed_methods;
    for (size_t i = 0; i < sizeof leading_axes / sizeof leading_axes[0]; i++) {
        int k = config_key_index(leading_axes[i]);
        ax->key[ax->n] = k;
        ax->count[ax->n] = config_values(cfg, keys[k].path, ax->v[ax->n], CFG_MAX_SWEEP);
        ax->n++;
    }
    for (int a = 0; a < cfg->n_axes; a++) {
        int k = cfg->axes[a].key, leading = 0;
        for (size_t i = 0; i < sizeof leading_axes / sizeof leading_axes[0]; i++)
            leading |= strcmp(keys[k].path, leading_axes[i]) == 0;
        if (leading)
            continue;
        ax->key[ax->n] = k;
        ax->count[ax->n] = config_values(cfg, keys[k].path, ax->v[ax->n], CFG_MAX_SWEEP);
        ax->n++;
    }
}

/* Decodes combination `c` (the last axis varies fastest) into per-axis value indices. */
static void decode(const struct axes *ax, long c, int *idx)
{
    for (int a = ax->n - 1; a >= 0; a--) {
        idx[a] = (int)(c % ax->count[a]);
        c /= ax->count[a];
    }
}

static long product(const struct axes *ax)
{
    long p = 1;
    for (int a = 0; a < ax->n; a++) {
        p *= ax->count[a];
        if (p > SWEEP_MAX_RUNS * 16L)
            return SWEEP_MAX_RUNS * 16L;
    }
    return p;
}

/* Whether axis a varies the runs of `method` (a method's own keys do not vary the others). */
static int axis_applies(const struct axes *ax, int a, int method)
{
    int nk;
    const struct cfg_key *keys = config_schema(&nk);
    return config_method_reads_key(method, keys[ax->key[a]].path);
}

/* Whether `name` is one of the comma-separated names of `list` (spaces around them ignored). */
static int name_listed(const char *list, const char *name)
{
    const size_t len = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        if ((size_t)(last - p) == len && !strncmp(p, name, len))
            return 1;
        p = end;
    }
    return 0;
}

static int valid(const struct axes *ax, const int *idx)
{
    /* Axes 0 and 1 are peft.method and peft.routing (leading_axes). */
    long method = ax->v[0][idx[0]].i, routing = ax->v[1][idx[1]].i;
    if (routing != ROUTING_NONE && !peft_method_supports_routing((int)method))
        return 0;
    if (routing != ROUTING_NONE && ax->routed[0] && !name_listed(ax->routed, peft_method_names[method]))
        return 0;
    /* Another method's key: one run (its first value), not one per value. */
    for (int a = (int)(sizeof leading_axes / sizeof leading_axes[0]); a < ax->n; a++)
        if (idx[a] != 0 && !axis_applies(ax, a, (int)method))
            return 0;
    return 1;
}

/* Finds the combination of the index-th valid run; returns -1 when out of range. */
static long nth_valid(const struct axes *ax, int index, int *idx)
{
    long total = product(ax);
    int seen = 0;
    for (long c = 0; c < total; c++) {
        decode(ax, c, idx);
        if (!valid(ax, idx))
            continue;
        if (seen++ == index)
            return c;
    }
    return -1;
}

int sweep_count(const struct config *cfg)
{
    struct axes ax;
    int idx[CFG_MAX_AXES + 4];
    collect_axes(cfg, &ax);
    long total = product(&ax);
    int n = 0;
    for (long c = 0; c < total && n < SWEEP_MAX_RUNS; c++) {
        decode(&ax, c, idx);
        n += valid(&ax, idx);
    }
    return n;
}

int sweep_run_config(const struct config *cfg, int index, struct config *out, struct err *e)
{
    struct axes ax;
    int idx[CFG_MAX_AXES + 4];
    collect_axes(cfg, &ax);
    if (index < 0 || nth_valid(&ax, index, idx) < 0)
        return err_set(e, "sweep run %d does not exist (the sweep has %d runs)", index, sweep_count(cfg));
    *out = *cfg;
    out->n_axes = 0;
    for (int a = 0; a < ax.n; a++)
        config_put(out, ax.key[a], ax.v[a][idx[a]]);
    return 0;
}

/* Appends " key=value" (or "-key=value") for every other sweep key that varies this run's method,
 * except the key `skip` (NULL: none). */
static size_t append_axes(const struct config *sweep_cfg, const struct config *run_cfg, char sep, const char *skip,
                          char *out, size_t n, size_t o)
{
    int nk;
    const struct cfg_key *keys = config_schema(&nk);
    struct axes ax;
    collect_axes(sweep_cfg, &ax);
    for (int a = (int)(sizeof leading_axes / sizeof leading_axes[0]); a < ax.n && o < n; a++) {
        const struct cfg_key *k = &keys[ax.key[a]];
        if (!axis_applies(&ax, a, (int)run_cfg->peft.method) || (skip && !strcmp(k->path, skip)))
            continue;
        char value[64];
        config_format_value(k, config_get(run_cfg, ax.key[a]), NULL, value, sizeof value);
        const char *leaf = strrchr(k->path, '.');
        o += (size_t)snprintf(out + o, n - o, "%c%s=%s", sep, leaf ? leaf + 1 : k->path, value);
    }
    return o;
}

/* "mixphm" or "lora+add". */
static size_t method_name(const struct config *run_cfg, char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "%s", config_enum_name("peft.method", run_cfg->peft.method));
    if (run_cfg->peft.routing != ROUTING_NONE && o < n)
        o += (size_t)snprintf(out + o, n - o, "+%s", config_enum_name("peft.routing", run_cfg->peft.routing));
    return o;
}

void sweep_run_name(const struct config *sweep_cfg, const struct config *run_cfg, char *out, size_t n)
{
    size_t o = method_name(run_cfg, out, n);
    if (o < n)
        o += (size_t)snprintf(out + o, n - o, "-k%ld-s%ld", run_cfg->data.sizes, run_cfg->data.seeds);
    /* Other sweep keys (hyperparameters) appear in the name when the sweep lists them. */
    append_axes(sweep_cfg, run_cfg, '-', NULL, out, n, o);
}

void sweep_run_label(const struct config *sweep_cfg, const struct config *run_cfg, char *out, size_t n)
{
    size_t o = method_name(run_cfg, out, n);
    append_axes(sweep_cfg, run_cfg, ' ', NULL, out, n, o);
}

void sweep_run_label_without(const struct config *sweep_cfg, const struct config *run_cfg, const char *key,
                             char *out, size_t n)
{
    size_t o = method_name(run_cfg, out, n);
    append_axes(sweep_cfg, run_cfg, ' ', key, out, n, o);
}
