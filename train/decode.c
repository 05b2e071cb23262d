#include "train/decode.h"

#include <stdlib.h>

#include "base/mem.h"

int decode_rows(struct model_ctx *mc, const struct prepared *p, const struct tokenizer *tok, const struct image_cache *c,
                struct batch_buf *buf, const int32_t *rows, long n, int batch, int max_new, char **preds,
                struct err *e)
{
    int32_t *out = xmalloc((size_t)batch * (size_t)max_new * sizeof *out); /* [batch, max_new] */
    int *lengths = xmalloc((size_t)batch * sizeof *lengths);                /* [batch] */
    int rc = 0;
    for (long start = 0; start < n && rc == 0; start += batch) {
        int B = (int)(n - start < batch ? n - start : batch);
        struct vlt5_batch b;
        rc = batch_vqa(&b, buf, p, c, rows + start, B, 0, B, 0, 0, 0, e);
        if (rc != 0)
            break;
        b.train = 0;
        rc = vlt5_generate(&mc->model, &b, max_new, out, lengths, e);
        for (int i = 0; rc == 0 && i < B; i++)
            preds[start + i] = tokenizer_decode(tok, out + (size_t)i * (size_t)max_new, lengths[i]);
    }
    free(out);
    free(lengths);
    return rc;
}
