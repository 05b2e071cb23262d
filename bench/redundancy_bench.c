/* Benchmark of the redundancy statistics (mpi/redundancy_stats) on a BLACS grid over all ranks:
 *
 *   mpirun -np P redundancy_bench N D [BLOCK]
 *
 * Two representations X, Y [N, D] (random, rows split evenly over the ranks as the analyze stage
 * holds them) are prepared and paired once.  Prints the wall time of each phase (slowest rank, after a
 * barrier), the CPU time of those phases per rank, the time of the bare Gram product (row blocks to
 * block-cyclic + PSSYRK) and its GFLOP/s, and the peak resident memory of each rank (getrusage
 * ru_maxrss). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "base/mem.h"
#include "mpi/blacs.h"
#include "mpi/redundancy_stats.h"
#include "mpi/row_blocks.h"
#include "mpi/world.h"
#include "nn/blas_env.h"

/* Deterministic values from (seed, row, column), so each rank makes its own rows. */
static float value(unsigned seed, int i, int k)
{
    unsigned long long z = ((unsigned long long)seed << 48) ^ ((unsigned long long)i << 20) ^ (unsigned long long)k;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)((double)(z >> 11) * 0x1.0p-53 * 2.0 - 1.0) + (k % 5 == 0 ? 3.0f : 0.0f);
}

/* CPU seconds (user + system) of this process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double elapsed_max(MPI_Comm comm, double t0)
{
    double t = MPI_Wtime() - t0, worst;
    MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, comm);
    return worst;
}

/* The bare Gram product: layout plus PSSYRK, as redundancy_rep_init does it. */
static double time_gram(const struct blacs_grid *g, const float *x, int count, int d, int nb, struct err *e)
{
    struct row_blocks rb;
    struct bc_matrix xt, gram;
    if (row_blocks_init(&rb, g->comm, count, e) != 0)
        return -1;
    MPI_Barrier(g->comm);
    double t0 = MPI_Wtime();
    if (bc_from_row_blocks(g, &rb, x, d, nb, &xt, e) != 0 || bc_matrix_alloc(&gram, g, rb.n, rb.n, nb, nb, e) != 0 ||
        pblas_ssyrk('U', 'T', 1.0f, &xt, 0.0f, &gram, e) != 0)
        return -1;
    double t = elapsed_max(g->comm, t0);
    bc_matrix_free(&xt);
    bc_matrix_free(&gram);
    row_blocks_free(&rb);
    return t;
}

int main(int argc, char **argv)
{
    struct world w;
    struct err e = {0};
    if (world_init(&w, &argc, &argv, &e) != 0)
        world_fail(&w, &e);
    if (argc < 3) {
        if (w.rank == 0)
            fprintf(stderr, "usage: redundancy_bench N D [BLOCK]\n");
        world_finalize(&w);
        return 2;
    }
    int n = atoi(argv[1]), d = atoi(argv[2]), nb = argc > 3 ? atoi(argv[3]) : REDUNDANCY_DEFAULT_BLOCK;
    int count = n / w.size + (w.rank < n % w.size);
    int first = w.rank * (n / w.size) + (w.rank < n % w.size ? w.rank : n % w.size);
    float *x = xmalloc((size_t)(count ? count : 1) * (size_t)d * sizeof *x); /* [count, d] */
    float *y = xmalloc((size_t)(count ? count : 1) * (size_t)d * sizeof *y);
    for (int i = 0; i < count; i++)
        for (int k = 0; k < d; k++) {
            x[(size_t)i * d + k] = value(1, first + i, k);
            y[(size_t)i * d + k] = 0.5f * x[(size_t)i * d + (k + 1) % d] + value(2, first + i, k);
        }

    struct blacs_grid g;
    if (blacs_grid_init(&g, w.comm, 0, 0, &e) != 0)
        world_fail(&w, &e);
    double t_gram = time_gram(&g, x, count, d, nb, &e);
    if (t_gram < 0)
        world_fail(&w, &e);

    struct redundancy_rep rx, ry;
    struct redundancy_stats s;
    MPI_Barrier(w.comm);
    double cpu0 = cpu_seconds(), t0 = MPI_Wtime();
    if (redundancy_rep_init(&rx, &g, x, count, d, nb, &e) != 0)
        world_fail(&w, &e);
    double t_x = elapsed_max(w.comm, t0);
    t0 = MPI_Wtime();
    if (redundancy_rep_init(&ry, &g, y, count, d, nb, &e) != 0)
        world_fail(&w, &e);
    double t_y = elapsed_max(w.comm, t0);
    t0 = MPI_Wtime();
    if (redundancy_pair(&rx, &ry, &s, &e) != 0)
        world_fail(&w, &e);
    double t_pair = elapsed_max(w.comm, t0);
    /* CPU time of the three phases: wall time on a machine shared with other work counts the waits for
     * a core, CPU time does not (it does count MPI's busy polling while a rank waits for another). */
    double cpu = cpu_seconds() - cpu0, cpu_max = 0, cpu_sum = 0;
    MPI_Reduce(&cpu, &cpu_max, 1, MPI_DOUBLE, MPI_MAX, 0, w.comm);
    MPI_Reduce(&cpu, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, 0, w.comm);
    redundancy_rep_free(&rx);
    redundancy_rep_free(&ry);
    blacs_grid_free(&g);
    blacs_exit();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss_kb = ru.ru_maxrss;
    long *all = w.rank == 0 ? xmalloc((size_t)w.size * sizeof *all) : NULL;
    MPI_Gather(&rss_kb, 1, MPI_LONG, all, 1, MPI_LONG, 0, w.comm);
    if (w.rank == 0) {
        double flops = (double)n * (n + 1.0) * d; /* the upper triangle of X X^T: N(N+1)/2 dot products of 2d flops */
        printf("N %d d %d ranks %d grid %dx%d block %d (BLAS %s, %d thread(s) per rank)\n", n, d, w.size, g.nprow,
               g.npcol, nb, blas_core_name(), blas_threads());
        printf("  gram (layout + PSSYRK) %.2f s = %.1f GFLOP/s\n", t_gram, flops / t_gram * 1e-9);
        printf("  prepare X %.2f s, prepare Y %.2f s, pair %.2f s, total %.2f s; "
               "CPU %.2f s per rank (max), %.2f s in all\n",
               t_x, t_y, t_pair, t_x + t_y + t_pair, cpu_max, cpu_sum);
        printf("  peak RSS per rank (MiB):");
        long most = 0;
        for (int r = 0; r < w.size; r++) {
            printf(" %.0f", all[r] / 1024.0);
            most = all[r] > most ? all[r] : most;
        }
        printf("  (max %.0f; the two N x N float Grams alone take %.0f MiB per rank)\n", most / 1024.0,
               2 * 4.0 * n * (double)n / w.size / 1048576.0);
        printf("  RSA %.4f, linear CKA %.4f, RBF CKA %.4f, sigma_x %.3f, sigma_y %.3f\n", s.rsa, s.cka_linear,
               s.cka_rbf, s.sigma_x, s.sigma_y);
        /* one line per run for the summary of bench/redundancy_bench.sh:
         * result N ranks grid gram prepare_x prepare_y pair total cpu_max peak_rss_mib */
        printf("result %d %d %dx%d %.2f %.2f %.2f %.2f %.2f %.2f %.0f\n", n, w.size, g.nprow, g.npcol, t_gram, t_x,
               t_y, t_pair, t_x + t_y + t_pair, cpu_max, most / 1024.0);
        fflush(stdout);
        free(all);
    }
    free(x);
    free(y);
    world_finalize(&w);
    return 0;
}
