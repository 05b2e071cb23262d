/* A small test harness.  A test file lists its tests and calls test_main (or test_main_mpi, which runs
 * every test on every rank and counts a test as failed when any rank failed it).  Each test prints
 * "ok - NAME" or "FAIL - NAME" with the first failed checks; the program ends with the line
 * "N passed, N failed" that tests/run.sh adds up, and exits non-zero on a failure.
 *
 *   static void test_defaults(struct test_ctx *t) { CHECK(t, x == 1); CHECKF(t, y < 2, "y=%d", y); }
 *   int main(int argc, char **argv) {
 *       static const struct test tests[] = {{"defaults", test_defaults}};
 *       return test_main(tests, TEST_COUNT(tests), argc, argv);
 *   }
 * An optional argument runs only the tests whose name contains it. */
#ifndef MIXPHM_TESTS_HARNESS_H
#define MIXPHM_TESTS_HARNESS_H

#include <stddef.h>

struct world;

struct test_ctx {
    const char *name;
    int failures;
    int checks;
    struct world *world; /* MPI tests only */
    int rank, size;      /* 0 and 1 in serial tests */
    char tmpdir[512];    /* a fresh empty folder for this test, removed after it passes */
};

struct test {
    const char *name;
    void (*fn)(struct test_ctx *t);
};

#define TEST_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(t, cond)                                                                                 \
    do {                                                                                               \
        (t)->checks++;                                                                                 \
        if (!(cond))                                                                                   \
            test_fail((t), __FILE__, __LINE__, "%s", #cond);                                           \
    } while (0)
#define CHECKF(t, cond, ...)                                                                           \
    do {                                                                                               \
        (t)->checks++;                                                                                 \
        if (!(cond))                                                                                   \
            test_fail((t), __FILE__, __LINE__, __VA_ARGS__);                                           \
    } while (0)
#define CHECK_INT(t, a, b)                                                                             \
    do {                                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                          \
        CHECKF(t, va_ == vb_, "%s == %s: %lld != %lld", #a, #b, va_, vb_);                             \
    } while (0)
#define CHECK_STR(t, a, b)                                                                             \
    do {                                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                                             \
        CHECKF(t, sa_ && sb_ && test_streq(sa_, sb_), "%s == %s: \"%s\" != \"%s\"", #a, #b,          \
               sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                            \
    } while (0)
/* |a - b| <= atol + rtol * |b| */
#define CHECK_NEAR(t, a, b, atol, rtol)                                                                \
    do {                                                                                               \
        double na_ = (double)(a), nb_ = (double)(b);                                                   \
        CHECKF(t, test_near(na_, nb_, (atol), (rtol)), "%s ~ %s: %.9g vs %.9g (atol %g, rtol %g)", #a, #b, \
               na_, nb_, (double)(atol), (double)(rtol));                                              \
    } while (0)
#define CHECK_CONTAINS(t, haystack, needle)                                                            \
    do {                                                                                               \
        const char *h_ = (haystack), *n_ = (needle);                                                   \
        CHECKF(t, h_ && test_contains(h_, n_), "expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)");  \
    } while (0)

int test_streq(const char *a, const char *b);
int test_contains(const char *haystack, const char *needle);
int test_near(double a, double b, double atol, double rtol);
/* Writes `text` to DIR/NAME and returns the path (static storage per ctx is not kept: copy it). */
void test_write_file(struct test_ctx *t, const char *name, const char *text, char *path_out, size_t n);

int test_main(const struct test *tests, int n, int argc, char **argv);
int test_main_mpi(const struct test *tests, int n, int argc, char **argv);

#endif
