/* A program that fails on purpose, so that tests/cli/test_abort.sh can check what a failing rank does
 * to the whole job:
 *   failure_probe abort       the last rank calls world_abort while the others wait in a barrier
 *   failure_probe mpi-error   rank 0 sends to a rank that does not exist (our MPI error handler)
 *   failure_probe collective  every rank fails with the same error (printed once, clean exit 1)
 *   failure_probe ok          no failure */
#include <stdio.h>
#include <string.h>

#include "mpi/world.h"

int main(int argc, char **argv)
{
    struct world w;
    struct err e;
    if (world_init(&w, &argc, &argv, &e) != 0)
        return 2;
    const char *mode = argc > 1 ? argv[1] : "ok";
    if (strcmp(mode, "abort") == 0) {
        if (w.rank == w.size - 1)
            world_abort(&w, "deliberate failure in the probe (%s)", "abort");
        world_barrier(&w);
    } else if (strcmp(mode, "mpi-error") == 0) {
        if (w.rank == 0) {
            int x = 1;
            MPI_Send(&x, 1, MPI_INT, w.size + 3, 0, w.comm);
        }
        world_barrier(&w);
    } else if (strcmp(mode, "collective") == 0) {
        err_set_all(&e, "every rank agrees this config is wrong");
        world_fail(&w, &e);
    }
    world_finalize(&w);
    return 0;
}
