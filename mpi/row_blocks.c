#include "mpi/row_blocks.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int row_blocks_init(struct row_blocks *rb, MPI_Comm comm, int count, struct err *e)
{
    memset(rb, 0, sizeof *rb);
    MPI_Comm_size(comm, &rb->size);
    int rank;
    MPI_Comm_rank(comm, &rank);
    rb->counts = xcalloc((size_t)rb->size, sizeof *rb->counts);
    rb->firsts = xcalloc((size_t)rb->size, sizeof *rb->firsts);
    MPI_Allgather(&count, 1, MPI_INT, rb->counts, 1, MPI_INT, comm);
    long long total = 0;
    for (int r = 0; r < rb->size; r++) {
        if (rb->counts[r] < 0) {
            row_blocks_free(rb);
            return err_set_all(e, "rank %d holds %d rows: a row count cannot be negative", r, count);
        }
        rb->firsts[r] = (int)(total < INT_MAX ? total : INT_MAX);
        total += rb->counts[r];
    }
    if (total > INT_MAX) {
        row_blocks_free(rb);
        return err_set_all(e, "%lld rows in all: at most %d are supported", total, INT_MAX);
    }
    rb->n = (int)total;
    rb->count = count;
    rb->first = rb->firsts[rank];
    return 0;
}

void row_blocks_free(struct row_blocks *rb)
{
    free(rb->counts);
    free(rb->firsts);
    rb->counts = rb->firsts = NULL;
}

/* How many of the indices lo .. hi-1 process p holds. */
static int owned_in_range(int lo, int hi, int nb, int p, int nprocs)
{
    return bc_numroc(hi, nb, p, nprocs) - bc_numroc(lo, nb, p, nprocs);
}

int bc_from_row_blocks(const struct blacs_grid *g, const struct row_blocks *rb, const float *x, int d, int nb,
                       struct bc_matrix *xt, struct err *e)
{
    xt->a = NULL; /* bc_matrix_free is safe on every return */
    if (rb->size != g->size) {
        return err_set_all(e, "the rows are split over %d ranks, the grid has %d", rb->size, g->size);
    }
    if (d < 1 || nb < 1) {
        return err_set_all(e, "cannot lay out rows of width %d in blocks of %d", d, nb);
    }
    /* MPI counts are ints: agree on the largest share first, so that no rank is left in the exchange. */
    long long mine = (long long)rb->count * d;
    long long recv = (long long)bc_numroc(d, nb, g->myrow, g->nprow) * bc_numroc(rb->n, nb, g->mycol, g->npcol);
    long long share = mine > recv ? mine : recv, most = 0;
    MPI_Allreduce(&share, &most, 1, MPI_LONG_LONG, MPI_MAX, g->comm);
    if (most > INT_MAX) {
        return err_set_all(e, "a rank would send or receive %lld values: at most %d per rank are supported", most,
                       INT_MAX);
    }
    if (bc_matrix_alloc(xt, g, d, rb->n, nb, nb, e) != 0)
        return -1;

    int size = g->size, P = g->nprow, Q = g->npcol;
    int *scount = xcalloc((size_t)size, sizeof *scount), *sdispl = xcalloc((size_t)size, sizeof *sdispl);
    int *rcount = xcalloc((size_t)size, sizeof *rcount), *rdispl = xcalloc((size_t)size, sizeof *rdispl);
    float *sbuf = xmalloc((size_t)(mine ? mine : 1) * sizeof *sbuf); /* [rb->count * d] */

    /* Pack for each destination, in rank order: my samples in its process column (increasing), and of
     * each sample the entries in its process row (increasing).  That is exactly the order of the
     * destination's local column-major storage. */
    int pos = 0;
    for (int dest = 0; dest < size; dest++) {
        int pr = dest / Q, pc = dest % Q; /* row-major grid numbering (checked by blacs_grid_init) */
        sdispl[dest] = pos;
        for (int s = 0; s < rb->count; s++) {
            if (bc_owner(rb->first + s, nb, Q) != pc)
                continue;
            const float *row = x + (size_t)s * (size_t)d; /* [d] */
            for (int k0 = pr * nb; k0 < d; k0 += P * nb) {
                int len = d - k0 < nb ? d - k0 : nb;
                memcpy(sbuf + pos, row + k0, (size_t)len * sizeof *sbuf);
                pos += len;
            }
        }
        scount[dest] = pos - sdispl[dest];
    }
    /* Receive from each source its samples in my process column, each with my mloc entries: sources
     * hold increasing rows, so the local columns arrive in order, one after another. */
    int rpos = 0;
    for (int src = 0; src < size; src++) {
        int cols = owned_in_range(rb->firsts[src], rb->firsts[src] + rb->counts[src], nb, g->mycol, Q);
        rdispl[src] = rpos;
        rcount[src] = cols * xt->mloc;
        rpos += rcount[src];
    }
    MPI_Alltoallv(sbuf, scount, sdispl, MPI_FLOAT, xt->a, rcount, rdispl, MPI_FLOAT, g->comm);
    free(sbuf);
    free(scount);
    free(sdispl);
    free(rcount);
    free(rdispl);
    return 0;
}
