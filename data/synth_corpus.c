/* The pretraining corpus (captions of the scenes, data/synth_captions.c, under FewVLM's two objectives,
 * T5 span corruption and prefix language modelling, and VL-T5's image-text matching over true and
 * false statements) and the word list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "data/synth.h"

/* Every word the generator writes, in a fixed order: ids 3.. of the synthetic tokenizer. */
static const char *const words[] = {
    /* punctuation and the task prompts (data/prompt.h) */
    "vqa", ":", "?", "!", ".", ",", "question", "answer",
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
    /* captions */
    "in", "has", "shaped", "like", "material", "image", "shows", "contains", "number", "total", "top",
    "bottom", "fewer", "as", "not",
};

const char *const *synth_words(int *n)
{
    *n = (int)(sizeof words / sizeof words[0]);
    return words;
}

/* Appends a word, after a space unless `out` is empty. */
static void append_word(char *out, size_t n, const char *s)
{
    strbuf_appendf(out, n, "%s%s", out[0] ? " " : "", s);
}

/* T5 span corruption: about 15% of the words, in spans of 1-3 words, become <extra_id_k> in the input;
 * the target lists each span after its sentinel and ends with one more sentinel. */
static void corrupt(const char *text, struct synth_rng *r, char *input, char *target, size_t n)
{
    char buf[SYNTH_CAPTION_MAX], *w[256];
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
        for (int k = start; k < start + len; k++) /* words only: a sentinel never stands for punctuation */
            if (strchr(".,:", w[k][0]) && !w[k][1])
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
            append_word(input, n, w[i]);
            continue;
        }
        if (i == 0 || !masked[i - 1]) {
            char s[24];
            snprintf(s, sizeof s, "<extra_id_%d>", sentinel++);
            append_word(input, n, s);
            append_word(target, n, s);
        }
        append_word(target, n, w[i]);
    }
    char s[24];
    snprintf(s, sizeof s, "<extra_id_%d>", sentinel);
    append_word(target, n, s);
}

/* FewVLM's prefix language modelling: the first 1..n-1 words are the input, the rest the target. */
static void split_prefix(const char *text, struct synth_rng *r, char *input, char *target, size_t n)
{
    int nw = 1;
    for (const char *p = text; *p; p++)
        nw += *p == ' ';
    int cut = nw > 1 ? (int)synth_rng_between(r, 1, nw - 1) : nw;
    const char *p = text;
    for (int spaces = 0; *p && !(*p == ' ' && ++spaces == cut); p++)
        ;
    size_t len = (size_t)(p - text) < n ? (size_t)(p - text) : n - 1; /* p: the space before the target */
    memcpy(input, text, len);
    input[len] = '\0';
    snprintf(target, n, "%s", *p ? p + 1 : p);
}

void synth_corpus_pair(const struct synth_config *c, long row, struct synth_pair *p)
{
    /* Row t holds language pair floor((t + 1) L / (P + L)) - 1 when that count steps, else the next
     * caption pair: the L language pairs spread evenly over the P + L rows. */
    const long P = c->pretrain_pairs, L = c->language_pairs, n = P + L;
    long lang_before = n ? (long)((double)row * (double)L / (double)n) : 0;
    long lang_upto = n ? (long)((double)(row + 1) * (double)L / (double)n) : 0;
    if (lang_upto > lang_before)
        synth_language_pair(c, lang_before, p);
    else
        synth_pair(c, row - lang_before, p);
}

void synth_pair(const struct synth_config *c, long index, struct synth_pair *p)
{
    /* Pairs 2i and 2i + 1 share caption i (its image and text); with image-text matching, pairs 3i,
     * 3i + 1 and 3i + 2 share image i, the first two its caption, and the third draws a statement. */
    int objectives = c->image_text_match ? 3 : 2;
    struct synth_rng r, o;
    synth_rng_seed(&r, c->seed, RNG_PRETRAIN, (uint64_t)(index / objectives));
    synth_rng_seed(&o, c->seed, RNG_PRETRAIN_OBJECTIVE, (uint64_t)index);
    long pick = synth_rng_below(&r, c->train_images + c->pretrain_images);
    /* pool images, then the pretraining-only ones (after the test images): never a test image */
    p->image = pick < c->train_images ? pick : c->test_images + pick;
    struct synth_scene s;
    synth_scene(c, p->image, &s);
    p->objective = (int)(index % objectives);
    int truth = 1;
    if (p->objective == SYNTH_IMAGE_TEXT_MATCH) {
        truth = synth_rng_below(&o, 2) == 0;
        synth_statement(&s, &o, truth, p->caption, sizeof p->caption);
    } else {
        synth_caption(&s, &r, p->caption, sizeof p->caption);
    }
    /* The objectives see the caption without its final period, so that a sentinel at the end of an
     * input stands for the caption's last words (as the answer's sentinel ends the fewvlm prompt),
     * never for the period. */
    char text[SYNTH_CAPTION_MAX];
    snprintf(text, sizeof text, "%s", p->caption);
    size_t len = strlen(text);
    if (len >= 2 && !strcmp(text + len - 2, " ."))
        text[len - 2] = '\0';
    if (p->objective == SYNTH_SPAN_CORRUPTION) {
        corrupt(text, &o, p->input, p->target, sizeof p->input);
    } else if (p->objective == SYNTH_PREFIX_LM) {
        split_prefix(text, &o, p->input, p->target, sizeof p->input);
    } else {
        /* VL-T5's image-text matching as a fill-in: the statement, then a sentinel whose span says
         * whether the statement holds of the image. */
        snprintf(p->input, sizeof p->input, "%s <extra_id_0>", text);
        snprintf(p->target, sizeof p->target, "<extra_id_0> %s <extra_id_1>", truth ? "yes" : "no");
    }
}
