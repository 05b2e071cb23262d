#include "mpi/redundancy_stats.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/row_blocks.h"
#include "nn/radix_select.h"

_Static_assert(sizeof(struct gram_pair_sums) == GRAM_PAIR_SUMS_COUNT * sizeof(double),
               "struct gram_pair_sums is reduced as an array of doubles");

/* An error that every rank of the grid found alike. */
/* Agrees on the inputs of redundancy_rep_init: the same width everywhere, finite values, N >= 2. */
static int check_inputs(const struct blacs_grid *g, const struct row_blocks *rb, const float *x, int d,
                        struct err *e)
{
    int bad_row = INT_MAX;
    for (int i = 0; i < rb->count && d > 0 && bad_row == INT_MAX; i++)
        for (int k = 0; k < d; k++)
            if (!isfinite(x[(size_t)i * (size_t)d + (size_t)k])) {
                bad_row = rb->first + i;
                break;
            }
    int v[3] = {bad_row, d, -d};
    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_INT, MPI_MIN, g->comm);
    if (v[1] != -v[2])
        return err_set_all(e, "the representation's width differs between ranks (from %d to %d)", v[1], -v[2]);
    if (d < 1)
        return err_set_all(e, "the representation's width must be at least 1, got %d", d);
    if (v[0] != INT_MAX)
        return err_set_all(e, "the representation has a non-finite value in row %d (of %d)", v[0], rb->n);
    if (rb->n < 2)
        return err_set_all(e, "the redundancy statistics need at least 2 samples, got %d", rb->n);
    if (rb->n > INT_MAX / 3)
        return err_set_all(e, "%d samples: at most %d are supported", rb->n, INT_MAX / 3);
    return 0;
}

/* Per-sample numbers of this rank's rows, then of all rows: all3[3 i + 0, 1, 2] = |xc_i|^2, xc_i.mu,
 * 1/max(|x_i|, 1e-12).  Writes the centred rows into xc [count, d] and sets r->mu_sq and r->cos_shift. */
static double *centre_rows(struct redundancy_rep *r, const struct row_blocks *rb, const float *x, float *xc)
{
    int d = r->d, n = rb->n, count = rb->count;
    MPI_Comm comm = r->grid->comm;
    /* sums = [sum_i x_i (d), sum_i x_i/|x_i| (d), sum_i S_ii (1)] */
    double *sums = xcalloc((size_t)(2 * d + 1), sizeof *sums);
    double *mine = xcalloc((size_t)(3 * count + 1), sizeof *mine); /* [count][3] */
    for (int i = 0; i < count; i++) {
        const float *row = x + (size_t)i * (size_t)d; /* [d] */
        double nrm2 = 0.0;
        for (int k = 0; k < d; k++)
            nrm2 += (double)row[k] * row[k];
        double nrm = sqrt(nrm2);
        double inv = 1.0 / (nrm > 1e-12 ? nrm : 1e-12);
        for (int k = 0; k < d; k++) {
            sums[k] += row[k];
            sums[d + k] += row[k] * inv;
        }
        sums[2 * d] += nrm2 * inv * inv;
        mine[3 * i + 2] = inv;
    }
    MPI_Allreduce(MPI_IN_PLACE, sums, 2 * d + 1, MPI_DOUBLE, MPI_SUM, comm);

    double *mu = sums; /* [d], in place of the column sums */
    double mu_sq = 0.0, hat_sq = 0.0;
    for (int k = 0; k < d; k++) {
        mu[k] /= n;
        mu_sq += mu[k] * mu[k];
        hat_sq += sums[d + k] * sums[d + k];
    }
    r->mu_sq = mu_sq;
    /* sum_{i<=j} S_ij = (sum_{i,j} S_ij + sum_i S_ii) / 2 and sum_{i,j} S_ij = |sum_i x_i/|x_i||^2 */
    r->cos_shift = (hat_sq + sums[2 * d]) / ((double)n * (n + 1.0));

    for (int i = 0; i < count; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        float *out = xc + (size_t)i * (size_t)d;
        double sq = 0.0, dot = 0.0;
        for (int k = 0; k < d; k++) {
            out[k] = (float)(row[k] - mu[k]);
            sq += (double)out[k] * out[k];
            dot += (double)out[k] * mu[k];
        }
        mine[3 * i] = sq;
        mine[3 * i + 1] = dot;
    }
    double *all3 = xmalloc((size_t)3 * (size_t)n * sizeof *all3); /* [n][3] */
    int *counts = xmalloc((size_t)rb->size * sizeof *counts), *displs = xmalloc((size_t)rb->size * sizeof *displs);
    for (int q = 0; q < rb->size; q++) {
        counts[q] = 3 * rb->counts[q];
        displs[q] = 3 * rb->firsts[q];
    }
    MPI_Allgatherv(mine, 3 * count, MPI_DOUBLE, all3, counts, displs, MPI_DOUBLE, comm);
    free(counts);
    free(displs);
    free(mine);
    free(sums);
    return all3;
}

