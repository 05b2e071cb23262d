/* base/: atomic files, paths, hashing, appended text, progress lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "tests/harness.h"

static void test_atomic_write_replaces_whole_file(struct test_ctx *t)
{
    char path[600], tmp[700];
    struct err e;
    snprintf(path, sizeof path, "%s/out.txt", t->tmpdir);
    CHECK_INT(t, write_file_atomic(path, "first version\n", 14, &e), 0);
    CHECK_INT(t, write_file_atomic(path, "second\n", 7, &e), 0);
    char *data;
    size_t n;
    CHECK_INT(t, read_file(path, &data, &n, &e), 0);
    CHECK_STR(t, data, "second\n");
    CHECK_INT(t, n, 7);
    free(data);
    tmp_path_for(path, tmp, sizeof tmp, &e);
    CHECK(t, !file_exists(tmp)); /* no temporary file is left behind */
}

static void test_atomic_abandon_keeps_old_file(struct test_ctx *t)
{
    char path[600];
    struct err e;
    struct atomic_file af;
    snprintf(path, sizeof path, "%s/keep.txt", t->tmpdir);
    CHECK_INT(t, write_file_atomic(path, "old", 3, &e), 0);
    CHECK_INT(t, atomic_open(&af, path, &e), 0);
    fputs("half a new fi", af.f);
    atomic_abandon(&af); /* as after a write error */
    char *data;
    size_t n;
    CHECK_INT(t, read_file(path, &data, &n, &e), 0);
    CHECK_STR(t, data, "old");
    free(data);
    CHECK(t, !file_exists(af.tmp_path));
}

static void test_atomic_write_into_missing_folder_fails_cleanly(struct test_ctx *t)
{
    char path[600];
    struct err e;
    snprintf(path, sizeof path, "%s/no/such/dir/out.txt", t->tmpdir);
    CHECK_INT(t, write_file_atomic(path, "x", 1, &e), -1);
    CHECK_CONTAINS(t, e.msg, "cannot create");
    CHECK_CONTAINS(t, e.msg, "no/such/dir/out.txt.tmp");
    CHECK(t, !file_exists(path));
}

static void test_read_missing_file_names_it(struct test_ctx *t)
{
    struct err e;
    char *data;
    size_t n;
    CHECK_INT(t, read_file("/nonexistent/mixphm.yaml", &data, &n, &e), -1);
    CHECK_CONTAINS(t, e.msg, "/nonexistent/mixphm.yaml");
    CHECK_CONTAINS(t, e.msg, "No such file");
}

static void test_make_dirs_and_paths(struct test_ctx *t)
{
    char path[600], out[32];
    struct err e;
    snprintf(path, sizeof path, "%s/a/b/c", t->tmpdir);
    CHECK_INT(t, make_dirs(path, &e), 0);
    CHECK(t, dir_exists(path));
    CHECK_INT(t, make_dirs(path, &e), 0); /* existing is fine */
    snprintf(path, sizeof path, "%s/file", t->tmpdir);
    CHECK_INT(t, write_file_atomic(path, "x", 1, &e), 0);
    CHECK_INT(t, make_dirs(path, &e), -1); /* a file in the way */
    CHECK_CONTAINS(t, e.msg, "not a directory");
    CHECK_INT(t, path_join(out, sizeof out, "run", "a.h5", &e), 0);
    CHECK_STR(t, out, "run/a.h5");
    CHECK_INT(t, path_join(out, sizeof out, "run/", "/abs/x", &e), 0);
    CHECK_STR(t, out, "/abs/x");
    CHECK_INT(t, path_join(out, sizeof out, "a-rather-long-folder-name", "and-a-long-file", &e), -1);
    CHECK_CONTAINS(t, e.msg, "too long");
    CHECK_INT(t, file_size(path), 1);
    CHECK_INT(t, file_size(t->tmpdir), -1); /* a folder has no file size */
}

