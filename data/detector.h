/* The detector's output files: one HDF5 group per image with 36 region features and boxes, in the
 * VL-T5 layout (group = img_id, img_h / img_w) or MixPHM's COCO layout (group = the numeric COCO id,
 * img_hw); docs/data.md, "Detector files".  Reading an image gives its features and its boxes
 * normalised to [0, 1] exactly as the original loaders do. */
#ifndef MIXPHM_DATA_DETECTOR_H
#define MIXPHM_DATA_DETECTOR_H

#include <hdf5.h>
#include <stdint.h>

#include "base/err.h"
#include "base/fileio.h"
#include "data/prepared.h"

#define N_REGIONS 36 /* every loader hard-codes 36 boxes per image */

struct detector_file {
    hid_t file;
    char path[PATH_MAX_LEN];
    int layout; /* enum detector_layout */
};

int detector_open(struct detector_file *d, const char *path, int layout, struct err *e);
void detector_close(struct detector_file *d);
/* Finds which layout holds image `img_id`: its group is `img_id` (VL-T5) or its number (COCO).  An
 * image in neither is an error naming the file and the image. */
int detector_detect_layout(hid_t file, const char *path, const char *img_id, int *layout, struct err *e);
/* The group name of an image under a layout. */
void detector_group_name(int layout, const char *img_id, char *out, size_t n);
/* 1 when the file has the image's group. */
int detector_has(const struct detector_file *d, const char *img_id);
/* The feature dimension of an image ([36, dim] features). */
int detector_feature_dim(const struct detector_file *d, const char *img_id, int *dim, struct err *e);
/* Reads an image: features [36, dim] as float32 and boxes [36, 4] normalised and clamped (docs/data.md,
 * "Box normalisation"); hw = (height, width).  A wrong shape or a box outside its image is an error
 * naming the image. */
int detector_read(const struct detector_file *d, const char *img_id, int dim, float *features, float *boxes,
                  int64_t hw[2], struct err *e);

/* Box normalisation on boxes [n, 4] (x1, y1, x2, y2 in pixels, as float32): divide columns 0 and 2 by the
 * width and 1 and 3 by the height in float32, refuse values >= 1 + 1e-5 or <= -1e-5, clamp to [0, 1].
 * `what` names the image in the error. */
int boxes_normalize_f32(float *boxes, int n, double width, double height, const char *what, struct err *e);
/* The same for boxes stored as float64 (divided in double, then rounded to float32). */
int boxes_normalize_f64(const double *in, float *out, int n, double width, double height, const char *what,
                        struct err *e);

#endif
