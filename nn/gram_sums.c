#include "nn/gram_sums.h"

#include <math.h>

/* Walks the upper triangle column by column: for local column jl, the local rows with global index
 * < j are [0, *strict), and *diag says whether the next local row is j itself.  `end` carries the
 * position between calls (columns come in increasing global order, so it only moves forward). */
static inline void upper_rows(const struct gram_block *b, int jl, int *end, int *strict, int *diag)
{
    int j = b->col_g[jl];
    while (*end < b->nrows && b->row_g[*end] <= j)
        (*end)++;
    *diag = *end > 0 && b->row_g[*end - 1] == j;
    *strict = *end - *diag;
}

void gram_rowsums_linear(const struct gram_block *b, double *rowsum)
{
    int end = 0, strict, diag;
    for (int jl = 0; jl < b->ncols; jl++) {
        upper_rows(b, jl, &end, &strict, &diag);
        const float *col = b->k + (size_t)jl * b->ld; /* [nrows] */
        double colsum = 0.0;
        for (int il = 0; il < strict; il++) {
            rowsum[b->row_g[il]] += col[il];
            colsum += col[il];
        }
        if (diag)
            colsum += col[strict];
        rowsum[b->col_g[jl]] += colsum;
    }
}

void gram_rowsums_rbf(const struct gram_block *b, double *rowsum)
{
    int end = 0, strict, diag;
    for (int jl = 0; jl < b->ncols; jl++) {
        upper_rows(b, jl, &end, &strict, &diag);
        const float *col = b->k + (size_t)jl * b->ld;
        const struct gram_sample *c = &b->cols[jl];
        double colsum = 0.0;
        for (int il = 0; il < strict; il++) {
            double r = exp(-b->gamma * gram_dist_sq(&b->rows[il], c, col[il]));
            rowsum[b->row_g[il]] += r;
            colsum += r;
        }
        if (diag)
            colsum += 1.0; /* exp(0) */
        rowsum[b->col_g[jl]] += colsum;
    }
}

void gram_distance_histogram(const struct gram_block *b, const struct radix_select *s, uint64_t *hist)
{
    int end = 0, strict, diag;
    for (int jl = 0; jl < b->ncols; jl++) {
        upper_rows(b, jl, &end, &strict, &diag);
        const float *col = b->k + (size_t)jl * b->ld;
        const struct gram_sample *c = &b->cols[jl];
        for (int il = 0; il < strict; il++)
            radix_select_count(s, radix_key_of(gram_dist_sq(&b->rows[il], c, col[il])), hist);
    }
}

uint64_t gram_distance_min_above(const struct gram_block *b, uint64_t key)
{
    uint64_t best = UINT64_MAX;
    int end = 0, strict, diag;
    for (int jl = 0; jl < b->ncols; jl++) {
        upper_rows(b, jl, &end, &strict, &diag);
        const float *col = b->k + (size_t)jl * b->ld;
        const struct gram_sample *c = &b->cols[jl];
        for (int il = 0; il < strict; il++) {
            uint64_t k = radix_key_of(gram_dist_sq(&b->rows[il], c, col[il]));
            if (k > key && k < best)
                best = k;
        }
    }
    return best;
}

/* One element's cosine similarity (minus the shift). */
static inline double shifted_cosine(const struct gram_block *b, const struct gram_sample *r,
                                    const struct gram_sample *c, float kc)
{
    return ((double)kc + r->dot + c->dot + b->mu_sq) * r->inv * c->inv - b->cos_shift;
}

/* The pair sums of one local column, added to the total when the column is done. */
struct col_acc {
    double u, uu, v, vv, uv;
    double lab, laa, lbb, rab, raa, rbb;
};

static inline void pair_element(const struct gram_block *x, const struct gram_block *y, int il, int jl,
                                const float *kx, const float *ky, int with_rbf, double weight, struct col_acc *a)
{
    const struct gram_sample *rx = &x->rows[il], *cx = &x->cols[jl];
    const struct gram_sample *ry = &y->rows[il], *cy = &y->cols[jl];
    double u = shifted_cosine(x, rx, cx, kx[il]);
    double v = shifted_cosine(y, ry, cy, ky[il]);
    a->u += u;
    a->uu += u * u;
    a->v += v;
    a->vv += v * v;
    a->uv += u * v;
    double la = (double)kx[il] - rx->cl - cx->cl;
    double lb = (double)ky[il] - ry->cl - cy->cl;
    a->lab += weight * la * lb;
    a->laa += weight * la * la;
    a->lbb += weight * lb * lb;
    if (with_rbf) {
        double ra = exp(-x->gamma * gram_dist_sq(rx, cx, kx[il])) - rx->cr - cx->cr;
        double rb = exp(-y->gamma * gram_dist_sq(ry, cy, ky[il])) - ry->cr - cy->cr;
        a->rab += weight * ra * rb;
        a->raa += weight * ra * ra;
        a->rbb += weight * rb * rb;
    }
}

void gram_pair_sums(const struct gram_block *x, const struct gram_block *y, int with_rbf, struct gram_pair_sums *acc)
{
    int end = 0, strict, diag;
    for (int jl = 0; jl < x->ncols; jl++) {
        upper_rows(x, jl, &end, &strict, &diag);
        const float *kx = x->k + (size_t)jl * x->ld;
        const float *ky = y->k + (size_t)jl * y->ld;
        struct col_acc a = {0};
        for (int il = 0; il < strict; il++)
            pair_element(x, y, il, jl, kx, ky, with_rbf, 2.0, &a);
        /* The RSA sums count each element of the triangle once: undo the weight of 2 there by
         * accumulating the off-diagonal part first and adding the diagonal with weight 1. */
        if (diag)
            pair_element(x, y, strict, jl, kx, ky, with_rbf, 1.0, &a);
        acc->u += a.u;
        acc->uu += a.uu;
        acc->v += a.v;
        acc->vv += a.vv;
        acc->uv += a.uv;
        acc->lin_ab += a.lab;
        acc->lin_aa += a.laa;
        acc->lin_bb += a.lbb;
        acc->rbf_ab += a.rab;
        acc->rbf_aa += a.raa;
        acc->rbf_bb += a.rbb;
    }
}

double pearson_from_sums(double count, double su, double suu, double sv, double svv, double suv)
{
    if (!(count > 0))
        return NAN;
    double mu = su / count, mv = sv / count;
    double var_u = suu / count - mu * mu, var_v = svv / count - mv * mv;
    double cov = suv / count - mu * mv;
    if (!(var_u > 0) || !(var_v > 0))
        return NAN;
    return cov / sqrt(var_u * var_v);
}

double cka_from_sums(double ab, double aa, double bb)
{
    if (!(aa > 0) || !(bb > 0))
        return NAN;
    return ab / sqrt(aa * bb);
}