static void test_fnv1a_vectors(struct test_ctx *t)
{
    char hex[HASH_HEX_LEN];
    /* Published FNV-1a 64 test vectors. */
    CHECK(t, hash_str(HASH_INIT, "") == 0xcbf29ce484222325ULL);
    CHECK(t, hash_str(HASH_INIT, "a") == 0xaf63dc4c8601ec8cULL);
    CHECK(t, hash_str(HASH_INIT, "foobar") == 0x85944171f73967e8ULL);
    hash_hex(0x00000000000000abULL, hex);
    CHECK_STR(t, hex, "00000000000000ab");
}

static void test_progress_lines(struct test_ctx *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct logger log;
    log_init(&log, out, 1, "g0");
    struct progress p;
    progress_start(&p, &log, "train mixphm-k16-s13", 100, 10.0);
    /* a start time that the sums below keep exact (the monotonic clock's would round them) */
    const double t0 = p.t_start = p.t_last = 1000.0;
    progress_update_at(&p, 5, "loss 2.5", t0 + 1);   /* within the interval: silent */
    progress_update_at(&p, 20, "loss 2.0", t0 + 10); /* 20 in 10 s: 2/s, ETA 40 s */
    progress_update_at(&p, 100, "loss 1.0", t0 + 50);
    progress_update_at(&p, 100, "loss 1.0", t0 + 51); /* the final line only once */
    fclose(out);
    CHECK(t, !test_contains(buf, "loss 2.5"));
    CHECK_CONTAINS(t, buf, "g0: train mixphm-k16-s13: 20/100 (20.0%)  2.00/s  ETA 40s  loss 2.0\n");
    CHECK_CONTAINS(t, buf, "100/100 (100.0%)  2.00/s  took 50s  loss 1.0\n");
    int lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    CHECK_INT(t, lines, 2);
    CHECK(t, !strchr(buf, '\r')); /* readable in a batch log */
    free(buf);

    char d[32];
    format_duration(3725, d, sizeof d);
    CHECK_STR(t, d, "1h02m");
    format_duration(257, d, sizeof d);
    CHECK_STR(t, d, "4m17s");
    format_duration(-1, d, sizeof d);
    CHECK_STR(t, d, "?");
}

static void test_disabled_logger_is_silent(struct test_ctx *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct logger log;
    log_init(&log, out, 0, "");
    log_msg(&log, "not shown %d", 1);
    fclose(out);
    CHECK_INT(t, len, 0);
    free(buf);
}

static void test_strbuf_appends_and_cuts_off(struct test_ctx *t)
{
    char buf[12] = "";
    strbuf_appendf(buf, sizeof buf, "%s", "ab");
    strbuf_appendf(buf, sizeof buf, " %d", 42);
    CHECK_STR(t, buf, "ab 42");
    strbuf_appendf(buf, sizeof buf, " %s", "overflowing"); /* 11 chars fit, then the NUL */
    CHECK_STR(t, buf, "ab 42 overf");
    strbuf_appendf(buf, sizeof buf, "%s", "more"); /* a full buffer stays as it is */
    CHECK_STR(t, buf, "ab 42 overf");
    char one[1] = "";
    strbuf_appendf(one, sizeof one, "%s", "x");
    CHECK_INT(t, one[0], 0);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"atomic write replaces the whole file", test_atomic_write_replaces_whole_file},
        {"abandoned atomic write keeps the old file", test_atomic_abandon_keeps_old_file},
        {"atomic write into a missing folder fails cleanly", test_atomic_write_into_missing_folder_fails_cleanly},
        {"reading a missing file names it", test_read_missing_file_names_it},
        {"make_dirs and path_join", test_make_dirs_and_paths},
        {"FNV-1a test vectors", test_fnv1a_vectors},
        {"appended text is cut off at the buffer's end", test_strbuf_appends_and_cuts_off},
        {"progress lines: rate, ETA, final line once", test_progress_lines},
        {"a disabled logger prints nothing", test_disabled_logger_is_silent},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
