/* The built-in synthetic benchmark (docs/synthetic.md): scenes of 3-10 objects, a frozen "detector"
 * that returns 36 regions per image with features, VQA questions with 10 noisy annotator answers, and
 * a span-corruption pretraining corpus of scene descriptions.  Everything is a function of the seed
 * and the item's index: image 17's scene does not depend on how many images or questions there are.
 *
 * synth_write() writes it all in the real datasets' file formats (VQA question and annotation files,
 * LXMERT-style split files, a VL-T5-layout detector file, a word list as the tokenizer's model), and
 * prepare reads those files back through the same readers as VQA v2. */
#ifndef MIXPHM_DATA_SYNTH_H
#define MIXPHM_DATA_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "data/synth_rng.h"

#define SYNTH_COLORS 8
#define SYNTH_SHAPES 4
#define SYNTH_MATERIALS 2
#define SYNTH_SIZES 2
#define SYNTH_MIN_OBJECTS 3
#define SYNTH_MAX_OBJECTS 10
#define SYNTH_REGIONS 36
#define SYNTH_ATTRS 29 /* length of a region's attribute vector (synth_region_attributes) */
#define SYNTH_ANNOTATORS 10
#define SYNTH_TEXT_MAX 192
#define SYNTH_ANSWER_MAX 24

extern const char *const synth_color_names[SYNTH_COLORS];
extern const char *const synth_shape_names[SYNTH_SHAPES];
extern const char *const synth_shape_plurals[SYNTH_SHAPES];
extern const char *const synth_material_names[SYNTH_MATERIALS];
extern const char *const synth_size_names[SYNTH_SIZES];

struct synth_config {
    uint64_t seed;
    long train_images, test_images; /* the pool's images come first, then the test images */
    long pool_questions, test_questions;
    long pretrain_pairs;
    long pretrain_images; /* images only the pretraining corpus describes, after the test images */
    int image_text_match; /* 1: the corpus has a third objective, image-text matching */
    int language;         /* 1: the language corpus's words are in the vocabulary */
    long language_pairs;  /* text-only question-answer pairs of the language corpus (needs language) */
    int language_thing_order; /* 1: half its order questions are about things ("is the red cup left of ...") */
    int feature_dim;
    double feature_noise;   /* standard deviation of the detector's noise */
    double annotator_error; /* probability that an annotator answers wrongly */
    double variant_rate;    /* probability that an answer is typed in a surface variant ("Two", "a cube") */
};

/* Attribute order in descriptors: size, color, material, shape (as in "large red metal cube"). */
enum synth_attr { ATTR_SIZE, ATTR_COLOR, ATTR_MATERIAL, ATTR_SHAPE, SYNTH_N_ATTR };

struct synth_object {
    int attr[SYNTH_N_ATTR];
    float box[4]; /* x1, y1, x2, y2 in pixels */
    float cx, cy;
};

struct synth_scene {
    int width, height;
    int n;
    struct synth_object obj[SYNTH_MAX_OBJECTS];
};

enum synth_region_kind { REGION_OBJECT, REGION_DUPLICATE, REGION_PARTIAL, REGION_BACKGROUND };

struct synth_region {
    int kind;
    int object;   /* the object it shows, -1 for background */
    int bg_class; /* 0..3 for background regions */
    float box[4]; /* pixels, inside the image */
    float conf;   /* the detector's score; regions come sorted by it */
};

/* Image rows: the pool's [0, train_images), the test set's [train_images, + test_images), then the
 * pretraining-only images [train_images + test_images, + pretrain_images), then, when the corpus has
 * language pairs, one blank image (no objects: background regions only) that they come with. */
long synth_n_images(const struct synth_config *c);
/* The blank image's row (synth_n_images - 1 when there are language pairs), -1 without them. */
long synth_blank_image(const struct synth_config *c);
/* The key an image's random draws are seeded with: its row for pool and test images, and
 * SYNTH_PRETRAIN_IMAGE_KEY + j for pretraining image j, so that those never repeat a pool or test
 * scene, and pretraining image j is the same whatever the other counts. */
#define SYNTH_PRETRAIN_IMAGE_KEY (1ULL << 40)
uint64_t synth_image_key(const struct synth_config *c, long image);
/* Image `image` (a row as above). */
void synth_scene(const struct synth_config *c, long image, struct synth_scene *s);
/* The 36 regions the detector returns for it, sorted by confidence. */
void synth_regions(const struct synth_config *c, long image, const struct synth_scene *s,
                   struct synth_region r[SYNTH_REGIONS]);
