/* Scenes, the detector's regions and its features (docs/synthetic.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/synth.h"

const char *const synth_color_names[SYNTH_COLORS] = {"red", "green", "blue", "yellow", "purple", "cyan", "brown", "gray"};
const char *const synth_shape_names[SYNTH_SHAPES] = {"cube", "sphere", "cylinder", "cone"};
const char *const synth_shape_plurals[SYNTH_SHAPES] = {"cubes", "spheres", "cylinders", "cones"};
const char *const synth_material_names[SYNTH_MATERIALS] = {"rubber", "metal"};
const char *const synth_size_names[SYNTH_SIZES] = {"small", "large"};

/* Width and height factors of each shape's box (cylinders and cones stand taller). */
static const float shape_aspect[SYNTH_SHAPES][2] = {{1.0f, 1.0f}, {1.0f, 1.0f}, {0.8f, 1.25f}, {0.9f, 1.15f}};

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

uint64_t synth_image_key(const struct synth_config *c, long image)
{
    long first_pretrain = c->train_images + c->test_images;
    /* Pretraining-only images draw from keys no pool or test image can have, whatever the counts. */
    return image >= first_pretrain ? SYNTH_PRETRAIN_IMAGE_KEY + (uint64_t)(image - first_pretrain) : (uint64_t)image;
}

void synth_scene(const struct synth_config *c, long image, struct synth_scene *s)
{
    struct synth_rng r;
    synth_rng_seed(&r, c->seed, RNG_SCENE, synth_image_key(c, image));
    memset(s, 0, sizeof *s);
    s->width = synth_rng_below(&r, 2) ? 640 : 480;
    s->height = synth_rng_below(&r, 2) ? 480 : 360;
    if (image == synth_blank_image(c))
        return;
    int want = (int)synth_rng_between(&r, SYNTH_MIN_OBJECTS, SYNTH_MAX_OBJECTS);
    float unit = (float)(s->width < s->height ? s->width : s->height);
    /* Place objects without heavy overlap; an object that finds no room after many tries is dropped
     * (the scene keeps at least SYNTH_MIN_OBJECTS, which always fit). */
    for (int tries = 0; s->n < want && tries < 400; tries++) {
        struct synth_object o;
        o.attr[ATTR_SIZE] = (int)synth_rng_below(&r, SYNTH_SIZES);
        o.attr[ATTR_COLOR] = (int)synth_rng_below(&r, SYNTH_COLORS);
        o.attr[ATTR_MATERIAL] = (int)synth_rng_below(&r, SYNTH_MATERIALS);
        o.attr[ATTR_SHAPE] = (int)synth_rng_below(&r, SYNTH_SHAPES);
        float half = unit * (o.attr[ATTR_SIZE] ? 0.11f : 0.065f);
        float hw = half * shape_aspect[o.attr[ATTR_SHAPE]][0], hh = half * shape_aspect[o.attr[ATTR_SHAPE]][1];
        o.cx = hw + (float)synth_rng_uniform(&r) * ((float)s->width - 2 * hw);
        o.cy = hh + (float)synth_rng_uniform(&r) * ((float)s->height - 2 * hh);
        int ok = 1;
        for (int j = 0; j < s->n && ok; j++) {
            const struct synth_object *p = &s->obj[j];
            float dx = fabsf(o.cx - p->cx), dy = fabsf(o.cy - p->cy);
            float rx = hw + (p->box[2] - p->box[0]) / 2, ry = hh + (p->box[3] - p->box[1]) / 2;
            if (dx < 0.8f * rx && dy < 0.8f * ry)
                ok = 0;
        }
        if (!ok)
            continue;
        o.box[0] = o.cx - hw;
        o.box[1] = o.cy - hh;
        o.box[2] = o.cx + hw;
        o.box[3] = o.cy + hh;
        s->obj[s->n++] = o;
        if (s->n < SYNTH_MIN_OBJECTS)
            tries = 0;
    }
}