static void rep_block(const struct redundancy_rep *r, struct gram_block *b)
{
    b->k = r->gram.a;
    b->ld = r->gram.lld;
    b->nrows = r->gram.mloc;
    b->ncols = r->gram.nloc;
    b->row_g = r->row_g;
    b->col_g = r->col_g;
    b->rows = r->rows;
    b->cols = r->cols;
    b->mu_sq = r->mu_sq;
    b->gamma = r->has_rbf ? 1.0 / (2.0 * r->sigma * r->sigma) : 0.0;
    b->cos_shift = r->cos_shift;
}

/* Row sums of the full kernel (linear: Kc; rbf: the Gaussian kernel), summed over the ranks, turned
 * into the centring terms r_i/N - s/(2 N^2) of the local rows and columns. */
static int centring_terms(struct redundancy_rep *r, int rbf, struct err *e)
{
    int n = r->n;
    struct gram_block b;
    rep_block(r, &b);
    double *rowsum = xcalloc((size_t)n, sizeof *rowsum); /* [n] */
    if (rbf)
        gram_rowsums_rbf(&b, rowsum);
    else
        gram_rowsums_linear(&b, rowsum);
    MPI_Allreduce(MPI_IN_PLACE, rowsum, n, MPI_DOUBLE, MPI_SUM, r->grid->comm);
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += rowsum[i];
    /* A non-finite Gram entry makes its row sums non-finite: one test after the reduction, alike on
     * every rank, instead of one per element. */
    if (!isfinite(total)) {
        free(rowsum);
        return err_set_all(e, "the Gram matrix of %d samples of width %d has non-finite entries: the "
                           "values are too large for single precision", n, r->d);
    }
    double half = total / (2.0 * (double)n * n);
    for (int il = 0; il < r->gram.mloc; il++) {
        double c = rowsum[r->row_g[il]] / n - half;
        *(rbf ? &r->rows[il].cr : &r->rows[il].cl) = c;
    }
    for (int jl = 0; jl < r->gram.nloc; jl++) {
        double c = rowsum[r->col_g[jl]] / n - half;
        *(rbf ? &r->cols[jl].cr : &r->cols[jl].cl) = c;
    }
    free(rowsum);
    return 0;
}

/* The k-th smallest squared distance over i < j (its radix key), by four histogram rounds. */
static int select_distance(const struct redundancy_rep *r, const struct gram_block *b, uint64_t k,
                           struct radix_select *s, struct err *e)
{
    uint64_t *hist = xmalloc(RADIX_BINS * sizeof *hist); /* [RADIX_BINS] */
    radix_select_begin(s, k);
    while (!radix_select_done(s)) {
        memset(hist, 0, RADIX_BINS * sizeof *hist);
        gram_distance_histogram(b, s, hist);
        MPI_Allreduce(MPI_IN_PLACE, hist, RADIX_BINS, MPI_UINT64_T, MPI_SUM, r->grid->comm);
        if (radix_select_advance(s, hist) != 0) {
            free(hist);
            return err_set_all(e, "internal error: the distance passes disagree (looking for number %lld of %lld)",
                            (long long)k, (long long)r->n * (r->n - 1) / 2);
        }
    }
    free(hist);
    return 0;
}

