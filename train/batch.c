#include "train/batch.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/vqa_target.h"
#include "nn/rng.h"
#include "nn/xent.h"

/* Counter-RNG stream of the epoch order (other streams: dropout, answer draws, experts). */
#define STREAM_EPOCH_ORDER 0x6f72646572ULL /* "order" */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int image_cache_load(struct image_cache *c, const struct features_file *f, const int32_t *image_rows, long n,
                     long n_images, struct err *e)
{
    memset(c, 0, sizeof *c);
    c->dim = f->dim;
    c->projected = f->projected;
    c->regions = f->n_regions;
    int32_t *sorted = xmalloc((size_t)(n ? n : 1) * sizeof *sorted); /* [n] */
    memcpy(sorted, image_rows, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_i32);
    long u = 0;
    for (long i = 0; i < n; i++)
        if (i == 0 || sorted[i] != sorted[u - 1])
            sorted[u++] = sorted[i];
    c->n = u;
    c->slot = xmalloc((size_t)(n_images ? n_images : 1) * sizeof *c->slot);
    for (long i = 0; i < n_images; i++)
        c->slot[i] = -1;
    int64_t *rows = xmalloc((size_t)(u ? u : 1) * sizeof *rows); /* [u] */
    for (long i = 0; i < u; i++) {
        if (sorted[i] < 0 || sorted[i] >= n_images) {
            err_set(e, "%s: image row %d is outside the file's %ld images (features.h5 and prepared.h5 do "
                       "not belong together)", f->path, (int)sorted[i], n_images);
            free(sorted);
            free(rows);
            image_cache_free(c);
            return -1;
        }
        rows[i] = sorted[i];
        c->slot[sorted[i]] = (int32_t)i;
    }
    size_t per = (size_t)c->regions * (size_t)c->dim;
    c->feats = xmalloc((size_t)(u ? u : 1) * per * sizeof *c->feats);
    c->boxes = xmalloc((size_t)(u ? u : 1) * (size_t)c->regions * 4 * sizeof *c->boxes);
    int rc = features_read_rows(f, rows, u, H5P_DEFAULT, c->feats, c->boxes, e);
    free(sorted);
    free(rows);
    if (rc != 0)
        image_cache_free(c);
    return rc;
}

void image_cache_free(struct image_cache *c)
{
    free(c->feats);
    free(c->boxes);
    free(c->slot);
    memset(c, 0, sizeof *c);
}

void batch_buf_alloc(struct batch_buf *b, int cap_B, int cap_text, int cap_target, const struct image_cache *c)
{
    b->cap_B = cap_B;
    b->cap_text = cap_text;
    b->cap_target = cap_target;
    b->text = xcalloc((size_t)cap_B * (size_t)cap_text, sizeof *b->text);
    b->feats = xcalloc((size_t)cap_B * (size_t)c->regions * (size_t)c->dim, sizeof *b->feats);
    b->boxes = xcalloc((size_t)cap_B * (size_t)c->regions * 4, sizeof *b->boxes);
    b->labels = xcalloc((size_t)cap_B * (size_t)(cap_target ? cap_target : 1), sizeof *b->labels);
    b->weights = xcalloc((size_t)cap_B, sizeof *b->weights);
}

void batch_buf_free(struct batch_buf *b)
{
    free(b->text);
    free(b->feats);
    free(b->boxes);
    free(b->labels);
    free(b->weights);
    memset(b, 0, sizeof *b);
}

void batch_share(int Bg, int rank, int size, int *lo, int *hi)
{
    int base = Bg / size, extra = Bg % size;
    *lo = rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra);
}

void chunk_share(int Bg, int chunk, int rank, int size, int *lo, int *hi)
{
    if (chunk <= 0) {
        batch_share(Bg, rank, size, lo, hi);
        return;
    }
    int c_lo, c_hi;
    batch_share((Bg + chunk - 1) / chunk, rank, size, &c_lo, &c_hi);
    *lo = c_lo * chunk < Bg ? c_lo * chunk : Bg;
    *hi = c_hi * chunk < Bg ? c_hi * chunk : Bg;
}

int chunk_share_max(int batch, int chunk, int size)
{
    int lo, hi;
    chunk_share(batch, chunk, 0, size, &lo, &hi); /* rank 0's share is never smaller than another's */
    return hi - lo;
}

