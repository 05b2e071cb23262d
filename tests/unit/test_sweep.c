/* Sweep expansion: product order, left-out combinations, run configs and names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "run/config.h"
#include "run/sweep.h"
#include "tests/harness.h"

static struct config *load_sets(struct test_ctx *t, const char *const *sets, int n)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    struct err e;
    CHECKF(t, config_load(cfg, NULL, sets, n, &e) == 0, "%s", e.msg);
    return cfg;
}

static void test_product_in_fixed_order(struct test_ctx *t)
{
    const char *sets[] = {"peft.method=[mixphm, lora]", "data.sizes=[16, 64, 500]", "data.seeds=[13, 21]"};
    struct config *cfg = load_sets(t, sets, 3);
    struct config *run = xmalloc(sizeof *run);
    struct err e;
    CHECK_INT(t, sweep_count(cfg), 12);
    const char *expect[] = {"mixphm-k16-s13", "mixphm-k16-s21", "mixphm-k64-s13", "mixphm-k64-s21",
                            "mixphm-k500-s13", "mixphm-k500-s21", "lora-k16-s13", "lora-k16-s21",
                            "lora-k64-s13", "lora-k64-s21", "lora-k500-s13", "lora-k500-s21"};
    for (int i = 0; i < 12; i++) {
        CHECK_INT(t, sweep_run_config(cfg, i, run, &e), 0);
        char name[SWEEP_NAME_MAX];
        sweep_run_name(cfg, run, name, sizeof name);
        CHECK_STR(t, name, expect[i]);
        CHECK_INT(t, run->n_axes, 0); /* a run's config is scalar */
    }
    CHECK_INT(t, sweep_run_config(cfg, 1, run, &e), 0);
    CHECK_INT(t, run->peft.method, PEFT_MIXPHM);
    CHECK_INT(t, run->data.sizes, 16);
    CHECK_INT(t, run->data.seeds, 21);
    CHECK_INT(t, sweep_run_config(cfg, 12, run, &e), -1);
    CHECK_CONTAINS(t, e.msg, "12 runs");
    free(run);
    free(cfg);
}

static void test_routing_only_where_there_is_a_bottleneck(struct test_ctx *t)
{
    const char *sets[] = {"peft.method=[full, lora, mixphm]", "peft.routing=[none, add, proj]", "data.sizes=16",
                          "data.seeds=13"};
    struct config *cfg = load_sets(t, sets, 4);
    struct config *run = xmalloc(sizeof *run);
    struct err e;
    /* full runs once (routing none); lora and mixphm with each of the 3 routings. */
    CHECK_INT(t, sweep_count(cfg), 7);
    const char *expect[] = {"full-k16-s13", "lora-k16-s13", "lora+add-k16-s13", "lora+proj-k16-s13",
                            "mixphm-k16-s13", "mixphm+add-k16-s13", "mixphm+proj-k16-s13"};
    for (int i = 0; i < 7; i++) {
        char name[SWEEP_NAME_MAX];
        CHECK_INT(t, sweep_run_config(cfg, i, run, &e), 0);
        sweep_run_name(cfg, run, name, sizeof name);
        CHECK_STR(t, name, expect[i]);
    }
    free(run);
    free(cfg);
}

/* peft.routed_methods: the routing functions only on the methods it names. */
static void test_routed_methods(struct test_ctx *t)
{
    const char *sets[] = {"peft.method=[mixphm, lora, pfeiffer]", "peft.routing=[none, add]", "data.sizes=16",
                          "data.seeds=13", "peft.routed_methods=\" lora \""};
    struct config *cfg = load_sets(t, sets, 5);
    struct config *run = xmalloc(sizeof *run);
    struct err e;
    CHECK_INT(t, sweep_count(cfg), 4);
    const char *expect[] = {"mixphm-k16-s13", "lora-k16-s13", "lora+add-k16-s13", "pfeiffer-k16-s13"};
    for (int i = 0; i < 4; i++) {
        char name[SWEEP_NAME_MAX];
        CHECK_INT(t, sweep_run_config(cfg, i, run, &e), 0);
        sweep_run_name(cfg, run, name, sizeof name);
        CHECK_STR(t, name, expect[i]);
    }
    struct config *bad = xmalloc(sizeof *bad);
    const char *bad_sets[] = {"peft.routed_methods=\"lora,bitfit\""};
    CHECK_INT(t, config_load(bad, NULL, bad_sets, 1, &e), -1);
    CHECK_CONTAINS(t, e.msg, "'bitfit' is not a method with a bottleneck");
    free(bad);
    free(run);
    free(cfg);
}

