#include "tests/harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/signals.h"
#include "mpi/world.h"

#define MAX_REPORTED 5

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
{
    t->failures++;
    if (t->failures > MAX_REPORTED)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->size > 1)
        fprintf(stderr, "    rank %d: %s:%d: %s\n", t->rank, file, line, msg);
    else
        fprintf(stderr, "    %s:%d: %s\n", file, line, msg);
}

int test_streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

int test_contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

int test_near(double a, double b, double atol, double rtol)
{
    if (isnan(a) || isnan(b))
        return 0;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

void test_write_file(struct test_ctx *t, const char *name, const char *text, char *path_out, size_t n)
{
    struct err e;
    snprintf(path_out, n, "%s/%s", t->tmpdir, name);
    if (write_file_atomic(path_out, text, strlen(text), &e) != 0)
        test_fail(t, __FILE__, __LINE__, "cannot write test file: %s", e.msg);
}

static int remove_tree(const char *path)
{
    char cmd[PATH_MAX_LEN + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

static int selected(const char *name, int argc, char **argv)
{
    return argc < 2 || strstr(name, argv[1]) != NULL;
}

static void make_tmpdir(struct test_ctx *t, int index)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(t->tmpdir, sizeof t->tmpdir, "%s/mixphm-test-%ld-%d-XXXXXX", base, (long)getpid(), index);
    if (!mkdtemp(t->tmpdir)) {
        fprintf(stderr, "cannot create a temporary folder under %s\n", base);
        exit(2);
    }
}

int test_main(const struct test *tests, int n, int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        struct test_ctx t = {.name = tests[i].name, .rank = 0, .size = 1};
        make_tmpdir(&t, i);
        tests[i].fn(&t);
        if (t.failures == 0 && t.checks == 0)
            test_fail(&t, __FILE__, __LINE__, "the test checked nothing");
        printf("%s - %s\n", t.failures ? "FAIL" : "ok", tests[i].name);
        fflush(stdout);
        if (t.failures) {
            failed++;
            fprintf(stderr, "    (files kept in %s)\n", t.tmpdir);
        } else {
            passed++;
            remove_tree(t.tmpdir);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int test_main_mpi(const struct test *tests, int n, int argc, char **argv)
{
    struct world w;
    struct err e;
    signals_catch_stop(); /* as mixphm does */
    if (world_init(&w, &argc, &argv, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        struct test_ctx t = {.name = tests[i].name, .world = &w, .rank = w.rank, .size = w.size};
        /* One folder for all ranks: rank 0 makes it and tells the others. */
        if (w.rank == 0)
            make_tmpdir(&t, i);
        world_bcast_bytes(&w, t.tmpdir, (int)sizeof t.tmpdir, 0);
        tests[i].fn(&t);
        int mine[2] = {t.failures, t.checks}, all[2];
        MPI_Allreduce(mine, all, 2, MPI_INT, MPI_SUM, w.comm);
        if (all[0] == 0 && all[1] == 0 && w.rank == 0) {
            test_fail(&t, __FILE__, __LINE__, "the test checked nothing");
            all[0] = 1;
        }
        if (w.rank == 0) {
            printf("%s - %s (np %d)\n", all[0] ? "FAIL" : "ok", tests[i].name, w.size);
            fflush(stdout);
            if (all[0])
                fprintf(stderr, "    (files kept in %s)\n", t.tmpdir);
            else
                remove_tree(t.tmpdir);
        }
        if (all[0])
            failed++;
        else
            passed++;
        world_barrier(&w);
    }
    if (w.rank == 0)
        printf("%d passed, %d failed\n", passed, failed);
    world_finalize(&w);
    return failed ? 1 : 0;
}
