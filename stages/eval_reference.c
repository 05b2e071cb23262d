/* The eval stage's references: what the trained runs are measured against, and weights from elsewhere.
 *   - zero-shot: the frozen backbone alone answers the test split (RUN/runs/zero-shot, k = 0);
 *   - baselines: the constant answer and the answer-type priors (RUN/baselines.json);
 *   - `mixphm eval CONFIG --weights FILE`: a weights file made elsewhere (tools/import_peft.py), scored
 *     as a run of the config's method would be (RUN/imported/NAME; no stamp). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_file.h"
#include "base/mem.h"
#include "model/params_h5.h"
#include "mpi/agree.h"
#include "run/stamp.h"
#include "run/sweep.h"
#include "stages/eval_run.h"
#include "stages/eval_score.h"
#include "stages/stages.h"

/* ---- zero-shot: the backbone alone ------------------------------------------------------------- */

#define ZERO_SHOT_RUN "zero-shot"

/* The settings the backbone's own answers depend on (besides the backbone and prepared.h5, whose stamp
 * ids the zero-shot stamp consumes). */
static void zero_shot_hash(const struct config *cfg, char out[HASH_HEX_LEN])
{
    static const char *const keys[] = {"eval.vqa_metric", "eval.max_new_tokens", "model.", NULL};
    hash_hex(config_prefix_hash(cfg, keys), out);
}

/* The id of the prepare stamp (what the zero-shot answers were read from). */
static int prepare_id(const char *run_dir, char id[HASH_HEX_LEN], struct err *e)
{
    char path[PATH_MAX_LEN];
    struct stamp s;
    if (stamp_path(run_dir, "prepare", path, sizeof path, e) != 0 || stamp_read(path, &s, e) != 0)
        return -1;
    snprintf(id, HASH_HEX_LEN, "%s", s.id);
    stamp_free(&s);
    return 0;
}

/* Whether RUN/runs/zero-shot holds the answers of this backbone to this prepared.h5 (rank-0 work). */
static int zero_shot_done(const struct train_data *d, const char *dir, const char *prep_id, char *why, size_t n)
{
    char path[PATH_MAX_LEN], want[HASH_HEX_LEN];
    struct err e;
    struct stamp s;
    why[0] = '\0';
    if (stamp_run_path(d->run_dir, ZERO_SHOT_RUN, STAGE_EVAL, path, sizeof path, &e) != 0 || stamp_read(path, &s, &e) != 0) {
        if (strcmp(e.msg, "no stamp") != 0)
            snprintf(why, n, "%s", e.msg);
        return 0;
    }
    zero_shot_hash(d->cfg, want);
    int ok = strcmp(s.config_hash, want) == 0 && stamp_outputs_intact(&s, dir, why, n) == 0;
    int consumed = 0;
    for (int i = 0; ok && i < s.n_consumes; i++)
        consumed += (strcmp(s.consumes[i].name, "backbone") == 0 && strcmp(s.consumes[i].id, d->backbone_id) == 0) ||
                    (strcmp(s.consumes[i].name, "prepare") == 0 && strcmp(s.consumes[i].id, prep_id) == 0);
    if (ok && consumed != 2)
        snprintf(why, n, "the backbone or prepared.h5 changed");
    stamp_free(&s);
    return ok && consumed == 2;
}

