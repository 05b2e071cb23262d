/* nn/radix_select: exact k-th smallest key, ties, the next key, keys spread over several places;
 * and the block-cyclic index arithmetic of mpi/blacs (no MPI needed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "mpi/blacs.h"
#include "nn/radix_select.h"
#include "tests/harness.h"
#include "tests/rng.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Selects rank k from keys split into `places` interleaved parts, each counted separately and the
 * histograms added, as ranks do.  Returns the state after the last round (or -1 on a refusal). */
static int select_split(const uint64_t *keys, int n, int places, uint64_t k, struct radix_select *s)
{
    uint64_t *hist = xcalloc(RADIX_BINS, sizeof *hist), *part = xcalloc(RADIX_BINS, sizeof *part);
    radix_select_begin(s, k);
    int rc = 0;
    while (rc == 0 && !radix_select_done(s)) {
        memset(hist, 0, RADIX_BINS * sizeof *hist);
        for (int p = 0; p < places; p++) {
            memset(part, 0, RADIX_BINS * sizeof *part);
            for (int i = p; i < n; i += places)
                radix_select_count(s, keys[i], part);
            for (int b = 0; b < RADIX_BINS; b++)
                hist[b] += part[b];
        }
        rc = radix_select_advance(s, hist);
    }
    free(hist);
    free(part);
    return rc;
}

/* Checks every field against the sorted keys for rank k. */
static void check_rank(struct test_ctx *t, const uint64_t *keys, const uint64_t *sorted, int n, int places, int k)
{
    struct radix_select s;
    CHECK_INT(t, select_split(keys, n, places, (uint64_t)k, &s), 0);
    CHECKF(t, s.key == sorted[k], "k %d: key %llx, sorted %llx", k, (unsigned long long)s.key,
           (unsigned long long)sorted[k]);
    int before = 0, equal = 0;
    for (int i = 0; i < n; i++) {
        before += sorted[i] < sorted[k];
        equal += sorted[i] == sorted[k];
    }
    CHECK_INT(t, s.n_before, before);
    CHECK_INT(t, s.n_equal, equal);
    /* next_key, when given, is the next distinct key, and it is given whenever that key shares the
     * top 48 bits */
    uint64_t next = UINT64_MAX;
    for (int i = k + 1; i < n; i++)
        if (sorted[i] > sorted[k]) {
            next = sorted[i];
            break;
        }
    int same_group = next != UINT64_MAX && (next >> RADIX_DIGIT_BITS) == (sorted[k] >> RADIX_DIGIT_BITS);
    CHECK(t, s.next_key == (same_group ? next : UINT64_MAX));
}

static void run_keys(struct test_ctx *t, uint64_t *keys, int n)
{
    uint64_t *sorted = xmalloc((size_t)n * sizeof *sorted);
    memcpy(sorted, keys, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_u64);
    static const int places[] = {1, 3};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < n; k += 1 + n / 37) {
            check_rank(t, keys, sorted, n, places[p], k);
            check_rank(t, keys, sorted, n, places[p], n - 1 - k);
        }
    free(sorted);
}

static uint64_t keys_buf[1000]; /* the keys of one test */

static void test_random_keys(struct test_ctx *t)
{
    struct test_rng rng = {5};
    for (int i = 0; i < 1000; i++)
        keys_buf[i] = rng_next(&rng);
    run_keys(t, keys_buf, 1000);
}

static void test_ties_and_shared_prefixes(struct test_ctx *t)
{
    struct test_rng rng = {9};
    /* a few values repeated many times, and many keys differing only in the last digit */
    for (int i = 0; i < 600; i++)
        keys_buf[i] = i % 3 == 0 ? 0x4000000000000000ULL + rng_next(&rng) % 4
                                 : 0x3ff0000000000000ULL + rng_next(&rng) % 200;
    run_keys(t, keys_buf, 600);
    for (int i = 0; i < 600; i++) /* all equal */
        keys_buf[i] = 42;
    run_keys(t, keys_buf, 600);
}

static void test_doubles_order_like_keys(struct test_ctx *t)
{
    struct test_rng rng = {13};
    int n = 500;
    for (int i = 0; i < n; i++)
        keys_buf[i] = radix_key_of(i % 7 == 0 ? 0.0 : rng_uniform(&rng) * (i % 2 ? 1e-3 : 1e3));
    for (int i = 1; i < n; i++) {
        double x = radix_value_of(keys_buf[i - 1]), y = radix_value_of(keys_buf[i]);
        CHECK(t, (x < y) == (keys_buf[i - 1] < keys_buf[i]));
        CHECK(t, radix_value_of(radix_key_of(x)) == x);
    }
    run_keys(t, keys_buf, n);
}

static void test_rank_beyond_the_keys_is_refused(struct test_ctx *t)
{
    uint64_t keys[5] = {1, 2, 3, 4, 5};
    struct radix_select s;
    CHECK_INT(t, select_split(keys, 5, 1, 5, &s), -1);
    CHECK_INT(t, select_split(keys, 5, 2, 4, &s), 0);
    CHECK_INT(t, s.key, 5);
}

/* bc_owner, bc_local_to_global and bc_global_to_local against ScaLAPACK's numroc. */
static void test_block_cyclic_indices(struct test_ctx *t)
{
    for (int n = 0; n <= 40; n += 3)
        for (int nb = 1; nb <= 7; nb += 2)
            for (int np = 1; np <= 5; np++) {
                int held = 0;
                for (int p = 0; p < np; p++) {
                    int loc = bc_numroc(n, nb, p, np);
                    held += loc;
                    int prev = -1;
                    for (int il = 0; il < loc; il++) {
                        int ig = bc_local_to_global(il, nb, p, np);
                        CHECK(t, ig > prev && ig < n);
                        CHECK_INT(t, bc_owner(ig, nb, np), p);
                        CHECK_INT(t, bc_global_to_local(ig, nb, np), il);
                        prev = ig;
                    }
                }
                CHECK_INT(t, held, n);
            }
}

static void test_near_square_grids(struct test_ctx *t)
{
    static const int want[][3] = {{1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 2}, {5, 1, 5},
                                  {6, 2, 3}, {8, 2, 4}, {9, 3, 3}, {12, 3, 4}, {16, 4, 4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int p, q;
        blacs_grid_shape(want[i][0], &p, &q);
        CHECKF(t, p == want[i][1] && q == want[i][2], "%d ranks: %dx%d", want[i][0], p, q);
    }
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"random keys, split over places", test_random_keys},
        {"ties and keys sharing all but the last digit", test_ties_and_shared_prefixes},
        {"non-negative doubles order like their keys", test_doubles_order_like_keys},
        {"a rank beyond the keys is refused", test_rank_beyond_the_keys_is_refused},
        {"block-cyclic indices agree with numroc", test_block_cyclic_indices},
        {"near-square grid shapes", test_near_square_grids},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