/* sigma = median of |x_i - x_j| over the M = N(N-1)/2 pairs i < j: the middle one when M is odd, the
 * mean of the two middle ones when M is even.  Exact: the selection is over the very numbers the
 * kernel uses, and only histograms travel. */
static int median_bandwidth(struct redundancy_rep *r, struct err *e)
{
    struct gram_block b;
    rep_block(r, &b);
    uint64_t m = (uint64_t)r->n * (uint64_t)(r->n - 1) / 2;
    uint64_t k1 = (m - 1) / 2, k2 = m / 2;
    struct radix_select s;
    if (select_distance(r, &b, k1, &s, e) != 0)
        return -1;
    uint64_t v1 = s.key, v2;
    if (k2 == k1 || s.n_before + s.n_equal > k2)
        v2 = v1; /* odd M, or the next one is a tie */
    else if (s.next_key != UINT64_MAX)
        v2 = s.next_key;
    else {
        v2 = gram_distance_min_above(&b, v1);
        MPI_Allreduce(MPI_IN_PLACE, &v2, 1, MPI_UINT64_T, MPI_MIN, r->grid->comm);
        if (v2 == UINT64_MAX)
            return err_set_all(e, "internal error: no distance above the lower median (%llu pairs)",
                            (unsigned long long)m);
    }
    r->sigma = 0.5 * (sqrt(radix_value_of(v1)) + sqrt(radix_value_of(v2)));
    r->has_rbf = r->sigma > 0.0;
    return 0;
}

int redundancy_rep_init(struct redundancy_rep *r, const struct blacs_grid *g, const float *x, int n_local, int d,
                        int block, struct err *e)
{
    memset(r, 0, sizeof *r);
    r->grid = g;
    r->d = d;
    int nb = block > 0 ? block : REDUNDANCY_DEFAULT_BLOCK;
    struct row_blocks rb;
    if (row_blocks_init(&rb, g->comm, n_local, e) != 0)
        return -1;
    if (check_inputs(g, &rb, x, d, e) != 0) {
        row_blocks_free(&rb);
        return -1;
    }
    r->n = rb.n;

    float *xc = xmalloc((size_t)(rb.count ? rb.count : 1) * (size_t)d * sizeof *xc); /* [count, d] */
    double *all3 = centre_rows(r, &rb, x, xc);                                      /* [n][3] */
    struct bc_matrix xt = {0}; /* Xc^T [d, n] */
    int rc = bc_from_row_blocks(g, &rb, xc, d, nb, &xt, e);
    free(xc);
    row_blocks_free(&rb);
    if (rc == 0 && (rc = bc_matrix_alloc(&r->gram, g, r->n, r->n, nb, nb, e)) == 0)
        rc = pblas_ssyrk('U', 'T', 1.0f, &xt, 0.0f, &r->gram, e); /* Kc = Xc Xc^T, upper triangle */
    bc_matrix_free(&xt);
    if (rc != 0) {
        free(all3);
        redundancy_rep_free(r);
        return err_prefix(e, "preparing a representation of %d samples", r->n);
    }

    int mloc = r->gram.mloc, nloc = r->gram.nloc;
    r->row_g = xmalloc((size_t)(mloc ? mloc : 1) * sizeof *r->row_g);
    r->col_g = xmalloc((size_t)(nloc ? nloc : 1) * sizeof *r->col_g);
    r->rows = xcalloc((size_t)(mloc ? mloc : 1), sizeof *r->rows);
    r->cols = xcalloc((size_t)(nloc ? nloc : 1), sizeof *r->cols);
    for (int il = 0; il < mloc; il++) {
        int i = r->row_g[il] = bc_matrix_row(&r->gram, g, il);
        r->rows[il] = (struct gram_sample){.sq = all3[3 * i], .dot = all3[3 * i + 1], .inv = all3[3 * i + 2]};
    }
    for (int jl = 0; jl < nloc; jl++) {
        int j = r->col_g[jl] = bc_matrix_col(&r->gram, g, jl);
        r->cols[jl] = (struct gram_sample){.sq = all3[3 * j], .dot = all3[3 * j + 1], .inv = all3[3 * j + 2]};
    }
    free(all3);

    if (centring_terms(r, 0, e) != 0 || median_bandwidth(r, e) != 0 || (r->has_rbf && centring_terms(r, 1, e) != 0)) {
        redundancy_rep_free(r);
        return -1;
    }
    return 0;
}

