/* The k-shot sampler: Python's random.seed + random.shuffle bit for bit (the worked vectors of
 * docs/data.md, "The k-shot splits", and the fixture that tests/data/make_kshot_fixture.sh makes with
 * tests/reference/kshot_split_reference.py). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/kshot.h"
#include "tests/harness.h"

static void test_first_outputs(struct test_ctx *t)
{
    static const struct {
        int64_t seed;
        uint32_t out[3];
    } v[] = {{0, {3626764237u, 1654615998u, 3255389356u}},
             {13, {1112433019u, 1248794762u, 2943160652u}},
             {42, {2746317213u, 478163327u, 107420369u}}};
    for (int i = 0; i < 3; i++) {
        struct pyrandom r;
        pyrandom_seed(&r, v[i].seed);
        for (int j = 0; j < 3; j++)
            CHECK_INT(t, pyrandom_next32(&r), v[i].out[j]);
    }
}

static void test_formats_vectors(struct test_ctx *t)
{
    int32_t tr[16], dv[16];
    struct err e;
    CHECK_INT(t, kshot_split(10, 3, 13, "x", tr, dv, &e), 0);
    int32_t want_tr[] = {3, 0, 7}, want_dv[] = {8, 6, 1};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(t, tr[i], want_tr[i]);
        CHECK_INT(t, dv[i], want_dv[i]);
    }
    static const struct {
        int seed;
        int32_t train[8], dev[4];
    } v[] = {{13, {771, 345, 478, 514, 520, 433, 92, 475}, {181, 188, 391, 325}},
             {21, {371, 421, 64, 239, 497, 911, 648, 953}, {928, 578, 450, 725}},
             {42, {776, 507, 895, 922, 33, 483, 85, 750}, {760, 49, 732, 336}},
             {87, {450, 170, 218, 177, 366, 519, 964, 646}, {985, 481, 161, 768}},
             {100, {342, 471, 929, 100, 543, 231, 154, 450}, {807, 326, 662, 220}}};
    for (int s = 0; s < 5; s++) {
        CHECK_INT(t, kshot_split(1000, 16, v[s].seed, "x", tr, dv, &e), 0);
        for (int i = 0; i < 8; i++)
            CHECKF(t, tr[i] == v[s].train[i], "seed %d train[%d] = %d, want %d", v[s].seed, i, tr[i], v[s].train[i]);
        for (int i = 0; i < 4; i++)
            CHECKF(t, dv[i] == v[s].dev[i], "seed %d dev[%d] = %d, want %d", v[s].seed, i, dv[i], v[s].dev[i]);
    }
}

static void test_randbelow_bit_length(struct test_ctx *t)
{
    /* randbelow(4) draws 3 bits (bit_length of 4, not of 3): the top 3 bits of each output. */
    struct pyrandom a, b;
    pyrandom_seed(&a, 7);
    pyrandom_seed(&b, 7);
    for (int i = 0; i < 100; i++) {
        uint32_t x;
        do
            x = pyrandom_next32(&b) >> 29;
        while (x >= 4);
        CHECK_INT(t, pyrandom_randbelow(&a, 4), x);
    }
}

static void test_reference_fixture(struct test_ctx *t)
{
    json_error_t je;
    json_t *root = json_load_file("tests/data/kshot_fixture.json", 0, &je);
    CHECKF(t, json_is_array(root), "tests/data/kshot_fixture.json: %s", je.text);
    if (!root)
        return;
    size_t i;
    json_t *c;
    int cases = 0;
    json_array_foreach(root, i, c)
    {
        long n = (long)json_integer_value(json_object_get(c, "n"));
        long k = (long)json_integer_value(json_object_get(c, "k"));
        int64_t seed = (int64_t)json_integer_value(json_object_get(c, "seed"));
        int32_t *tr = xmalloc((size_t)k * sizeof *tr), *dv = xmalloc((size_t)k * sizeof *dv);
        struct err e;
        CHECK_INT(t, kshot_split(n, k, seed, "fixture", tr, dv, &e), 0);
        json_t *jt = json_object_get(c, "train"), *jd = json_object_get(c, "dev");
        int bad = 0;
        for (long j = 0; j < k; j++)
            bad += tr[j] != json_integer_value(json_array_get(jt, (size_t)j)) ||
                   dv[j] != json_integer_value(json_array_get(jd, (size_t)j));
        CHECKF(t, bad == 0, "n %ld k %ld seed %lld: %d positions differ from the reference", n, k,
               (long long)seed, bad);
        free(tr);
        free(dv);
        cases++;
    }
    CHECKF(t, cases >= 50, "only %d fixture cases", cases);
    json_decref(root);
}

static void test_too_large_k(struct test_ctx *t)
{
    int32_t tr[8], dv[8];
    struct err e;
    CHECK_INT(t, kshot_split(15, 8, 13, "okvqa", tr, dv, &e), -1);
    CHECK_CONTAINS(t, e.msg, "okvqa");
    CHECK_CONTAINS(t, e.msg, "k = 8");
    CHECK_CONTAINS(t, e.msg, "has 15");
    CHECK_INT(t, kshot_split(16, 8, 13, "okvqa", tr, dv, &e), 0);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"first outputs", test_first_outputs},
        {"worked vectors", test_formats_vectors},
        {"randbelow uses bit_length(n)", test_randbelow_bit_length},
        {"reference fixture", test_reference_fixture},
        {"2k larger than the pool", test_too_large_k},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
