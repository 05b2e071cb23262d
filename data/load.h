/* Which files make a dataset, and reading them all into a struct vqa_data: the k-shot pool's split
 * files, the test split files, the official annotation and question files, the pretraining corpus, the
 * detector files of the pool's and the test set's images.  The stage fills a data_spec from the
 * configuration (stages/prepare.c); the synthetic benchmark fills it with the files it wrote. */
#ifndef MIXPHM_DATA_LOAD_H
#define MIXPHM_DATA_LOAD_H

#include <stdint.h>

#include "base/err.h"
#include "base/fileio.h"
#include "data/dataset.h"
#include "base/strtab.h"

struct data_spec {
    char name[32];          /* synthetic, vqav2, gqa, okvqa */
    int ids_are_strings;    /* GQA */
    int answer_max_len;     /* ANSWER_MAX_TOKENS, or 0 for no truncation (GQA) */
    struct strtab pool;     /* split files of the k-shot pool, read in order */
    struct strtab test;     /* split files of the test set */
    struct strtab annotations; /* official annotation files (raw answers); may be empty */
    struct strtab questions;   /* official question files (checked against the split files); may be empty */
    char pretrain[PATH_MAX_LEN];      /* pretraining pairs; "" for none */
    char pool_features[PATH_MAX_LEN]; /* detector file of the pool's images */
    char test_features[PATH_MAX_LEN]; /* detector file of the test images */
    int tokenizer_kind;               /* enum tokenizer_kind */
    char tokenizer[PATH_MAX_LEN];     /* its model file */
};

void data_spec_free(struct data_spec *s);
/* Adds the comma-separated file names of `list`, each joined to `root` unless absolute. */
int data_spec_add_files(struct strtab *files, const char *root, const char *list, const char *key, struct err *e);
/* `name` joined to root unless absolute. */
int data_spec_path(char *out, size_t n, const char *root, const char *name, struct err *e);

/* Reads every file of the spec; checks that test questions have raw answers (when annotation files are
 * given) and that the question files agree.  The dataset must be freed even on error. */
int dataset_load(const struct data_spec *s, struct vqa_data *ds, struct err *e);
/* Checks that every image is in its detector file, and finds each file's layout (file_layout[ds->files.n]). */
int dataset_check_images(const struct vqa_data *ds, int8_t *file_layout, struct err *e);

#endif