static int write_zero_shot(const struct train_data *d, const char *dir, const struct run_eval *ev, long backbone,
                           const char *prep_id, int ranks, struct err *e)
{
    const struct config *cfg = d->cfg;
    json_t *o = result_head(cfg, ZERO_SHOT_RUN, json_string(ZERO_SHOT_RUN), json_string("none"), json_integer(0), NULL,
                            "backbone", ev, 0, d->p.n_test);
    result_params(o, 0, backbone);
    json_object_set_new(o, "eval_seconds", json_real(ev->seconds));
    char path[PATH_MAX_LEN];
    int rc = result_write(o, dir, e);
    static const char *const outputs[] = {"result.json", "predictions.json"};
    char hash[HASH_HEX_LEN];
    zero_shot_hash(cfg, hash);
    struct stamp *s = xmalloc(sizeof *s);
    if (rc == 0)
        rc = stamp_build(s, "eval", hash, ev->seconds, ranks, dir, outputs, 2, e);
    if (rc == 0)
        rc = stamp_add_consume(s, "backbone", d->backbone_id, e);
    if (rc == 0)
        rc = stamp_add_consume(s, "prepare", prep_id, e);
    if (rc == 0)
        rc = stamp_run_path(d->run_dir, ZERO_SHOT_RUN, STAGE_EVAL, path, sizeof path, e);
    if (rc == 0)
        rc = stamp_write(path, s, cfg, e);
    free(s);
    return rc;
}

/* The backbone's answers to the test split, with no training and no method (RUN/runs/zero-shot). */
int evaluate_zero_shot(struct train_data *d, struct test_block *b, const struct world *w,
                              const struct logger *log, struct err *e)
{
    const struct config *cfg = d->cfg;
    char dir[PATH_MAX_LEN], prep_id[HASH_HEX_LEN] = "", why[ERR_MSG_MAX] = "";
    int done = 0, rc = train_run_dir(d, ZERO_SHOT_RUN, dir, sizeof dir, e);
    if (rc == 0 && w->rank == 0 && (rc = prepare_id(d->run_dir, prep_id, e)) == 0) {
        done = zero_shot_done(d, dir, prep_id, why, sizeof why);
        if (!done)
            rc = make_dirs(dir, e);
    }
    if (agree_root_result(w->comm, 0, rc, e) != 0)
        return err_prefix(e, "%s", ZERO_SHOT_RUN);
    MPI_Bcast(&done, 1, MPI_INT, 0, w->comm);
    if (done) {
        log_msg(log, "%s: evaluated already, skipped", ZERO_SHOT_RUN);
        return 0;
    }
    if (why[0])
        log_msg(log, "%s: evaluated again: %s", ZERO_SHOT_RUN, why);
    double t0 = now_monotonic();
    struct model_ctx mc;
    struct model_sizes sz = {(int)cfg->eval.batch_size, d->p.q_len, d->p.a_len, (int)cfg->eval.max_new_tokens};
    rc = model_setup(&mc, cfg, d->vocab, d->feat_dim, MODEL_BARE, &sz, e);
    if (rc == 0 && (rc = model_load_backbone(&mc, d->backbone, e)) != 0)
        model_teardown(&mc);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        return err_prefix(e, "%s", ZERO_SHOT_RUN);
    struct run_eval ev = {.test = json_object()};
    rc = evaluate_weights(d, &mc, b, dir, -1, "predictions.json", w, &ev, e);
    long backbone = (long)params_count(&mc.params, -1, PARAM_BACKBONE);
    model_teardown(&mc);
    ev.seconds = now_monotonic() - t0;
    if (rc == 0 && w->rank == 0)
        rc = write_zero_shot(d, dir, &ev, backbone, prep_id, w->size, e);
    json_decref(ev.test);
    rc = agree_root_result(w->comm, 0, rc, e);
    if (rc == 0)
        log_msg(log, "%s: test accuracy %.2f without training (%.1f %% empty answers, \"%s\" %.1f %%)", ZERO_SHOT_RUN,
                ev.overall[0], ev.shares[0].empty_percent, ev.shares[0].top_answer, ev.shares[0].top_percent);
    return rc == 0 ? 0 : err_prefix(e, "%s", ZERO_SHOT_RUN);
}

/* ---- baselines ---------------------------------------------------------------------------------- */

static json_t *scored(const struct train_data *d, const char *const *preds, struct err *e)
{
    char *report = NULL;
    double overall = 0;
    if (eval_score(&d->p, d->p.test, d->p.n_test, (char *const *)preds, d->cfg->eval.vqa_metric, &report, &overall, e) != 0)
        return NULL;
    free(report);
    return json_real(overall);
}