/* Clips a box to the image and keeps it at least 2 pixels wide and high. */
static void clip_box(float b[4], int w, int h)
{
    b[0] = clampf(b[0], 0, (float)w - 2);
    b[1] = clampf(b[1], 0, (float)h - 2);
    b[2] = clampf(b[2], b[0] + 2, (float)w);
    b[3] = clampf(b[3], b[1] + 2, (float)h);
}

static int by_confidence(const void *a, const void *b)
{
    const struct synth_region *x = a, *y = b;
    if (x->conf != y->conf)
        return x->conf < y->conf ? 1 : -1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

void synth_regions(const struct synth_config *c, long image, const struct synth_scene *s,
                   struct synth_region r[SYNTH_REGIONS])
{
    struct synth_rng g;
    synth_rng_seed(&g, c->seed, RNG_REGIONS, synth_image_key(c, image));
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const float *ob = s->obj[i].box;
        float w = ob[2] - ob[0], h = ob[3] - ob[1];
        struct synth_region *x = &r[n++];
        x->kind = REGION_OBJECT;
        x->object = i;
        x->bg_class = 0;
        for (int k = 0; k < 4; k++) /* a tight box, a few percent off */
            x->box[k] = ob[k] + (float)((synth_rng_uniform(&g) - 0.5) * 0.06) * (k % 2 ? h : w);
        x->conf = 0.85f + 0.14f * (float)synth_rng_uniform(&g);
    }
    /* Duplicates (looser boxes of the same object) and partial boxes of about half the objects each. */
    for (int i = 0; i < s->n && n < SYNTH_REGIONS; i++) {
        const float *ob = s->obj[i].box;
        float w = ob[2] - ob[0], h = ob[3] - ob[1];
        if (synth_rng_uniform(&g) < 0.5) {
            struct synth_region *x = &r[n++];
            x->kind = REGION_DUPLICATE;
            x->object = i;
            x->bg_class = 0;
            for (int k = 0; k < 4; k++)
                x->box[k] = ob[k] + (float)((synth_rng_uniform(&g) - 0.5) * 0.3) * (k % 2 ? h : w);
            x->conf = 0.6f + 0.25f * (float)synth_rng_uniform(&g);
        }
        if (n < SYNTH_REGIONS && synth_rng_uniform(&g) < 0.5) {
            struct synth_region *x = &r[n++];
            float fw = 0.4f + 0.3f * (float)synth_rng_uniform(&g), fh = 0.4f + 0.3f * (float)synth_rng_uniform(&g);
            float x0 = ob[0] + (float)synth_rng_uniform(&g) * (1 - fw) * w, y0 = ob[1] + (float)synth_rng_uniform(&g) * (1 - fh) * h;
            x->kind = REGION_PARTIAL;
            x->object = i;
            x->bg_class = 0;
            x->box[0] = x0;
            x->box[1] = y0;
            x->box[2] = x0 + fw * w;
            x->box[3] = y0 + fh * h;
            x->conf = 0.4f + 0.3f * (float)synth_rng_uniform(&g);
        }
    }
    /* Background boxes fill the rest, as a detector's low-scoring proposals do. */
    while (n < SYNTH_REGIONS) {
        struct synth_region *x = &r[n++];
        float bw = (0.1f + 0.4f * (float)synth_rng_uniform(&g)) * (float)s->width;
        float bh = (0.1f + 0.4f * (float)synth_rng_uniform(&g)) * (float)s->height;
        x->kind = REGION_BACKGROUND;
        x->object = -1;
        x->bg_class = (int)synth_rng_below(&g, 4);
        x->box[0] = (float)synth_rng_uniform(&g) * ((float)s->width - bw);
        x->box[1] = (float)synth_rng_uniform(&g) * ((float)s->height - bh);
        x->box[2] = x->box[0] + bw;
        x->box[3] = x->box[1] + bh;
        x->conf = 0.05f + 0.35f * (float)synth_rng_uniform(&g);
    }
    for (int i = 0; i < SYNTH_REGIONS; i++)
        clip_box(r[i].box, s->width, s->height);
    qsort(r, SYNTH_REGIONS, sizeof *r, by_confidence);
}

