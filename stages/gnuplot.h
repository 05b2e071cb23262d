/* Rendering a plot with gnuplot (aggregate, analyze): the stages write a data file and a script next to
 * the images, then run the script.  A missing or failing gnuplot is not an error of the stage: the
 * caller warns and goes on without the images. */
#ifndef MIXPHM_STAGES_GNUPLOT_H
#define MIXPHM_STAGES_GNUPLOT_H

#include "base/err.h"

/* Runs `gnuplot SCRIPT` in `dir`; -1 with what gnuplot said (or "not found") and how to redo it. */
int gnuplot_run(const char *dir, const char *script, struct err *e);

#include <stdio.h>

/* Writes s as a gnuplot double-quoted string (titles may hold spaces, so they are never split into
 * words). */
void gnuplot_string(FILE *f, const char *s);

/* Every plot is rendered in these formats: PNG and SVG for the Markdown reports, PDF for LaTeX. */
#define GNUPLOT_FORMATS 3
extern const char *const gnuplot_extensions[GNUPLOT_FORMATS]; /* "png", "svg", "pdf" */
/* The script's lines that switch to format `format` for an image of width x height pixels (the PDF at
 * 100 pixels to the inch) written to "STEM.EXT" (with `suffix` after it, e.g. ".tmp"). */
void gnuplot_output(FILE *f, int format, int width, int height, const char *stem, const char *suffix);

/* The key of a plot of n_series lines: right of the axes for up to GNUPLOT_KEY_RIGHT_MAX of them, in
 * rows of GNUPLOT_KEY_COLUMNS under the axes for more (a key at the right would leave the axes a sliver
 * of the image).  Writes the key's `set key` line; returns the image height that keeps the axes
 * base_height high. */
#define GNUPLOT_KEY_RIGHT_MAX 12
#define GNUPLOT_KEY_COLUMNS 3
#define GNUPLOT_KEY_ROW_PX 18
int gnuplot_key(FILE *f, int n_series, int base_height);

#endif
