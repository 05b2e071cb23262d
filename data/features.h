/* features.h5: the detector features of every image of prepared.h5, in its image order (layout in
 * docs/data.md):
 *   /features   [n_images, 36, dim]  float32, or IEEE float16 (features.dtype), chunked [c, 36, dim]
 *   /boxes      [n_images, 36, 4]    float32, normalised (x1, y1, x2, y2) in [0, 1], chunked [c, 36, 4]
 *   /image_ids  [n_images]           fixed-length strings, the img_id of each row
 *   /image_hw   [n_images, 2]        int32 (height, width) in pixels
 * with Fletcher32 checksums (features.fletcher32) and optional shuffle + deflate (features.deflate).
 * The model computes the 5th position input (the VL-T5 "area") from the boxes.
 *
 * Reading: any set of rows, or a block, with one hyperslab selection per call.  The file may be opened
 * serially (fapl H5P_DEFAULT) or on a communicator (mpi/phdf5.h: phdf5_fapl), and read independently
 * (dxpl H5P_DEFAULT) or collectively (phdf5_dxpl(1)); half-precision data come back as float32. */
#ifndef MIXPHM_DATA_FEATURES_H
#define MIXPHM_DATA_FEATURES_H

#include <hdf5.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/strtab.h"

#define FEATURES_FORMAT "mixphm-features"
#define FEATURES_VERSION 1
#define FEATURES_ID_MAX 256 /* longest image id, including its NUL */

/* How the datasets are stored (the features.* keys). */
struct features_layout {
    long n_images;
    int dim;
    int half;          /* float16 storage */
    long chunk_images; /* images per chunk; 0: about 1 MiB per chunk */
    int deflate;       /* 0: none, else the level (with the shuffle filter) */
    int fletcher32;
    int projected;     /* the rows are the frozen visual embedding's output (dim = d_model) */
};

/* Images per chunk for a layout (resolving chunk_images = 0), at most n_images. */
long features_chunk_images(const struct features_layout *l);
/* Creates the datasets and the root attributes in an open, empty file (every rank of the file's
 * communicator calls it: creation is collective in parallel HDF5).  `id_len` is the longest image id
 * plus one.  Returns 0 and the dataset ids [features, boxes, image_ids, image_hw]. */
int features_create(hid_t file, const struct features_layout *l, int id_len, const char *images_digest,
                    hid_t ids[4], struct err *e);
/* The in-memory type of the stored features (NATIVE_FLOAT, or the IEEE half type; caller closes). */
hid_t features_file_type(int half);

struct features_file {
    hid_t file, features, boxes;
    char path[PATH_MAX_LEN];
    long n_images;
    int n_regions; /* 36 */
    int dim;
    int half;
    int projected; /* 1 when the frozen visual embedding is already applied (dim = d_model) */
};

int features_open(struct features_file *f, const char *path, hid_t fapl, struct err *e);
void features_close(struct features_file *f);
/* The image ids of every row (a string table of n_images entries). */
int features_image_ids(const struct features_file *f, struct strtab *ids, struct err *e);
/* Rows `rows[0..n-1]` (any order, repeats allowed) into features [n, 36, dim] and boxes [n, 36, 4]
 * (either may be NULL), with one read call per dataset.  Collective with a collective dxpl: every rank
 * calls, n may be 0. */
int features_read_rows(const struct features_file *f, const int64_t *rows, long n, hid_t dxpl, float *features,
                       float *boxes, struct err *e);
/* Rows start .. start + count - 1. */
int features_read_block(const struct features_file *f, long start, long count, hid_t dxpl, float *features,
                        float *boxes, struct err *e);
/* The contiguous block of `n` items that rank `rank` of `size` takes: the first n % size ranks one more. */
void features_block_of(long n, int rank, int size, long *start, long *count);

#endif
