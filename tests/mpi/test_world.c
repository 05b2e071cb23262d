/* mpi/world: group splitting and agreement, under mpirun -np 1, 2 and 4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/world.h"
#include "nn/blas_env.h"
#include "tests/harness.h"

/* Splits into groups of `per` and checks the layout every rank sees. */
static void check_split(struct test_ctx *t, int per)
{
    struct world *w = t->world;
    struct group g;
    struct err e;
    CHECK_INT(t, world_split_groups(w, per, &g, &e), 0);
    int eff = per < w->size ? per : w->size;
    CHECK_INT(t, g.index, w->rank / eff);
    CHECK_INT(t, g.count, (w->size + eff - 1) / eff);
    CHECK_INT(t, g.rank, w->rank % eff);
    int expected_size = (g.index == g.count - 1) ? w->size - g.index * eff : eff;
    CHECK_INT(t, g.size, expected_size);
    /* The group communicator really holds those ranks: sum their world ranks. */
    int sum = 0;
    MPI_Allreduce(&w->rank, &sum, 1, MPI_INT, MPI_SUM, g.comm);
    int first = g.index * eff, want = 0;
    for (int r = first; r < first + expected_size; r++)
        want += r;
    CHECK_INT(t, sum, want);
    /* Every rank is in exactly one group. */
    int leaders = g.rank == 0, all_leaders = 0;
    MPI_Allreduce(&leaders, &all_leaders, 1, MPI_INT, MPI_SUM, w->comm);
    CHECK_INT(t, all_leaders, g.count);
    group_free(&g);
}

static void test_groups(struct test_ctx *t)
{
    for (int per = 1; per <= 5; per++)
        check_split(t, per);
}

static void test_bad_group_size(struct test_ctx *t)
{
    struct group g;
    struct err e;
    CHECK_INT(t, world_split_groups(t->world, 0, &g, &e), -1);
    CHECK_CONTAINS(t, e.msg, "ranks_per_run");
}

static void test_agreement(struct test_ctx *t)
{
    CHECK_INT(t, world_all_ok(t->world, 1), 1);
    CHECK_INT(t, world_all_ok(t->world, t->rank != t->size - 1), 0); /* the last rank says no */
    char buf[16] = "";
    if (t->rank == 0)
        strcpy(buf, "from rank 0");
    world_bcast_bytes(t->world, buf, (int)sizeof buf, 0);
    CHECK_STR(t, buf, "from rank 0");
    CHECK(t, t->world->local_size >= 1 && t->world->local_rank < t->world->local_size);
}

static void test_one_blas_thread_per_rank(struct test_ctx *t)
{
    /* Several ranks on a node share its cores: each runs one BLAS thread unless the user said otherwise. */
    if (t->world->local_size > 1 && !getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        CHECK_INT(t, blas_threads(), 1);
    else
        CHECK(t, blas_threads() >= 1);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"groups of 1..5 ranks", test_groups},
        {"a group size of 0 is refused", test_bad_group_size},
        {"all-ok and broadcast", test_agreement},
        {"one BLAS thread per rank when ranks share a node", test_one_blas_thread_per_rank},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
