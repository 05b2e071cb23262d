/* A JSON document written as a file: formatted, ending in a newline, never half-written (fileio.h). */
#ifndef MIXPHM_BASE_JSON_FILE_H
#define MIXPHM_BASE_JSON_FILE_H

#include <jansson.h>

#include "base/err.h"

/* Writes `o` (released here, whatever happens) with jansson's json_dumps `flags` and a final newline
 * to `path`, atomically. */
int json_write_file(json_t *o, size_t flags, const char *path, struct err *e);

#endif
