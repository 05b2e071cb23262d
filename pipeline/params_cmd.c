#include "pipeline/params_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "model/peft/peft.h"
#include "model/vlt5.h"
#include "train/config_model.h"

#define VLT5_VOCAB 32200 /* 32,000 SentencePiece pieces, 100 <extra_id>, 100 <vis_extra_id> */
#define VLT5_FEATURES 2048

void params_group_name(const char *name, char *out, size_t n)
{
    static const char *const folded[] = {"block.", "deepspeed_experts."};
    size_t o = 0;
    for (const char *s = name; *s && o + 1 < n;) {
        size_t k = 0;
        for (size_t i = 0; i < sizeof folded / sizeof folded[0]; i++)
            if (!strncmp(s, folded[i], strlen(folded[i])) && s[strlen(folded[i])] >= '0' &&
                s[strlen(folded[i])] <= '9')
                k = strlen(folded[i]);
        if (k == 0) {
            out[o++] = *s++;
            continue;
        }
        for (size_t i = 0; i < k && o + 1 < n; i++)
            out[o++] = *s++;
        while (*s >= '0' && *s <= '9')
            s++;
        if (o + 1 < n)
            out[o++] = '*';
    }
    out[o] = '\0';
}

/* 1234567 -> "1,234,567" */
static const char *thousands(long v, char *buf, size_t n)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%ld", v < 0 ? -v : v);
    size_t len = strlen(digits), o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        buf[o++] = digits[i];
        if ((len - 1 - i) % 3 == 0 && i + 1 < len)
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

struct group {
    char name[PARAM_NAME_MAX];
    int tensors;
    long count;
};

static void report(const struct config *cfg, const struct params *p, const struct vlt5_dims *d, int method,
                   FILE *out)
{
    struct group *g = xcalloc((size_t)p->n + 1, sizeof *g);
    int n = 0;
    long total = 0;
    for (int i = 0; i < p->n; i++) {
        if (!p->t[i].trainable)
            continue;
        char key[PARAM_NAME_MAX];
        params_group_name(p->t[i].name, key, sizeof key);
        int k = 0;
        while (k < n && strcmp(g[k].name, key) != 0)
            k++;
        if (k == n)
            snprintf(g[n++].name, sizeof g[k].name, "%s", key);
        g[k].tensors++;
        g[k].count += (long)p->t[i].numel;
        total += (long)p->t[i].numel;
    }
    const long backbone = vlt5_param_count(d, cfg->model.visual_bias);
    char a[32], b[32];
    fprintf(out, "peft.method %s at model.size %s (d_model %d, %d + %d layers, vocabulary %d)\n",
            peft_kind_name(method), config_enum_name("model.size", cfg->model.size), d->d_model, d->n_enc_layers,
            d->n_dec_layers, d->vocab);
    for (int k = 0; k < n; k++)
        fprintf(out, "  %-78s %4d %-7s %13s\n", g[k].name, g[k].tensors, g[k].tensors == 1 ? "tensor" : "tensors",
                thousands(g[k].count, a, sizeof a));
    fprintf(out, "  trainable %s = %.3f %% of the backbone's %s\n\n", thousands(total, a, sizeof a),
            100.0 * (double)total / (double)backbone, thousands(backbone, b, sizeof b));
    free(g);
}

static int count_method(const struct config *cfg, int method, FILE *out, struct err *e)
{
    struct config one = *cfg;
    one.peft.method = method;
    one.peft.routing = 0; /* routing functions add no parameters */
    const int feat = cfg->data.dataset == DATASET_SYNTHETIC ? (int)cfg->data.synthetic.feature_dim : VLT5_FEATURES;
    /* The vocabulary of model.checkpoint when it names a file (the released synthetic backbone's is
     * the benchmark's), else VL-T5's. */
    struct vlt5_dims d, w;
    struct err ignored = {0};
    const int vocab = cfg->model.checkpoint[0] && vlt5_dims_from_weights(cfg->model.checkpoint, &w, &ignored) == 0
                          ? w.vocab
                          : VLT5_VOCAB;
    if (config_vlt5_dims(&one, vocab, feat, &d, e))
        return -1;
    struct vlt5_options vo;
    config_vlt5_options(&one, &vo);
    vo.max_batch = vo.max_text = vo.max_target = vo.max_generate = 1; /* nothing is allocated */
    struct peft_options po;
    config_peft_options(&one, &po);
    struct params p;
    struct vlt5 m;
    struct peft *pf = NULL;
    params_init(&p);
    int rc = vlt5_register(&m, &p, &d, &vo, e);
    if (rc == 0 && (rc = peft_create(&pf, &po, &m, &p, e)) == 0)
        report(&one, &p, &d, method, out);
    peft_free(pf);
    if (m.params)
        vlt5_free(&m);
    params_free(&p);
    return rc;
}

int params_command(const char *config, const char *const *sets, int n_sets, FILE *out, struct err *e)
{
    struct config *cfg = xmalloc(sizeof *cfg);
    union cfg_value methods[CFG_MAX_SWEEP];
    int rc = config_load(cfg, config, sets, n_sets, e);
    const int n = rc ? 0 : config_values(cfg, "peft.method", methods, CFG_MAX_SWEEP);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = count_method(cfg, (int)methods[i].i, out, e);
    struct vlt5_dims w;
    struct err ignored = {0};
    if (rc == 0 && cfg->data.dataset == DATASET_SYNTHETIC &&
        !(cfg->model.checkpoint[0] && vlt5_dims_from_weights(cfg->model.checkpoint, &w, &ignored) == 0))
        fprintf(out, "(the vocabulary is VL-T5's; the synthetic benchmark's own changes only full fine-tuning's "
                     "count)\n");
    free(cfg);
    return rc;
}