void synth_region_attributes(const struct synth_scene *s, const struct synth_region *r, float a[SYNTH_ATTRS])
{
    memset(a, 0, SYNTH_ATTRS * sizeof *a);
    static const float visibility[] = {[REGION_OBJECT] = 1.0f, [REGION_DUPLICATE] = 0.8f,
                                       [REGION_PARTIAL] = 0.5f, [REGION_BACKGROUND] = 0.0f};
    float v = visibility[r->kind];
    if (r->object >= 0) {
        const struct synth_object *o = &s->obj[r->object];
        a[o->attr[ATTR_COLOR]] = v;                                            /* 0..7 */
        a[SYNTH_COLORS + o->attr[ATTR_SHAPE]] = v;                             /* 8..11 */
        a[SYNTH_COLORS + SYNTH_SHAPES + o->attr[ATTR_MATERIAL]] = v;           /* 12..13 */
        a[SYNTH_COLORS + SYNTH_SHAPES + SYNTH_MATERIALS + o->attr[ATTR_SIZE]] = v; /* 14..15 */
    } else {
        a[17 + r->bg_class] = 1.0f; /* 17..20: what the background is (floor, wall, ...) */
    }
    a[16] = v; /* objectness */
    float w = (float)s->width, h = (float)s->height;
    float bw = (r->box[2] - r->box[0]) / w, bh = (r->box[3] - r->box[1]) / h;
    a[21] = r->box[0] / w;
    a[22] = r->box[1] / h;
    a[23] = r->box[2] / w;
    a[24] = r->box[3] / h;
    a[25] = bw;
    a[26] = bh;
    a[27] = sqrtf(bw * bh);
    a[28] = 1.0f; /* bias */
}

void synth_detector_init(struct synth_detector *d, const struct synth_config *c)
{
    struct synth_rng r;
    synth_rng_seed(&r, c->seed, RNG_DETECTOR, 0);
    d->dim = c->feature_dim;
    d->noise = c->feature_noise;
    d->w = xmalloc((size_t)d->dim * SYNTH_ATTRS * sizeof *d->w);
    for (long i = 0; i < (long)d->dim * SYNTH_ATTRS; i++)
        d->w[i] = (float)synth_rng_normal(&r);
}

void synth_detector_free(struct synth_detector *d)
{
    free(d->w);
    d->w = NULL;
}

void synth_detector_run(const struct synth_detector *d, const struct synth_config *c, long image,
                        const struct synth_scene *s, const struct synth_region r[SYNTH_REGIONS], float *out)
{
    struct synth_rng noise;
    synth_rng_seed(&noise, c->seed, RNG_FEATURE_NOISE, synth_image_key(c, image));
    for (int i = 0; i < SYNTH_REGIONS; i++) {
        float a[SYNTH_ATTRS];
        synth_region_attributes(s, &r[i], a);
        float *f = out + (long)i * d->dim; /* [dim] */
        for (int j = 0; j < d->dim; j++) {
            const float *w = d->w + (long)j * SYNTH_ATTRS;
            float v = 0;
            for (int k = 0; k < SYNTH_ATTRS; k++)
                v += w[k] * a[k];
            v += (float)(d->noise * synth_rng_normal(&noise));
            f[j] = v > 0 ? v : 0;
        }
    }
}

long synth_n_images(const struct synth_config *c)
{
    return c->train_images + c->test_images + c->pretrain_images + (c->language_pairs > 0);
}

long synth_blank_image(const struct synth_config *c)
{
    return c->language_pairs > 0 ? synth_n_images(c) - 1 : -1;
}
