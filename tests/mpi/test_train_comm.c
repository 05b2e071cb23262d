/* The communication of data-parallel training: bucketed gradient sums and the run queue. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "mpi/grad_allreduce.h"
#include "mpi/run_queue.h"
#include "tests/harness.h"

static void test_bucket_count(struct test_ctx *t)
{
    CHECK_INT(t, grad_bucket_count(0, 10), 0);
    CHECK_INT(t, grad_bucket_count(10, 10), 1);
    CHECK_INT(t, grad_bucket_count(11, 10), 2);
    CHECK_INT(t, grad_bucket_count(874048, 1 << 20), 1);
    CHECK_INT(t, grad_bucket_count(5, 0), 5);
}

static void test_bucketed_sum(struct test_ctx *t)
{
    size_t n = 1003; /* not a multiple of the bucket */
    float *g = xmalloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)(t->rank + 1) * (float)(i % 17) + (i == 500 ? 0.0f : 0.25f);
    size_t calls = grad_bucket_allreduce(g, n, 100, t->world->comm);
    CHECK_INT(t, calls, t->size == 1 ? 0 : 11);
    float ranks_sum = (float)(t->size * (t->size + 1) / 2);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = ranks_sum * (float)(i % 17) + (i == 500 ? 0.0f : 0.25f * (float)t->size);
        bad += g[i] != want;
    }
    CHECKF(t, bad == 0, "%d of %zu sums differ", bad, n);
    free(g);
}

static void run_queue_each_index_once(struct test_ctx *t, int per)
{
    struct group g;
    struct run_queue q;
    struct err e;
    long n_runs = 13;
    CHECK_INT(t, world_split_groups(t->world, per, &g, &e), 0);
    CHECK_INT(t, run_queue_create(&q, t->world, g.comm, &e), 0);
    int *mine = xcalloc((size_t)n_runs, sizeof *mine);
    for (long i; (i = run_queue_next(&q, n_runs)) >= 0;) {
        /* Every rank of the group got the same index. */
        long lo = i, hi = i;
        MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_LONG, MPI_MIN, g.comm);
        MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_LONG, MPI_MAX, g.comm);
        CHECK(t, lo == i && hi == i);
        if (g.rank == 0)
            mine[i]++;
        usleep((useconds_t)(1000 * (i % 3))); /* runs of different lengths */
    }
    MPI_Allreduce(MPI_IN_PLACE, mine, (int)n_runs, MPI_INT, MPI_SUM, t->world->comm);
    for (long i = 0; i < n_runs; i++)
        CHECKF(t, mine[i] == 1, "run %ld was taken %d times (groups of %d)", i, mine[i], per);
    CHECK_INT(t, run_queue_next(&q, n_runs), -1); /* stays exhausted */
    run_queue_free(&q);
    group_free(&g);
    free(mine);
}

static void test_run_queue(struct test_ctx *t)
{
    run_queue_each_index_once(t, 1);
    run_queue_each_index_once(t, 2);
    run_queue_each_index_once(t, 3);
}

static void test_stop_poll_reaches_every_rank(struct test_ctx *t)
{
    CHECK_INT(t, world_poll_stop(t->world->comm), 0);
    if (t->rank == t->size - 1)
        raise(SIGUSR1); /* blocked (test_main_mpi blocks stop signals before MPI_Init): stays pending */
    CHECK_INT(t, world_poll_stop(t->world->comm), SIGUSR1);
    CHECK_INT(t, world_poll_stop(t->world->comm), 0); /* taken once */
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"bucket count", test_bucket_count},
        {"bucketed gradient sum, one call per bucket", test_bucketed_sum},
        {"run queue hands out every run exactly once", test_run_queue},
        {"a stop signal on one rank reaches every rank", test_stop_poll_reaches_every_rank},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
