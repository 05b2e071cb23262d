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

#endif
