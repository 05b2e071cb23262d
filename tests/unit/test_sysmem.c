/* The memory a job may still allocate (base/sysmem.h): cgroup limits read from a fake hierarchy, the
 * tightest level winning, "no limit" in both cgroup versions' spellings, and the live reading. */
#include <stdio.h>
#include <sys/stat.h>

#include "base/sysmem.h"
#include "tests/harness.h"

static void put(struct test_ctx *t, const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECKF(t, f != NULL, "cannot write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_v2_tightest_level(struct test_ctx *t)
{
    char job[700], step[720];
    snprintf(job, sizeof job, "%s/job", t->tmpdir);
    snprintf(step, sizeof step, "%s/step", job);
    CHECK_INT(t, mkdir(job, 0700), 0);
    CHECK_INT(t, mkdir(step, 0700), 0);
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job/step", 1) == -1); /* no files: no limit */
    put(t, job, "memory.max", "1000\n");
    put(t, job, "memory.current", "300\n");
    put(t, step, "memory.max", "max\n");
    put(t, step, "memory.current", "250\n");
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job/step", 1) == 700); /* the job's limit, from the step */
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job/step/", 1) == 700);
    put(t, step, "memory.max", "500\n");
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job/step", 1) == 250); /* the step's is tighter */
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job", 1) == 700);      /* a parent never sees its child */
    put(t, job, "memory.current", "2000\n");                        /* over the limit: nothing left */
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/job/step", 1) == 0);
}

static void test_v1_names_and_no_limit(struct test_ctx *t)
{
    put(t, t->tmpdir, "memory.limit_in_bytes", "9223372036854771712\n"); /* v1's "unlimited" */
    put(t, t->tmpdir, "memory.usage_in_bytes", "100\n");
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/", 1) == -1); /* v2 names: none there */
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/", 0) == -1);
    put(t, t->tmpdir, "memory.limit_in_bytes", "4096\n");
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/", 0) == 3996);
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "/not/there", 0) == 3996); /* missing levels are skipped */
    CHECK(t, sysmem_cgroup_room(t->tmpdir, "not", 0) == 3996);        /* a relative path ends at the root */
}

static void test_live_reading(struct test_ctx *t)
{
    const long long room = sysmem_available();
    CHECKF(t, room > (1LL << 20), "this machine reports %lld bytes available", room);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"cgroup v2: the tightest level from the process's up", test_v2_tightest_level},
        {"cgroup v1: its file names and its unlimited value", test_v1_names_and_no_limit},
        {"the live reading is positive", test_live_reading},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
