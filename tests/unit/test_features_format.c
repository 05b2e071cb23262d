/* features.h5's storage details: float16 conversion (checked against HDF5's own conversion) and the
 * chunk size. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/features.h"
#include "data/half.h"
#include "tests/harness.h"

static void test_half_round_trip(struct test_ctx *t)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = half_to_float((uint16_t)h);
        if (isnan(f))
            continue;
        bad += half_from_float(f) != h;
    }
    CHECKF(t, bad == 0, "%d half values do not survive float and back", bad);
    CHECK(t, half_to_float(0x3c00) == 1.0f);
    CHECK(t, half_to_float(0x0001) == ldexpf(1.0f, -24));
    CHECK(t, half_from_float(65520.0f) == 0x7c00); /* rounds up to infinity */
    CHECK(t, half_from_float(65519.0f) == 0x7bff);
    CHECK(t, half_from_float(1.0f + ldexpf(1.0f, -11)) == 0x3c00); /* a tie goes to even */
    CHECK(t, (half_from_float(NAN) & 0x7c00) == 0x7c00 && (half_from_float(NAN) & 0x3ff));
}

/* IEEE round to nearest, ties to even (what NumPy's float16 does), checked at every midpoint between two
 * neighbouring halves.  (HDF5 1.10.8's own float -> half conversion rounds ties away from zero and
 * turns 65520 into 32768: mixphm does not use it.) */
static void test_half_rounding(struct test_ctx *t)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float a = half_to_float((uint16_t)h), b = h == 0x7bff ? 65536.0f : half_to_float((uint16_t)(h + 1));
        float mid = (a + b) / 2; /* exact: halves have 11 significant bits, floats 24 */
        uint16_t up = (uint16_t)(h + 1); /* 0x7c00 (infinity) above the largest half */
        bad += half_from_float(mid) != ((h & 1) ? up : h);
        bad += half_from_float(nextafterf(mid, 0)) != h;
        bad += half_from_float(nextafterf(mid, INFINITY)) != up;
        bad += half_from_float(-mid) != (((h & 1) ? up : h) | 0x8000);
    }
    CHECKF(t, bad == 0, "%d roundings differ from round-to-nearest-even", bad);
}

static void test_chunks(struct test_ctx *t)
{
    struct features_layout l = {.n_images = 100000, .dim = 2048};
    CHECK_INT(t, features_chunk_images(&l), 3); /* 36 x 2048 x 4 bytes per image: 3 make about 1 MiB */
    l.half = 1;
    CHECK_INT(t, features_chunk_images(&l), 7);
    l.dim = 64;
    l.half = 0;
    CHECK_INT(t, features_chunk_images(&l), 113);
    l.n_images = 5;
    CHECK_INT(t, features_chunk_images(&l), 5);
    l.chunk_images = 2;
    CHECK_INT(t, features_chunk_images(&l), 2);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"float16 round trip", test_half_round_trip},
        {"float16 rounds to nearest even", test_half_rounding},
        {"chunk sizes", test_chunks},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
