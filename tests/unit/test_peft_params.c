/* `mixphm params` at t5-base against the parameter counts derived by hand from the authors' code
 * (docs/methods.md): MixPHM 874,048, LoRA 884,736, Pfeiffer 2,379,264, Houlsby 4,758,528, Compacter on
 * the FFN only (our compacter++) 59,968, BitFit 202,752 (a bias on every block linear), Compacter after
 * self-attention and FFN 119,872 (48 x 2,496 + 64), AdaMix 5,922,816 (4 down experts of 49,216 and one
 * shared up projection of 49,920, 24 times), full fine-tuning = the backbone 224,538,624.  Routing
 * functions add nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "pipeline/params_cmd.h"
#include "tests/harness.h"

static char *run(struct test_ctx *t, const char *const *sets, int n, int expect_rc)
{
    struct err e;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const int rc = params_command(NULL, sets, n, f, &e);
    fclose(f);
    CHECKF(t, rc == expect_rc, "params_command returned %d: %s", rc, rc ? e.msg : "");
    if (rc) {
        free(buf);
        return xstrdup(e.msg);
    }
    return buf;
}

static void test_t5_base_counts(struct test_ctx *t)
{
    const struct {
        const char *method, *trainable;
    } want[] = {
        {"mixphm", "trainable 874,048 = 0.389 %"},     {"lora", "trainable 884,736 = 0.394 %"},
        {"pfeiffer", "trainable 2,379,264 = 1.060 %"}, {"houlsby", "trainable 4,758,528 = 2.119 %"},
        {"compacter++", "trainable 59,968 = 0.027 %"}, {"compacter", "trainable 119,872 = 0.053 %"},
        {"bitfit", "trainable 202,752 = 0.090 %"},     {"adamix", "trainable 5,922,816 = 2.638 %"},
        {"full", "trainable 224,538,624 = 100.000 %"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char method[64];
        snprintf(method, sizeof method, "peft.method=%s", want[i].method);
        const char *sets[] = {"data.dataset=vqav2", "model.size=t5-base", method, "peft.routing=none"};
        char *out = run(t, sets, 4, 0);
        CHECK_CONTAINS(t, out, want[i].trainable);
        CHECK_CONTAINS(t, out, "of the backbone's 224,538,624");
        free(out);
    }
    /* a routing function adds nothing */
    const char *routed[] = {"data.dataset=vqav2", "peft.method=mixphm", "peft.routing=proj"};
    char *out = run(t, routed, 3, 0);
    CHECK_CONTAINS(t, out, "trainable 874,048");
    free(out);
}

static void test_groups_and_sweeps(struct test_ctx *t)
{
    const char *sets[] = {"data.dataset=vqav2", "peft.method=[lora,mixphm]"};
    char *out = run(t, sets, 2, 0);
    CHECK_CONTAINS(t, out, "peft.method lora at model.size t5-base");
    CHECK_CONTAINS(t, out, "peft.method mixphm at model.size t5-base");
    CHECK_CONTAINS(t, out, "phm_rule");
    CHECK_CONTAINS(t, out, "decoder.block.*.layer.2.phm_adapter_moe.MoA_B.deepspeed_experts.*.W_right        48 "
                           "tensors       294,912");
    CHECK_CONTAINS(t, out, "decoder.block.*.layer.1.EncDecAttention.v.lora_B");
    free(out);
    char g[PARAM_NAME_MAX];
    params_group_name("encoder.block.11.layer.1.phm_adapter_moe.MoA_B.deepspeed_experts.3.b", g, sizeof g);
    CHECK_STR(t, g, "encoder.block.*.layer.1.phm_adapter_moe.MoA_B.deepspeed_experts.*.b");
    params_group_name("phm_rule", g, sizeof g);
    CHECK_STR(t, g, "phm_rule");
    /* the tiny preset and a custom bottleneck */
    const char *tiny[] = {"model.size=tiny", "peft.method=mixphm", "peft.mixphm.bottleneck=16"};
    out = run(t, tiny, 3, 0);
    /* d 64, 2+2 layers, b 16, n 4, r 8: down 8 (64 + 16) + 16 = 656, up 4 (8 (16 + 64) + 64) = 2,816 */
    CHECK_CONTAINS(t, out, "trainable 13,952 ="); /* 4 x (656 + 2816) + 64 */
    free(out);
}

static void test_errors(struct test_ctx *t)
{
    const char *bad[] = {"peft.method=mixphm", "peft.mixphm.bottleneck=30"};
    char *msg = run(t, bad, 2, -1);
    CHECK_CONTAINS(t, msg, "peft.mixphm: bottleneck 30 must be a multiple of phm_dim 4");
    free(msg);
    const char *unknown[] = {"peft.mixphm.experts=0"};
    msg = run(t, unknown, 1, -1);
    CHECK_CONTAINS(t, msg, "peft.mixphm.experts");
    free(msg);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"t5_base_counts", test_t5_base_counts},
        {"groups_and_sweeps", test_groups_and_sweeps},
        {"errors", test_errors},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