/* A sweep over one method's own key varies only that method's runs; names and report labels say it. */
static void test_method_key_varies_its_method_only(struct test_ctx *t)
{
    const char *sets[] = {"peft.method=[mixphm, lora]", "peft.mixphm.regularizer=[true, false]", "data.sizes=16",
                          "data.seeds=[13, 21]"};
    struct config *cfg = load_sets(t, sets, 4);
    struct config *run = xmalloc(sizeof *run);
    struct err e;
    CHECK_INT(t, sweep_count(cfg), 6);
    const char *expect[] = {"mixphm-k16-s13-regularizer=true", "mixphm-k16-s13-regularizer=false",
                            "mixphm-k16-s21-regularizer=true", "mixphm-k16-s21-regularizer=false", "lora-k16-s13",
                            "lora-k16-s21"};
    const char *label[] = {"mixphm regularizer=true", "mixphm regularizer=false", "mixphm regularizer=true",
                           "mixphm regularizer=false", "lora", "lora"};
    for (int i = 0; i < 6; i++) {
        char name[SWEEP_NAME_MAX];
        CHECK_INT(t, sweep_run_config(cfg, i, run, &e), 0);
        sweep_run_name(cfg, run, name, sizeof name);
        CHECK_STR(t, name, expect[i]);
        sweep_run_label(cfg, run, name, sizeof name);
        CHECK_STR(t, name, label[i]);
    }
    CHECK_INT(t, sweep_run_config(cfg, 1, run, &e), 0);
    CHECK_INT(t, run->peft.mixphm.regularizer, 0);
    /* A run's hash leaves out the other methods' keys: a new MixPHM weight retrains no LoRA run. */
    const char *other_sets[] = {"peft.method=[mixphm, lora]", "peft.mixphm.regularizer=[true, false]",
                                "peft.mixphm.red_weight=0.5", "data.sizes=16", "data.seeds=[13, 21]"};
    struct config *other = load_sets(t, other_sets, 5), *run2 = xmalloc(sizeof *run2);
    CHECK_INT(t, sweep_run_config(cfg, 4, run, &e), 0); /* lora-k16-s13 */
    CHECK_INT(t, sweep_run_config(other, 4, run2, &e), 0);
    CHECK(t, config_stage_hash(run, STAGE_TRAIN) == config_stage_hash(run2, STAGE_TRAIN));
    CHECK_INT(t, sweep_run_config(cfg, 0, run, &e), 0); /* mixphm-k16-s13-regularizer=true */
    CHECK_INT(t, sweep_run_config(other, 0, run2, &e), 0);
    CHECK(t, config_stage_hash(run, STAGE_TRAIN) != config_stage_hash(run2, STAGE_TRAIN));
    free(other);
    free(run2);
    CHECK(t, config_method_reads_key(PEFT_PFEIFFER, "peft.adapter.bottleneck") &&
                 config_method_reads_key(PEFT_COMPACTERPP, "peft.compacter.rank") &&
                 !config_method_reads_key(PEFT_LORA, "peft.mixphm.red_weight") &&
                 config_method_reads_key(PEFT_LORA, "peft.consistency"));
    free(run);
    free(cfg);
}

static void test_single_run(struct test_ctx *t)
{
    const char *sets[] = {"data.sizes=64", "data.seeds=42", "peft.method=compacter++"};
    struct config *cfg = load_sets(t, sets, 3);
    struct config *run = xmalloc(sizeof *run);
    struct err e;
    CHECK_INT(t, sweep_count(cfg), 1);
    CHECK_INT(t, sweep_run_config(cfg, 0, run, &e), 0);
    char name[SWEEP_NAME_MAX];
    sweep_run_name(cfg, run, name, sizeof name);
    CHECK_STR(t, name, "compacter++-k64-s42");
    free(run);
    free(cfg);
}

static void test_run_hash_ignores_other_runs(struct test_ctx *t)
{
    /* Adding a seed to the sweep must not change the train hash of the runs that existed. */
    const char *a_sets[] = {"data.sizes=[16]", "data.seeds=[13]"};
    const char *b_sets[] = {"data.sizes=[16]", "data.seeds=[13, 21]"};
    struct config *a = load_sets(t, a_sets, 2), *b = load_sets(t, b_sets, 2);
    struct config *ra = xmalloc(sizeof *ra), *rb = xmalloc(sizeof *rb);
    struct err e;
    CHECK_INT(t, sweep_run_config(a, 0, ra, &e), 0);
    CHECK_INT(t, sweep_run_config(b, 0, rb, &e), 0);
    CHECK(t, config_stage_hash(ra, STAGE_TRAIN) == config_stage_hash(rb, STAGE_TRAIN));
    CHECK(t, config_stage_hash(a, STAGE_TRAIN) != config_stage_hash(b, STAGE_TRAIN));
    CHECK_INT(t, sweep_run_config(b, 1, rb, &e), 0);
    CHECK(t, config_stage_hash(ra, STAGE_TRAIN) != config_stage_hash(rb, STAGE_TRAIN));
    free(a);
    free(b);
    free(ra);
    free(rb);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"the product of the lists, in a fixed order", test_product_in_fixed_order},
        {"routing only for methods with a bottleneck", test_routing_only_where_there_is_a_bottleneck},
        {"peft.routed_methods limits the routing functions to the methods it names", test_routed_methods},
        {"a config without lists is one run", test_single_run},
        {"a method's own key varies only its runs", test_method_key_varies_its_method_only},
        {"a run's hash does not depend on the rest of the sweep", test_run_hash_ignores_other_runs},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