/* RUN/baselines.json (rank-0 work): the constant answer, and the answer-type prior of every k-shot
 * sample of the sweep. */
int write_baselines(const struct train_data *d, const char *path, struct err *e)
{
    const struct config *cfg = d->cfg;
    const long n = d->p.n_test;
    const char **preds = xmalloc((size_t)(n ? n : 1) * sizeof *preds); /* [n_test] */
    long top = most_frequent_answer(&d->p, d->p.test, n);
    const char *constant = top >= 0 ? strtab_get(&d->p.answers, top) : "";
    for (long i = 0; i < n; i++)
        preds[i] = constant;
    json_t *o = json_object(), *c = json_object(), *priors = json_array();
    json_object_set_new(o, "metric", json_string(config_enum_name("eval.vqa_metric", cfg->eval.vqa_metric)));
    json_object_set_new(c, "answer", json_string(constant));
    json_t *acc = scored(d, preds, e);
    int rc = acc ? 0 : -1;
    json_object_set_new(c, "accuracy", acc ? acc : json_null());
    json_object_set_new(o, "constant", c);
    union cfg_value sizes[CFG_MAX_SWEEP], seeds[CFG_MAX_SWEEP];
    int n_k = config_values(cfg, "data.sizes", sizes, CFG_MAX_SWEEP),
        n_s = config_values(cfg, "data.seeds", seeds, CFG_MAX_SWEEP);
    for (int a = 0; a < n_k && rc == 0; a++)
        for (int b = 0; b < n_s && rc == 0; b++) {
            int32_t *rows;
            long k;
            if ((rc = prepared_split(&d->p, seeds[b].i, sizes[a].i, SPLIT_TRAIN, &rows, &k, e)) != 0)
                break;
            answer_type_prior(&d->p, rows, k, d->p.test, n, preds);
            free(rows);
            json_t *v = json_object();
            json_object_set_new(v, "k", json_integer(sizes[a].i));
            json_object_set_new(v, "seed", json_integer(seeds[b].i));
            acc = scored(d, preds, e);
            rc = acc ? 0 : -1;
            json_object_set_new(v, "accuracy", acc ? acc : json_null());
            json_array_append_new(priors, v);
        }
    json_object_set_new(o, "prior", priors);
    free(preds);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    return json_write_file(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15), path, e);
}

/* ---- a weights file from elsewhere (mixphm eval CONFIG --weights FILE) --------------------------- */

/* The config of the method the file is evaluated with: the sweep's runs may differ in k and seed (which
 * change training, not the model) but not in method, routing or any other swept key. */
static int file_run_config(const struct config *cfg, struct config *rc_cfg, struct err *e)
{
    char first[SWEEP_NAME_MAX], label[SWEEP_NAME_MAX];
    const int n = sweep_count(cfg);
    for (int i = n - 1; i >= 0; i--) { /* backwards, so that rc_cfg ends as run 0's */
        if (sweep_run_config(cfg, i, rc_cfg, e) != 0)
            return -1;
        sweep_run_label(cfg, rc_cfg, i == n - 1 ? first : label, SWEEP_NAME_MAX);
        if (i < n - 1 && strcmp(label, first) != 0)
            return err_set(e, "the sweep has %s and %s, but a weights file is evaluated with one method (give "
                              "peft.method, peft.routing and every swept method key one value)", label, first);
    }
    return 0;
}

/* RUN/imported/NAME/result.json (rank-0 work). */
static int write_file_result(const char *dir, const char *name, const char *weights, const struct config *rc_cfg,
                             const struct run_eval *ev, long n_test, long trainable, long backbone, struct err *e)
{
    json_t *o = result_head(rc_cfg, name, json_string(config_enum_name("peft.method", rc_cfg->peft.method)),
                            json_string(config_enum_name("peft.routing", rc_cfg->peft.routing)),
                            json_integer(rc_cfg->data.sizes), NULL, "file", ev, 0, n_test);
    json_object_set_new(o, "weights_file", json_string(weights));
    result_params(o, trainable, backbone);
    json_object_set_new(o, "eval_seconds", json_real(ev->seconds));
    return result_write(o, dir, e);
}

