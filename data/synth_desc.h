/* Descriptions of objects in a scene ("large red metal cube", "small rubber thing", "red things"),
 * shared by the questions and the captions of the synthetic benchmark. */
#ifndef MIXPHM_DATA_SYNTH_DESC_H
#define MIXPHM_DATA_SYNTH_DESC_H

#include <stddef.h>

#include "data/synth.h"

extern const int synth_attr_count[SYNTH_N_ATTR];

/* The word of value `value` of attribute `attr` ("red", "cube", ...). */
const char *synth_attr_word(int attr, int value);

/* The attributes a description names (value -1: not named). */
struct synth_desc {
    int value[SYNTH_N_ATTR];
};

int synth_desc_matches(const struct synth_object *o, const struct synth_desc *d);
int synth_desc_count(const struct synth_scene *s, const struct synth_desc *d);
/* Size, color, material, then the shape or "thing" (plural: "cubes", "things"). */
void synth_desc_render(const struct synth_desc *d, int plural, char *out, size_t n);
/* The shortest description (of the attributes other than `exclude`; -1: any) that only object `t`
 * matches, trying subsets of equal size in random order.  0, or -1 when another object is identical
 * to it in those attributes. */
int synth_desc_unique(const struct synth_scene *s, int t, int exclude, struct synth_rng *r, struct synth_desc *out);
/* A random description of 1..max_attrs attributes: of object t when t >= 0, else of random values. */
void synth_desc_random(const struct synth_scene *s, int t, int max_attrs, struct synth_rng *r, struct synth_desc *d);
/* A random description of at most 3 attributes that some object matches (exists) or none does: of a
 * random object, or of random values, drawn again until it is so.  0, or -1 after 51 draws. */
int synth_desc_existing(const struct synth_scene *s, int exists, struct synth_rng *r, struct synth_desc *d);

#endif
