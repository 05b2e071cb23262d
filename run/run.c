#include "run/run.h"

#include <stdio.h>
#include <string.h>

int run_output(struct run *r, const char *relpath)
{
    if (r->n_outputs >= STAMP_MAX_ITEMS || strlen(relpath) >= STAMP_PATH_MAX)
        return err_set(&r->err, "too many outputs (or too long a name) for one stage: %s", relpath);
    snprintf(r->outputs[r->n_outputs++], STAMP_PATH_MAX, "%s", relpath);
    return 0;
}

int run_provide(struct run *r, const char *name, const char digest[HASH_HEX_LEN])
{
    if (r->n_provides >= STAMP_MAX_ITEMS || strlen(name) >= STAMP_NAME_MAX)
        return err_set(&r->err, "too many provides for one stage: %s", name);
    snprintf(r->provides[r->n_provides].name, STAMP_NAME_MAX, "%s", name);
    snprintf(r->provides[r->n_provides].id, HASH_HEX_LEN, "%s", digest);
    r->n_provides++;
    return 0;
}

int run_path(struct run *r, const char *rel, char *out, size_t n)
{
    return path_join(out, n, r->dir, rel, &r->err);
}