/* The attribute vector a region's feature is projected from (docs/synthetic.md). */
void synth_region_attributes(const struct synth_scene *s, const struct synth_region *r, float a[SYNTH_ATTRS]);

/* The frozen detector: feature = ReLU(W a + noise), W fixed by the seed. */
struct synth_detector {
    int dim;
    float *w; /* [dim, SYNTH_ATTRS] */
    double noise;
};
void synth_detector_init(struct synth_detector *d, const struct synth_config *c);
void synth_detector_free(struct synth_detector *d);
/* Features of all regions of image `image`: out [SYNTH_REGIONS, dim]. */
void synth_detector_run(const struct synth_detector *d, const struct synth_config *c, long image,
                        const struct synth_scene *s, const struct synth_region r[SYNTH_REGIONS], float *out);

/* A question with its answers. */
struct synth_question {
    long image;
    char text[SYNTH_TEXT_MAX];
    const char *qtype;                                    /* "what color is the", "how many", ... */
    const char *atype;                                    /* "yes/no", "number", "other" */
    char answer[SYNTH_ANSWER_MAX];                        /* the correct answer, canonical */
    char typed[SYNTH_ANNOTATORS][SYNTH_ANSWER_MAX];       /* what each annotator typed */
    char canonical[SYNTH_ANNOTATORS][SYNTH_ANSWER_MAX];   /* what each annotator meant */
    int confidence[SYNTH_ANNOTATORS];                     /* enum answer_confidence */
};

/* Question `index` of the pool (test = 0) or of the test set (test = 1), about scene `s` of image
 * q->image (synth_question_image gives it). */
long synth_question_image(const struct synth_config *c, int test, long index);
void synth_question(const struct synth_config *c, int test, long index, const struct synth_scene *s,
                    struct synth_question *q);

/* A caption of scene `s`: one or two sentences, words and marks separated by single spaces, true of the
 * scene and never a question (docs/synthetic.md lists its kinds). */
#define SYNTH_CAPTION_MAX 512
void synth_caption(const struct synth_scene *s, struct synth_rng *r, char *out, size_t n);

/* A statement about scene `s` that is true (truth = 1) or false (0): a caption of the kinds that one
 * changed value makes false (an attribute, a count, existence, a comparison, a relation), false by
 * exactly that change. */
void synth_statement(const struct synth_scene *s, struct synth_rng *r, int truth, char *out, size_t n);

/* Pretraining pair `index`, of pool or pretraining image index / m, and its objective by index % m,
 * where m is 2, or 3 with image_text_match: 0, T5 span corruption of a caption (spans replaced by
 * <extra_id_k>, the target lists them); 1, prefix language modelling of the same caption (as FewVLM
 * trains both on every caption: input the first words, target the rest); 2, image-text matching (as
 * in VL-T5's pretraining): a true or false statement, half and half, then <extra_id_0>, and the target
 * "<extra_id_0> yes <extra_id_1>" or "... no ...". */
enum synth_objective { SYNTH_SPAN_CORRUPTION, SYNTH_PREFIX_LM, SYNTH_IMAGE_TEXT_MATCH, SYNTH_LANGUAGE_QA };
struct synth_pair {
    long image;
    int objective;                  /* enum synth_objective */
    char caption[SYNTH_CAPTION_MAX]; /* the text before the objective (the statement, for matching) */
    char input[SYNTH_CAPTION_MAX + 256];
    char target[SYNTH_CAPTION_MAX + 256];
};
void synth_pair(const struct synth_config *c, long index, struct synth_pair *p);

/* Language pair `index` (data/synth_language.c): a passage about people and their things (never a
 * scene), a question about it under the fewvlm prompt, "<passage> question: <q> answer: <extra_id_0>",
 * and the target "<extra_id_0> <answer> <extra_id_1>"; a third come without the passage. Its image is
 * the blank one, and p->caption holds the passage either way. */
void synth_language_pair(const struct synth_config *c, long index, struct synth_pair *p);
/* Pair `row` of pretrain.json: the pretrain_pairs caption pairs and the language_pairs language pairs,
 * interleaved evenly in a fixed order, so that every window of the corpus holds both. */
void synth_corpus_pair(const struct synth_config *c, long row, struct synth_pair *p);
/* The words the language corpus adds to the vocabulary. */
const char *const *synth_language_words(int *n);

/* Every word the scene generator can write: the synthetic tokenizer's vocabulary (after <pad> </s>
 * <unk>); with data.synthetic.language the words of synth_language_words follow them. */
const char *const *synth_words(int *n);

/* Writes the benchmark's files into `dir` (made if missing); docs/synthetic.md lists them. */
int synth_write(const struct synth_config *c, const char *dir, struct err *e);

#endif
