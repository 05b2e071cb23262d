#include "data/json_in.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* json_load_callback's reader: whole buffers through fread (json_loadf reads one byte at a time, which
 * makes the 170 MB of VQA v2's val2014 annotations several times slower to load). */
static size_t read_chunk(void *buffer, size_t size, void *data)
{
    FILE *f = data;
    size_t got = fread(buffer, 1, size, f);
    return got == 0 && ferror(f) ? (size_t)-1 : got;
}

json_t *json_in_load(const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_errno(e, errno, "cannot read '%s'", path);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_load_callback(read_chunk, f, 0, &je);
    int read_error = ferror(f);
    fclose(f);
    if (!root) {
        if (read_error)
            err_set(e, "cannot read '%s': read error", path);
        else if (je.line > 0)
            err_set(e, "%s:%d:%d: malformed JSON: %s", path, je.line, je.column, je.text);
        else
            err_set(e, "%s: malformed JSON: %s", path, je.text);
    }
    return root;
}

const char *json_in_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

json_t *json_in_expect_array(json_t *v, const char *file, const char *what, struct err *e)
{
    if (!json_is_array(v)) {
        err_set(e, "%s: %s should be an array, got %s", file, what, json_in_kind(v));
        return NULL;
    }
    return v;
}

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    default: return "a value";
    }
}

json_t *json_in_field(json_t *obj, const char *key, json_type type, int required, const char *file,
                      const char *item, struct err *e)
{
    e->msg[0] = '\0';
    if (!json_is_object(obj)) {
        err_set(e, "%s: %s should be an object, got %s", file, item, json_in_kind(obj));
        return NULL;
    }
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            err_set(e, "%s: %s: the field '%s' is missing", file, item, key);
        return NULL;
    }
    int ok = type == JSON_REAL ? json_is_number(v) : json_typeof(v) == type;
    if (!ok) {
        err_set(e, "%s: %s: '%s' should be %s, got %s", file, item, key, type_name(type), json_in_kind(v));
        return NULL;
    }
    return v;
}

double json_in_number(const json_t *v)
{
    return json_number_value(v);
}