void redundancy_rep_free(struct redundancy_rep *r)
{
    bc_matrix_free(&r->gram);
    free(r->row_g);
    free(r->col_g);
    free(r->rows);
    free(r->cols);
    r->row_g = r->col_g = NULL;
    r->rows = r->cols = NULL;
}

int redundancy_pair(const struct redundancy_rep *x, const struct redundancy_rep *y, struct redundancy_stats *s,
                    struct err *e)
{
    if (x->grid->ctxt != y->grid->ctxt || x->n != y->n || x->gram.nb != y->gram.nb)
        return err_set_all(e, "cannot pair representations of %d and %d samples laid out differently", x->n, y->n);
    struct gram_block bx, by;
    rep_block(x, &bx);
    rep_block(y, &by);
    int with_rbf = x->has_rbf && y->has_rbf;
    struct gram_pair_sums acc = {0};
    gram_pair_sums(&bx, &by, with_rbf, &acc);
    /* The one reduction of the pair. */
    MPI_Allreduce(MPI_IN_PLACE, &acc, GRAM_PAIR_SUMS_COUNT, MPI_DOUBLE, MPI_SUM, x->grid->comm);

    double n = x->n, triangle = n * (n + 1.0) / 2.0, scale = (n - 1.0) * (n - 1.0);
    memset(s, 0, sizeof *s);
    s->n = x->n;
    s->rsa = pearson_from_sums(triangle, acc.u, acc.uu, acc.v, acc.vv, acc.uv);
    s->hsic_linear[0] = acc.lin_ab / scale;
    s->hsic_linear[1] = acc.lin_aa / scale;
    s->hsic_linear[2] = acc.lin_bb / scale;
    s->cka_linear = cka_from_sums(acc.lin_ab, acc.lin_aa, acc.lin_bb);
    s->sigma_x = x->sigma;
    s->sigma_y = y->sigma;
    if (with_rbf) {
        s->hsic_rbf[0] = acc.rbf_ab / scale;
        s->hsic_rbf[1] = acc.rbf_aa / scale;
        s->hsic_rbf[2] = acc.rbf_bb / scale;
        s->cka_rbf = cka_from_sums(acc.rbf_ab, acc.rbf_aa, acc.rbf_bb);
    } else {
        s->hsic_rbf[0] = s->hsic_rbf[1] = s->hsic_rbf[2] = s->cka_rbf = NAN;
    }
    return 0;
}

int redundancy_compare(const struct blacs_grid *g, const float *x, int dx, const float *y, int dy, int n_local,
                       int block, struct redundancy_stats *s, struct err *e)
{
    struct redundancy_rep rx, ry;
    if (redundancy_rep_init(&rx, g, x, n_local, dx, block, e) != 0)
        return err_prefix(e, "X");
    if (redundancy_rep_init(&ry, g, y, n_local, dy, block, e) != 0) {
        redundancy_rep_free(&rx);
        return err_prefix(e, "Y");
    }
    int rc = redundancy_pair(&rx, &ry, s, e);
    redundancy_rep_free(&rx);
    redundancy_rep_free(&ry);
    return rc;
}