void epoch_order(uint64_t seed, long epoch, long n, int32_t *order)
{
    uint64_t key = rng_key(seed, STREAM_EPOCH_ORDER, (uint64_t)epoch);
    for (long i = 0; i < n; i++)
        order[i] = (int32_t)i;
    for (long i = n - 1; i > 0; i--) { /* Fisher-Yates from the end */
        long j = (long)(rng_bits64(key, (uint64_t)i) % (uint64_t)(i + 1));
        int32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Copies the regions of `image` into slot i of the share. */
static int copy_image(struct batch_buf *buf, const struct image_cache *c, int i, int32_t image, struct err *e)
{
    int32_t s = c->slot[image];
    if (s < 0)
        return err_set(e, "internal error: image row %d is not in the run's feature cache", (int)image);
    size_t per = (size_t)c->regions * (size_t)c->dim;
    memcpy(buf->feats + (size_t)i * per, c->feats + (size_t)s * per, per * sizeof *buf->feats);
    memcpy(buf->boxes + (size_t)i * (size_t)c->regions * 4, c->boxes + (size_t)s * (size_t)c->regions * 4,
           (size_t)c->regions * 4 * sizeof *buf->boxes);
    return 0;
}

static void finish(struct vlt5_batch *b, struct batch_buf *buf, const struct image_cache *c, int Bg, int lo, int hi,
                   int Lt, int Ld)
{
    memset(b, 0, sizeof *b);
    b->B = hi - lo;
    b->text_len = Lt;
    b->text = buf->text;
    b->feats = c->projected ? NULL : buf->feats;
    b->visual = c->projected ? buf->feats : NULL;
    b->boxes = buf->boxes;
    b->target_len = Ld;
    b->labels = Ld > 0 ? buf->labels : NULL;
    b->weights = Ld > 0 ? buf->weights : NULL;
    b->ex0 = (uint64_t)lo;
    b->global_batch = Bg;
}

/* Writes one example's text (padded to Lt) into slot i. */
static void put_text(struct batch_buf *buf, int i, int Lt, const int32_t *ids, int n)
{
    int32_t *row = buf->text + (size_t)i * (size_t)Lt;
    memcpy(row, ids, (size_t)n * sizeof *row);
    for (int t = n; t < Lt; t++)
        row[t] = 0;
}

static void put_labels(struct batch_buf *buf, int i, int Ld, const int32_t *ids, int n, float weight)
{
    int32_t *row = buf->labels + (size_t)i * (size_t)Ld;
    for (int t = 0; t < Ld; t++)
        row[t] = t < n ? ids[t] : XENT_IGNORE;
    buf->weights[i] = weight;
}

/* The answer example `row` learns from: its tokens and weight (the empty answer </s> with weight 0 when
 * no label has a score). */
static void drawn_answer(const struct prepared *p, int32_t row, uint64_t seed, long epoch, const int32_t **ids,
                         int *n, float *weight)
{
    static const int32_t eos_only[1] = {VLT5_EOS};
    const int32_t *answers;
    const float *scores;
    int k = prepared_labels(p, row, &answers, &scores);
    int pick = vqa_sample_answer(seed, (uint64_t)epoch, (uint64_t)row, scores, k);
    if (pick < 0) {
        *ids = eos_only;
        *n = 1;
        *weight = 0;
        return;
    }
    int32_t a = answers[pick];
    *ids = p->a_tokens + (size_t)a * (size_t)p->a_len;
    *n = p->a_n_tokens[a];
    *weight = scores[pick];
}

int batch_vqa(struct vlt5_batch *b, struct batch_buf *buf, const struct prepared *p, const struct image_cache *c,
              const int32_t *rows, int Bg, int lo, int hi, int with_labels, uint64_t seed, long epoch, struct err *e)
{
    if (hi - lo > buf->cap_B)
        return err_set(e, "internal error: a share of %d examples for buffers of %d", hi - lo, buf->cap_B);
    int Lt = 1, Ld = 0;
    for (int j = 0; j < Bg; j++) { /* the whole global batch decides the padding */
        Lt = p->q_n_tokens[rows[j]] > Lt ? p->q_n_tokens[rows[j]] : Lt;
        if (with_labels) {
            const int32_t *ids;
            int n;
            float w;
            drawn_answer(p, rows[j], seed, epoch, &ids, &n, &w);
            Ld = n > Ld ? n : Ld;
        }
    }
    if (Lt > buf->cap_text || Ld > buf->cap_target)
        return err_set(e, "internal error: lengths %d/%d for buffers of %d/%d", Lt, Ld, buf->cap_text, buf->cap_target);
    for (int j = lo; j < hi; j++) {
        int32_t q = rows[j];
        put_text(buf, j - lo, Lt, p->q_tokens + (size_t)q * (size_t)p->q_len, p->q_n_tokens[q]);
        if (copy_image(buf, c, j - lo, p->q_image[q], e) != 0)
            return -1;
        if (with_labels) {
            const int32_t *ids;
            int n;
            float w;
            drawn_answer(p, q, seed, epoch, &ids, &n, &w);
            put_labels(buf, j - lo, Ld, ids, n, w);
        }
    }
    finish(b, buf, c, Bg, lo, hi, Lt, Ld);
    return 0;
}

int batch_pretrain(struct vlt5_batch *b, struct batch_buf *buf, const struct prepared *p, const struct image_cache *c,
                   const int32_t *rows, int Bg, int lo, int hi, struct err *e)
{
    if (hi - lo > buf->cap_B)
        return err_set(e, "internal error: a share of %d examples for buffers of %d", hi - lo, buf->cap_B);
    int Lt = 1, Ld = 1;
    for (int j = 0; j < Bg; j++) {
        Lt = p->pt_n_input[rows[j]] > Lt ? p->pt_n_input[rows[j]] : Lt;
        Ld = p->pt_n_target[rows[j]] > Ld ? p->pt_n_target[rows[j]] : Ld;
    }
    if (Lt > buf->cap_text || Ld > buf->cap_target)
        return err_set(e, "internal error: lengths %d/%d for buffers of %d/%d", Lt, Ld, buf->cap_text, buf->cap_target);
    for (int j = lo; j < hi; j++) {
        int32_t r = rows[j];
        put_text(buf, j - lo, Lt, p->pt_input + (size_t)r * (size_t)p->pt_in_len, p->pt_n_input[r]);
        if (copy_image(buf, c, j - lo, p->pt_image[r], e) != 0)
            return -1;
        put_labels(buf, j - lo, Ld, p->pt_target + (size_t)r * (size_t)p->pt_out_len, p->pt_n_target[r], 1.0f);
    }
    finish(b, buf, c, Bg, lo, hi, Lt, Ld);
    return 0;
}
