/* The communication of data-parallel training: bucketed gradient sums and the run queue. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "mpi/grad_allreduce.h"
#include "mpi/run_queue.h"
#include "mpi/tree_sum.h"
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

/* Leaf i's k-th value: magnitudes over six decades, so that the order of the sums shows. */
static float leaf_value(int i, size_t k)
{
    uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(k * 40503u + 17u);
    h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
    float mant = (float)(h & 0xffff) / 65536.0f - 0.5f;
    static const float scale[] = {1e-3f, 1.0f, 1e3f};
    return mant * scale[(h >> 16) % 3];
}

/* The fixed tree of tree_sum.h, written out recursively: node (l, i) of n leaves. */
static float tree_ref(int n, int l, int i, size_t k)
{
    if (l == 0)
        return leaf_value(i, k);
    float left = tree_ref(n, l - 1, 2 * i, k);
    if (((long)(2 * i + 1) << (l - 1)) < (long)n)
        return left + tree_ref(n, l - 1, 2 * i + 1, k);
    return left;
}

/* n leaves of len floats over the ranks, rank r holding [lo_r, hi_r): the result on every rank has the
 * bits of the recursive tree.  `all_on_first`: rank 0 holds every leaf. */
static void tree_sum_case(struct test_ctx *t, struct tree_sum *s, int n, size_t len, int all_on_first)
{
    int L = 0;
    while ((1L << L) < (long)n)
        L++;
    int lo = 0, hi = n;
    if (all_on_first) {
        if (t->rank > 0)
            lo = hi = n;
    } else {
        int base = n / t->size, extra = n % t->size;
        lo = t->rank * base + (t->rank < extra ? t->rank : extra);
        hi = lo + base + (t->rank < extra);
    }
    float *x = xmalloc(len * sizeof *x), *out = xmalloc(len * sizeof *out);
    tree_sum_begin(s, n, len);
    for (int i = lo; i < hi; i++) {
        for (size_t k = 0; k < len; k++)
            x[k] = leaf_value(i, k);
        tree_sum_push(s, i, x);
    }
    tree_sum_finish(s, t->world->comm, out);
    int bad = 0;
    for (size_t k = 0; k < len; k++) {
        float want = tree_ref(n, L, 0, k);
        bad += memcmp(&want, &out[k], sizeof want) != 0;
    }
    CHECKF(t, bad == 0, "%d leaves%s: %d of %zu sums differ from the fixed tree's bits", n,
           all_on_first ? " on rank 0" : "", bad, len);
    free(x);
    free(out);
}

/* What the start-up memory check counts: 16 leaves keep at most 2 (4 + 1) + 1 = 11 partial sums; with
 * more than one rank the slice's send, receive and accumulation buffers come on top. */
static void test_tree_sum_bytes(struct test_ctx *t)
{
    CHECK(t, tree_sum_bytes(1, 16, 1000, 64) == 11 * 1000 * sizeof(float));
    CHECK(t, tree_sum_bytes(2, 16, 1000, 64) == (11 * 1000 + 2 * (64 + 22) + 11 * 64) * sizeof(float));
    CHECK(t, tree_sum_bytes(1, 17, 1000, 64) == 13 * 1000 * sizeof(float)); /* a fifth level */
}

static void test_tree_sum(struct test_ctx *t)
{
    struct tree_sum s;
    const size_t len = 101;
    tree_sum_init(&s, t->world->comm, 16, len, 30); /* slices of 30 floats over all ranks: several */
    static const int ns[] = {1, 2, 3, 5, 7, 8, 13, 16};
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
        tree_sum_case(t, &s, ns[c], len, 0);
        tree_sum_case(t, &s, ns[c], len, 1);
        tree_sum_case(t, &s, ns[c], 7, 0); /* a shorter sum in the same buffers */
    }
    tree_sum_free(&s);
    /* The values are such that the order matters: adding the 13 leaves left to right differs. */
    int differ = 0;
    for (size_t k = 0; k < len; k++) {
        float seq = 0.0f;
        for (int i = 0; i < 13; i++)
            seq += leaf_value(i, k);
        differ += seq != tree_ref(13, 4, 0, k);
    }
    CHECKF(t, differ > 0, "a left-to-right sum of 13 leaves has the tree's bits in all %zu values", len);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"bucket count", test_bucket_count},
        {"bucketed gradient sum, one call per bucket", test_bucketed_sum},
        {"run queue hands out every run exactly once", test_run_queue},
        {"a stop signal on one rank reaches every rank", test_stop_poll_reaches_every_rank},
        {"fixed-tree sums: the same bits on any number of ranks", test_tree_sum},
        {"fixed-tree sums: the bytes they allocate", test_tree_sum_bytes},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
