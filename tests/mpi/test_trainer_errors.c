/* A forward error on one rank of a training group (a token outside the vocabulary in the last rank's
 * share) ends trainer_step with that error on every rank, in both steps (the ordinary one and
 * train.chunk_examples'), with and without a regulariser: no rank is left waiting in a collective.
 * Then a good batch steps normally, so nothing is left half-done in the exchange. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "run/config.h"
#include "tests/harness.h"
#include "train/batch.h"
#include "train/model.h"
#include "train/random_batch.h"
#include "train/step.h"

enum { BG = 8, LT = 6, LD = 4, VOCAB = 150, FEAT = 16 };

static void one_case(struct test_ctx *t, const char *method, int chunk, int keep)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char set_method[64], set_chunk[64];
    snprintf(set_method, sizeof set_method, "peft.method=%s", method);
    snprintf(set_chunk, sizeof set_chunk, "train.chunk_examples=%d", chunk);
    const char *sets[] = {set_method, set_chunk, "model.size=custom", "model.d_model=16", "model.n_heads=2",
                          "model.d_kv=8", "model.d_ff=32", "model.n_layers=1"};
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECKF(t, config_load(cfg, NULL, sets, (int)(sizeof sets / sizeof *sets), &e) == 0, "config: %s", e.msg);
    int lo, hi;
    chunk_share(BG, chunk, rank, size, &lo, &hi);
    struct model_sizes sz = {.max_batch = BG, .max_text = LT, .max_target = LD, .max_generate = LD};
    struct model_ctx mc;
    CHECKF(t, model_setup(&mc, cfg, VOCAB, FEAT, MODEL_OF_RUN, &sz, &e) == 0, "model: %s", e.msg);
    vlt5_init_random(&mc.model, 1);
    peft_init(mc.peft, 1);
    struct trainer tr;
    trainer_init(&tr, &mc, MPI_COMM_WORLD, BG, cfg->train.bucket_mb, cfg->train.weight_decay, cfg->train.adam_eps,
                 cfg->train.clip_norm);
    CHECK_INT(t, trainer_fixed_order(&tr, chunk, BG, keep, -1, &e), 0);
    struct random_share s;
    random_share_fill(&s, lo, hi, LT, LD, mc.model.dims.n_regions, FEAT, VOCAB);
    struct vlt5_batch b = random_share_batch(&s, lo, hi, BG, LT, LD);
    const int bad_rank = size - 1;
    int32_t saved = 0;
    if (rank == bad_rank && hi > lo) {
        saved = s.text[(long)(hi - lo - 1) * LT];
        s.text[(long)(hi - lo - 1) * LT] = VOCAB; /* the share's last example */
    }
    double loss = 0, norm = 0;
    memset(&e, 0, sizeof e);
    const int rc = trainer_step(&tr, &b, 1e-3, 1, &loss, &norm, &e);
    CHECKF(t, rc != 0, "%s, chunk %d: the step went through on rank %d", method, chunk, rank);
    CHECK_CONTAINS(t, e.msg, "outside the vocabulary");
    if (size > 1) {
        char who[32];
        snprintf(who, sizeof who, "rank %d: ", bad_rank);
        CHECK_CONTAINS(t, e.msg, who);
    }
    if (rank == bad_rank && hi > lo)
        s.text[(long)(hi - lo - 1) * LT] = saved;
    b.step = 2;
    CHECKF(t, trainer_step(&tr, &b, 1e-3, 2, &loss, &norm, &e) == 0, "%s, chunk %d: the next step: %s", method,
           chunk, e.msg);
    random_share_free(&s);
    trainer_free(&tr);
    model_teardown(&mc);
    free(cfg);
}

static void test_forward_error_on_one_rank(struct test_ctx *t)
{
    static const char *const methods[] = {"lora", "mixphm"};
    for (int i = 0; i < 2; i++)
        for (int chunk = 0; chunk <= 2; chunk += 2)
            for (int keep = 0; keep <= (chunk > 0); keep++) /* chunks forwarded again, or their sets kept */
                one_case(t, methods[i], chunk, keep);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"a forward error on one rank is every rank's error", test_forward_error_on_one_rank},
    };
    return test_main_mpi(tests, TEST_COUNT(tests), argc, argv);
}
