/* Object descriptions (data/synth_desc.h). */
#include "data/synth_desc.h"

#include <stdio.h>
#include <string.h>

const int synth_attr_count[SYNTH_N_ATTR] = {SYNTH_SIZES, SYNTH_COLORS, SYNTH_MATERIALS, SYNTH_SHAPES};

const char *synth_attr_word(int attr, int value)
{
    switch (attr) {
    case ATTR_SIZE: return synth_size_names[value];
    case ATTR_COLOR: return synth_color_names[value];
    case ATTR_MATERIAL: return synth_material_names[value];
    default: return synth_shape_names[value];
    }
}

int synth_desc_matches(const struct synth_object *o, const struct synth_desc *d)
{
    for (int a = 0; a < SYNTH_N_ATTR; a++)
        if (d->value[a] >= 0 && d->value[a] != o->attr[a])
            return 0;
    return 1;
}

int synth_desc_count(const struct synth_scene *s, const struct synth_desc *d)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += synth_desc_matches(&s->obj[i], d);
    return n;
}

void synth_desc_render(const struct synth_desc *d, int plural, char *out, size_t n)
{
    out[0] = '\0';
    for (int a = ATTR_SIZE; a < ATTR_SHAPE; a++)
        if (d->value[a] >= 0)
            snprintf(out + strlen(out), n - strlen(out), "%s ", synth_attr_word(a, d->value[a]));
    const char *noun = d->value[ATTR_SHAPE] >= 0
                           ? (plural ? synth_shape_plurals : synth_shape_names)[d->value[ATTR_SHAPE]]
                           : (plural ? "things" : "thing");
    snprintf(out + strlen(out), n - strlen(out), "%s", noun);
}

int synth_desc_unique(const struct synth_scene *s, int t, int exclude, struct synth_rng *r, struct synth_desc *out)
{
    int subsets[16], n = 0;
    for (int size = 1; size <= SYNTH_N_ATTR; size++) {
        n = 0;
        for (int m = 1; m < 16; m++)
            if (__builtin_popcount((unsigned)m) == size && !(exclude >= 0 && (m & (1 << exclude))))
                subsets[n++] = m;
        synth_rng_shuffle(r, subsets, n);
        for (int i = 0; i < n; i++) {
            for (int a = 0; a < SYNTH_N_ATTR; a++)
                out->value[a] = (subsets[i] & (1 << a)) ? s->obj[t].attr[a] : -1;
            if (synth_desc_count(s, out) == 1)
                return 0;
        }
    }
    return -1;
}

void synth_desc_random(const struct synth_scene *s, int t, int max_attrs, struct synth_rng *r, struct synth_desc *d)
{
    int order[SYNTH_N_ATTR] = {0, 1, 2, 3}, k = (int)synth_rng_between(r, 1, max_attrs);
    synth_rng_shuffle(r, order, SYNTH_N_ATTR);
    for (int a = 0; a < SYNTH_N_ATTR; a++)
        d->value[a] = -1;
    for (int i = 0; i < k; i++) {
        int a = order[i];
        d->value[a] = t >= 0 ? s->obj[t].attr[a] : (int)synth_rng_below(r, synth_attr_count[a]);
    }
}

int synth_desc_existing(const struct synth_scene *s, int exists, struct synth_rng *r, struct synth_desc *d)
{
    for (int tries = 0;; tries++) {
        synth_desc_random(s, exists ? (int)synth_rng_below(r, s->n) : -1, 3, r, d);
        if ((synth_desc_count(s, d) > 0) == exists)
            return 0;
        if (tries > 50)
            return -1;
    }
}
