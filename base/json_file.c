#include "base/json_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

int json_write_file(json_t *o, size_t flags, const char *path, struct err *e)
{
    char *text = json_dumps(o, flags);
    json_decref(o);
    if (!text)
        return err_set(e, "cannot format %s as JSON (out of memory?)", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps's text ends without a newline; its NUL becomes one */
    int rc = write_file_atomic(path, text, len + 1, e);
    free(text);
    return rc;
}
