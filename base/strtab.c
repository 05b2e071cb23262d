#include "base/strtab.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

static void ensure_offsets(struct strtab *t)
{
    if (!t->offsets) {
        t->cap_n = 64;
        t->offsets = xmalloc((size_t)(t->cap_n + 1) * sizeof *t->offsets);
        t->offsets[0] = 0;
    }
}

static long append(struct strtab *t, const char *s)
{
    ensure_offsets(t);
    size_t n = strlen(s) + 1;
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 256;
        t->chars = xrealloc(t->chars, t->cap);
    }
    memcpy(t->chars + t->len, s, n);
    t->len += n;
    if (t->n + 1 > t->cap_n) {
        t->cap_n *= 2;
        t->offsets = xrealloc(t->offsets, (size_t)(t->cap_n + 1) * sizeof *t->offsets);
    }
    t->n++;
    t->offsets[t->n] = (int64_t)t->len;
    return t->n - 1;
}

static uint64_t slot_of(const struct strtab *t, const char *s)
{
    return hash_str(HASH_INIT, s) & (uint64_t)(t->n_slots - 1);
}

/* Puts string `i` into the index unless an equal string is there (the first one stays). */
static void index_put(struct strtab *t, long i)
{
    const char *s = strtab_get(t, i);
    for (uint64_t h = slot_of(t, s);; h = (h + 1) & (uint64_t)(t->n_slots - 1)) {
        if (t->slots[h] < 0) {
            t->slots[h] = (int32_t)i;
            return;
        }
        if (strcmp(strtab_get(t, t->slots[h]), s) == 0)
            return;
    }
}

/* Keeps the index at most half full, rebuilding it when it grows. */
static void index_reserve(struct strtab *t, long n)
{
    if (t->slots && n * 2 <= t->n_slots)
        return;
    long want = 64;
    while (want < n * 2)
        want *= 2;
    free(t->slots);
    t->slots = xmalloc((size_t)want * sizeof *t->slots);
    t->n_slots = want;
    for (long i = 0; i < want; i++)
        t->slots[i] = -1;
    for (long i = 0; i < t->n; i++)
        index_put(t, i);
}

long strtab_add(struct strtab *t, const char *s)
{
    long i = append(t, s);
    if (t->slots) {
        index_reserve(t, t->n);
        index_put(t, i);
    }
    return i;
}

long strtab_lookup(const struct strtab *t, const char *s)
{
    if (!t->slots)
        return -1;
    for (uint64_t h = slot_of(t, s);; h = (h + 1) & (uint64_t)(t->n_slots - 1)) {
        if (t->slots[h] < 0)
            return -1;
        if (strcmp(strtab_get(t, t->slots[h]), s) == 0)
            return t->slots[h];
    }
}

long strtab_find(struct strtab *t, const char *s)
{
    index_reserve(t, t->n);
    return strtab_lookup(t, s);
}

long strtab_intern(struct strtab *t, const char *s)
{
    long i = strtab_find(t, s);
    return i >= 0 ? i : strtab_add(t, s);
}

const char *strtab_get(const struct strtab *t, long i)
{
    return t->chars + t->offsets[i];
}

int strtab_adopt(struct strtab *t, char *chars, size_t len, int64_t *offsets, long n)
{
    memset(t, 0, sizeof *t);
    if (n < 0 || offsets[0] != 0 || offsets[n] != (int64_t)len)
        return -1;
    for (long i = 0; i < n; i++)
        if (offsets[i + 1] <= offsets[i] || chars[offsets[i + 1] - 1] != '\0')
            return -1;
    t->chars = chars;
    t->len = t->cap = len;
    t->offsets = offsets;
    t->n = t->cap_n = n;
    return 0;
}

void strtab_free(struct strtab *t)
{
    free(t->chars);
    free(t->offsets);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
