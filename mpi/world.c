#include "mpi/world.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/signals.h"
#include "nn/blas_env.h"

static void print_error_line(const char *what, const char *body)
{
    int rank = -1, size = 0, init = 0, fin = 0;
    char host[64] = "?";
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    fprintf(stderr, "mixphm: rank %d/%d (%s): %s: %s\n", rank, size, host, what, body);
    fflush(stderr);
}

_Noreturn static void abort_all(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* The MPI error handler: every failed MPI call on any communicator ends here. */
static void on_mpi_error(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    char msg[MPI_MAX_ERROR_STRING + 1] = "";
    int len = 0;
    MPI_Error_string(*code, msg, &len);
    msg[len] = '\0';
    print_error_line("MPI error", msg);
    abort_all();
}

_Noreturn void world_abort(const struct world *w, const char *fmt, ...)
{
    (void)w;
    char body[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    print_error_line("error", body);
    abort_all();
}

_Noreturn void world_fail(struct world *w, const struct err *e)
{
    if (e->collective) {
        if (w->rank == 0) {
            fprintf(stderr, "mixphm: %s%s\n", e->exit_status == EXIT_STOPPED ? "" : "error: ", e->msg);
            fflush(stderr);
        }
        world_finalize(w);
        exit(e->exit_status ? e->exit_status : 1);
    }
    world_abort(w, "%s", e->msg);
}

int world_poll_stop(MPI_Comm comm)
{
    int mine = signals_take_stop(), any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

int world_init(struct world *w, int *argc, char ***argv, struct err *e)
{
    memset(w, 0, sizeof *w);
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return err_set(e, "MPI_Init failed");
    w->comm = MPI_COMM_WORLD;
    MPI_Comm_create_errhandler(on_mpi_error, &w->errhandler);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, w->errhandler);
    MPI_Comm_rank(w->comm, &w->rank);
    MPI_Comm_size(w->comm, &w->size);
    MPI_Comm node;
    MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &w->local_rank);
    MPI_Comm_size(node, &w->local_size);
    MPI_Comm_free(&node);
    gethostname(w->host, sizeof w->host - 1);
    /* Several ranks on a node each starting a BLAS thread per core oversubscribe it 1.4-3x
     * (docs/benchmarks.md); one rank per node keeps all its cores.  An explicit setting wins. */
    if (w->local_size > 1 && !getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        blas_set_threads(1);
    return 0;
}

void world_finalize(struct world *w)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin)
        return;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Errhandler_free(&w->errhandler);
    MPI_Finalize();
}

void world_barrier(const struct world *w)
{
    MPI_Barrier(w->comm);
}

int world_all_ok(const struct world *w, int ok)
{
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, w->comm);
    return all;
}

void world_bcast_bytes(const struct world *w, void *buf, int n, int root)
{
    MPI_Bcast(buf, n, MPI_BYTE, root, w->comm);
}

int world_split_groups(const struct world *w, int ranks_per_group, struct group *g, struct err *e)
{
    if (ranks_per_group < 1)
        return err_set(e, "train.ranks_per_run must be at least 1, got %d", ranks_per_group);
    int per = ranks_per_group < w->size ? ranks_per_group : w->size;
    g->index = w->rank / per;
    g->count = (w->size + per - 1) / per;
    MPI_Comm_split(w->comm, g->index, w->rank, &g->comm);
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    return 0;
}

void group_free(struct group *g)
{
    if (g->comm != MPI_COMM_NULL)
        MPI_Comm_free(&g->comm);
    g->comm = MPI_COMM_NULL;
}
