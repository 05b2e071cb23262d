/* Reading the datasets' JSON files with jansson, with messages that name the file, the entry and the
 * field: "train.json: entry 17 (question_id 262148000): 'sent' should be a string, got a number". */
#ifndef MIXPHM_DATA_JSON_IN_H
#define MIXPHM_DATA_JSON_IN_H

#include <jansson.h>

#include "base/err.h"

/* Parses a whole file.  A missing file or malformed JSON is an error naming the file (and the line and
 * column for malformed JSON).  Caller json_decref()s. */
json_t *json_in_load(const char *path, struct err *e);
/* "an object", "an array", "a string", ... for messages. */
const char *json_in_kind(const json_t *v);

/* `v` must be an array: returns it, or NULL with "FILE: WHAT should be an array, got ...". */
json_t *json_in_expect_array(json_t *v, const char *file, const char *what, struct err *e);
/* Field `key` of object `obj` (the entry described by `item`), of jansson type `type`
 * (JSON_STRING, JSON_OBJECT, JSON_ARRAY; JSON_INTEGER; JSON_REAL accepts any number).  A missing field
 * is an error when `required`, else NULL is returned with no error (check e->msg[0]). */
json_t *json_in_field(json_t *obj, const char *key, json_type type, int required, const char *file,
                      const char *item, struct err *e);
/* A number (integer or real) as double. */
double json_in_number(const json_t *v);

#endif