int eval_weights_file(const struct config *cfg, struct run *run, const char *weights)
{
    /* As the backbone loader does: a file with FewVLM's visual biases fits a model without them. */
    static const char *const visual_biases[] = {"encoder.visual_embedding.feat_embedding.0.bias",
                                                "encoder.visual_embedding.absolute_vis_pos_embedding.0.bias", NULL};
    struct world *w = run->world;
    struct err *e = &run->err;
    struct train_data *d = xcalloc(1, sizeof *d);
    struct test_block b = {0};
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    struct run_eval ev = {.test = json_object()};
    struct model_ctx mc;
    int have_model = 0;
    double t0 = 0;
    char name[SWEEP_NAME_MAX], dir[PATH_MAX_LEN];
    d->cfg = cfg;
    d->run_dir = run->dir;
    /* The folder is named after the file: RUN/imported/weights for .../weights.h5. */
    const char *base = strrchr(weights, '/') ? strrchr(weights, '/') + 1 : weights;
    size_t len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".h5") == 0)
        len -= 3;
    int rc = len == 0 || len >= sizeof name ? err_set(e, "--weights %s: not a file name", weights) : 0;
    if (rc == 0) {
        snprintf(name, sizeof name, "%.*s", (int)len, base);
        rc = snprintf(dir, sizeof dir, "%s/imported/%s", run->dir, name) >= (int)sizeof dir
                 ? err_set(e, "path too long: %s/imported/%s", run->dir, name)
                 : 0;
    }
    if (rc == 0)
        rc = file_run_config(cfg, rc_cfg, e);
    if (rc == 0)
        rc = train_data_open(d, run->dir, PREPARED_QUESTIONS | PREPARED_IMAGES | PREPARED_RAW, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0 || (rc = sweep_backbone_shared(d, w->comm, e)) != 0)
        goto out;
    rc = test_block_load(&b, d, w->comm, d->p.n_test, (int)cfg->eval.batch_size, 0, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    t0 = now_monotonic();
    const struct model_sizes sz = {(int)rc_cfg->eval.batch_size, d->p.q_len, d->p.a_len,
                                   (int)rc_cfg->eval.max_new_tokens};
    rc = model_setup(&mc, rc_cfg, d->vocab, d->feat_dim, MODEL_OF_RUN, &sz, e);
    have_model = rc == 0;
    if (rc == 0)
        rc = model_load_backbone(&mc, d->backbone, e);
    /* The method's trainable tensors, exactly as a run's best.h5 holds them. */
    if (rc == 0)
        rc = params_load_h5_sel(&mc.params, weights, PARAM_ANY, 1, rc_cfg->model.visual_bias ? NULL : visual_biases, e);
    if (rc == 0 && w->rank == 0)
        rc = make_dirs(dir, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    rc = evaluate_weights(d, &mc, &b, dir, -1, "predictions.json", w, &ev, e);
    ev.seconds = now_monotonic() - t0;
    if (rc == 0 && w->rank == 0)
        rc = write_file_result(dir, name, weights, rc_cfg, &ev, d->p.n_test,
                               (long)params_count(&mc.params, 1, PARAM_ANY),
                               (long)params_count(&mc.params, -1, PARAM_BACKBONE), e);
    if ((rc = agree_root_result(w->comm, 0, rc, e)) == 0)
        log_msg(&run->log, "imported/%s: test accuracy %.2f with %s (%s); %ld questions in %.1f s", name, ev.overall[0],
                weights, config_enum_name("peft.method", rc_cfg->peft.method), d->p.n_test, ev.seconds);
out:
    if (have_model)
        model_teardown(&mc);
    json_decref(ev.test);
    free(rc_cfg);
    test_block_free(&b);
    train_data_close(d);
    free(d);
    return rc;
}
