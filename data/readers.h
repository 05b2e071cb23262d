/* Readers of the real datasets' files (docs/data.md, "The files a dataset is read from"), all through jansson:
 *   - split files in the VL-T5/LXMERT layout: a JSON array of {question_id, img_id, sent, label, ...}
 *     (VQA v2 train/minival/nominival, GQA train/testdev, OK-VQA train/val, the synthetic benchmark);
 *   - official VQA-format annotation files: the 10 raw answers and the question/answer types;
 *   - official VQA-format question files: checked against the split files (image ids, text).
 * Every error names the file and the entry, and the field or id that is wrong. */
#ifndef MIXPHM_DATA_READERS_H
#define MIXPHM_DATA_READERS_H

#include "base/err.h"
#include "data/dataset.h"

/* Appends the entries of split file `path` as questions of `source` (SRC_POOL or SRC_TEST) whose
 * images are read from detector file `features`. */
int read_split_file(struct vqa_data *ds, const char *path, int source, const char *features, struct err *e);
/* Attaches the raw answers and the types of the annotation records whose question is in `ds` (records of
 * other questions are skipped).  A question with two records is an error. */
int read_annotations_file(struct vqa_data *ds, const char *path, struct err *e);
/* Checks the records of an official questions file against `ds`: same image id and same text for every
 * question both hold.  Returns the number of ds's test questions the file holds in *n_test_found. */
int read_questions_file(struct vqa_data *ds, const char *path, long *n_test_found, struct err *e);
/* Every test question must have raw answers once the annotation files (described by `files`) are read. */
int check_test_answers(const struct vqa_data *ds, const char *files, struct err *e);

/* Reads a pretraining corpus: a JSON array of {"img_id", "input", "target"} (span-corruption pairs of
 * the synthetic benchmark) whose images are read from detector file `features`. */
int read_pretrain_file(struct vqa_data *ds, const char *path, const char *features, struct err *e);

/* The COCO image id inside an img_id such as "COCO_val2014_000000000042" (its trailing digits), or -1. */
long long image_number(const char *img_id);

#endif
