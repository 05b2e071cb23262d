#include "data/vqa_ids.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

int vqa_id_equal(const struct vqa_id *a, const struct vqa_id *b)
{
    if (!a->str || !b->str)
        return !a->str && !b->str && a->num == b->num;
    return strcmp(a->str, b->str) == 0;
}

void vqa_id_format(const struct vqa_id *id, char out[VQA_ID_TEXT])
{
    if (!id->str) {
        snprintf(out, VQA_ID_TEXT, "%lld", id->num);
        return;
    }
    size_t len = strlen(id->str);
    if (len + 3 <= VQA_ID_TEXT)
        snprintf(out, VQA_ID_TEXT, "\"%s\"", id->str);
    else
        snprintf(out, VQA_ID_TEXT, "\"%.*s...\"", VQA_ID_TEXT - 6, id->str);
}

static uint64_t id_hash(const struct vqa_id *id)
{
    if (id->str)
        return hash_str(HASH_INIT, id->str);
    /* splitmix64's finaliser: consecutive integers spread over the whole table */
    uint64_t z = (uint64_t)id->num + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void vqa_id_index_init(struct vqa_id_index *ix, size_t expected)
{
    size_t cap = 16;
    while (cap < 2 * expected)
        cap *= 2;
    ix->keys = xcalloc(cap, sizeof *ix->keys);
    ix->values = xcalloc(cap, sizeof *ix->values);
    ix->cap = cap;
    ix->n = 0;
}

static size_t slot_of(const struct vqa_id_index *ix, const struct vqa_id *id)
{
    size_t mask = ix->cap - 1, i = (size_t)id_hash(id) & mask;
    while (ix->keys[i] && !vqa_id_equal(ix->keys[i], id))
        i = (i + 1) & mask;
    return i;
}

static void grow(struct vqa_id_index *ix)
{
    struct vqa_id_index bigger;
    vqa_id_index_init(&bigger, ix->cap);
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->keys[i])
            vqa_id_index_put(&bigger, ix->keys[i], ix->values[i]);
    vqa_id_index_free(ix);
    *ix = bigger;
}

size_t vqa_id_index_put(struct vqa_id_index *ix, const struct vqa_id *id, size_t value)
{
    if (2 * (ix->n + 1) > ix->cap)
        grow(ix);
    size_t i = slot_of(ix, id);
    if (ix->keys[i])
        return ix->values[i];
    ix->keys[i] = id;
    ix->values[i] = value;
    ix->n++;
    return VQA_ID_NONE;
}

size_t vqa_id_index_get(const struct vqa_id_index *ix, const struct vqa_id *id)
{
    size_t i = slot_of(ix, id);
    return ix->keys[i] ? ix->values[i] : VQA_ID_NONE;
}

void vqa_id_index_free(struct vqa_id_index *ix)
{
    free(ix->keys);
    free(ix->values);
    ix->keys = NULL;
    ix->values = NULL;
    ix->cap = ix->n = 0;
}

size_t vqa_id_index_build(struct vqa_id_index *ix, const struct vqa_id *first, size_t n, size_t stride,
                          size_t *earlier)
{
    vqa_id_index_init(ix, n);
    for (size_t i = 0; i < n; i++) {
        const struct vqa_id *id = (const struct vqa_id *)((const char *)first + i * stride);
        *earlier = vqa_id_index_put(ix, id, i);
        if (*earlier != VQA_ID_NONE)
            return i;
    }
    return VQA_ID_NONE;
}
