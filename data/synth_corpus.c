/* The pretraining corpus (scene descriptions as T5 span-corruption pairs) and the word list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth.h"

/* Every word the generator writes, in a fixed order: ids 3.. of the synthetic tokenizer. */
static const char *const words[] = {
    /* punctuation and the task prefix */
    "vqa", ":", "?", "!", ".", ",",
    /* question and description words */
    "what", "color", "shape", "size", "is", "the", "a", "made", "of", "how", "many", "are", "there", "more",
    "than", "left", "right", "above", "below", "thing", "things", "from", "to", "and",
    /* attributes */
    "small", "large", "rubber", "metal", "red", "green", "blue", "yellow", "purple", "cyan", "brown", "gray",
    "cube", "sphere", "cylinder", "cone", "cubes", "spheres", "cylinders", "cones",
    /* answers */
    "yes", "no", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
    /* how annotators type numbers */
    "none", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
};

const char *const *synth_words(int *n)
{
    *n = (int)(sizeof words / sizeof words[0]);
    return words;
}

static void append(char *out, size_t n, const char *s)
{
    size_t len = strlen(out);
    snprintf(out + len, n - len, "%s%s", len ? " " : "", s);
}

static int by_x(const void *a, const void *b)
{
    const struct synth_object *x = *(const struct synth_object *const *)a, *y = *(const struct synth_object *const *)b;
    return (x->cx > y->cx) - (x->cx < y->cx);
}

/* "from left to right : a large red metal cube , a small blue rubber sphere , ... . the ... is above the
 * ... ." in words separated by single spaces. */
static void describe(const struct synth_scene *s, struct synth_rng *r, char *out, size_t n)
{
    const struct synth_object *order[SYNTH_MAX_OBJECTS];
    for (int i = 0; i < s->n; i++)
        order[i] = &s->obj[i];
    qsort(order, (size_t)s->n, sizeof order[0], by_x);
    out[0] = '\0';
    append(out, n, "from left to right :");
    for (int i = 0; i < s->n; i++) {
        const struct synth_object *o = order[i];
        char obj[96];
        snprintf(obj, sizeof obj, "a %s %s %s %s%s", synth_size_names[o->attr[ATTR_SIZE]],
                 synth_color_names[o->attr[ATTR_COLOR]], synth_material_names[o->attr[ATTR_MATERIAL]],
                 synth_shape_names[o->attr[ATTR_SHAPE]], i + 1 < s->n ? " ," : " .");
        append(out, n, obj);
    }
    /* One vertical relation between two objects whose centres are clearly apart. */
    int i = (int)synth_rng_below(r, s->n), j = (int)synth_rng_below(r, s->n);
    const struct synth_object *a = &s->obj[i], *b = &s->obj[j];
    if (i != j && (a->cy - b->cy) * (a->cy - b->cy) > 0.01f * (float)s->height * (float)s->height) {
        char rel[128];
        snprintf(rel, sizeof rel, "the %s %s is %s the %s %s .", synth_color_names[a->attr[ATTR_COLOR]],
                 synth_shape_names[a->attr[ATTR_SHAPE]], a->cy < b->cy ? "above" : "below",
                 synth_color_names[b->attr[ATTR_COLOR]], synth_shape_names[b->attr[ATTR_SHAPE]]);
        append(out, n, rel);
    }
}

/* T5 span corruption: about 15% of the words, in spans of 1-3 words, become <extra_id_k> in the input;
 * the target lists each span after its sentinel and ends with one more sentinel. */
static void corrupt(const char *text, struct synth_rng *r, char *input, char *target, size_t n)
{
    char buf[1024], *w[256];
    int nw = 0;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, " "); tok && nw < 256; tok = strtok(NULL, " "))
        w[nw++] = tok;
    unsigned char masked[256] = {0};
    int want = (int)(0.15 * nw + 0.5), done = 0;
    if (want < 1)
        want = 1;
    for (int tries = 0; done < want && tries < 200; tries++) {
        int len = (int)synth_rng_between(r, 1, 3), start = (int)synth_rng_below(r, nw);
        if (start + len > nw || done + len > want + 1)
            continue;
        int free_run = 1; /* spans do not touch, so each one gets its own sentinel */
        for (int k = start - 1; k <= start + len; k++)
            if (k >= 0 && k < nw && masked[k])
                free_run = 0;
        if (!free_run)
            continue;
        for (int k = start; k < start + len; k++)
            masked[k] = 1;
        done += len;
    }
    input[0] = target[0] = '\0';
    int sentinel = 0;
    for (int i = 0; i < nw; i++) {
        if (!masked[i]) {
            append(input, n, w[i]);
            continue;
        }
        if (i == 0 || !masked[i - 1]) {
            char s[24];
            snprintf(s, sizeof s, "<extra_id_%d>", sentinel++);
            append(input, n, s);
            append(target, n, s);
        }
        append(target, n, w[i]);
    }
    char s[24];
    snprintf(s, sizeof s, "<extra_id_%d>", sentinel);
    append(target, n, s);
}

void synth_pair(const struct synth_config *c, long index, struct synth_pair *p)
{
    struct synth_rng r;
    synth_rng_seed(&r, c->seed, RNG_PRETRAIN, (uint64_t)index);
    p->image = synth_rng_below(&r, c->train_images);
    struct synth_scene s;
    synth_scene(c, p->image, &s);
    char text[1024];
    describe(&s, &r, text, sizeof text);
    corrupt(text, &r, p->input, p->target, sizeof p->input);
}
