/* The eval stage: every trained run of the sweep answers the full test split, greedily, with the
 * method's inference form, with both its best-dev and its last weights; the questions are split over
 * all ranks (each a contiguous block, every question answered once) and rank 0 scores them with the
 * configured VQA accuracy variant (GQA: exact match).  Per run, in RUN/runs/NAME/:
 *   predictions.json        the official results format, for the weights eval.weights names
 *   predictions_{best,last}.json
 *   result.json             test scores of both, dev score, parameter counts, training time, and the
 *                           shares of empty answers and of the most frequent answer (a collapsed run)
 * A run already evaluated with the same settings and the same trained weights is skipped.  With
 * eval.zero_shot the backbone itself answers too (RUN/runs/zero-shot, k = 0), and with eval.baselines
 * rank 0 scores the constant answer and the answer-type priors (RUN/baselines.json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json_file.h"
#include "base/mem.h"
#include "base/signals.h"
#include "model/params_h5.h"
#include "mpi/agree.h"
#include "mpi/gather_strings.h"
#include "run/stamp.h"
#include "run/sweep.h"
#include "train/decode.h"
#include "stages/eval_run.h"
#include "stages/eval_score.h"
#include "stages/stages.h"
#include "train/data.h"

static const char *const weight_sets[2] = {"best", "last"};

/* The id of a run's train stamp (what its evaluation consumes); -1 with the reason in e. */
static int train_stamp_id(const char *run_dir, const char *name, char id[HASH_HEX_LEN], struct err *e)
{
    char path[PATH_MAX_LEN];
    struct stamp s;
    if (stamp_run_path(run_dir, name, STAGE_TRAIN, path, sizeof path, e) != 0 || stamp_read(path, &s, e) != 0)
        return -1;
    snprintf(id, HASH_HEX_LEN, "%s", s.id);
    stamp_free(&s);
    return 0;
}

/* Whether the run is evaluated with these settings and these trained weights; `why` says why not. */
static int eval_done(const char *run_dir, const struct config *rc_cfg, const char *name, const char *train_id,
                     char *why, size_t n)
{
    struct stamp s;
    if (stamp_run_current(run_dir, name, rc_cfg, STAGE_EVAL, &s, why, n) != RUN_DONE)
        return 0;
    int ok = s.n_consumes == 1 && strcmp(s.consumes[0].id, train_id) == 0;
    if (!ok)
        snprintf(why, n, "its weights were trained again");
    stamp_free(&s);
    return ok;
}

/* [{"answer": ..., "question_id": ...}] with sorted keys and an indent of 4, as MixPHM's dump_result. */
static int write_predictions(const char *path, const struct prepared *p, const int32_t *rows, long n,
                             char *const *preds, struct err *e)
{
    json_t *arr = json_array();
    for (long i = 0; i < n; i++) {
        int32_t q = rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "answer", json_string(preds[i]));
        json_object_set_new(o, "question_id", p->ids_are_strings ? json_string(strtab_get(&p->q_id_text, q))
                                                                 : json_integer(p->q_id[q]));
        json_array_append_new(arr, o);
    }
    return json_write_file(arr, JSON_INDENT(4) | JSON_SORT_KEYS, path, e);
}

/* The report of a set of answers gains their shares. */
static void add_shares(json_t *report, const struct answer_shares *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "empty_percent", json_real(s->empty_percent));
    json_object_set_new(o, "top_answer", json_string(s->top_answer));
    json_object_set_new(o, "top_percent", json_real(s->top_percent));
    json_object_set_new(report, "answers", o);
}

int evaluate_weights(struct train_data *d, struct model_ctx *mc, struct test_block *b, const char *dir, int which,
                     const char *predictions, const struct world *w, struct run_eval *ev, struct err *e)
{
    const struct config *cfg = d->cfg;
    int rc = 0;
    if (which >= 0) {
        char weights[PATH_MAX_LEN + 32];
        snprintf(weights, sizeof weights, "%s/%s.h5", dir, weight_sets[which]);
        rc = params_load_h5_sel(&mc->params, weights, PARAM_ANY, 1, NULL, e);
    }
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        return -1;
    const int slot = which >= 0 ? which : 0;
    peft_eval_prepare(mc->peft);
    char **preds = xcalloc((size_t)(b->n + 1), sizeof *preds);
    rc = decode_rows(mc, &d->p, &d->tok, &b->cache, &b->buf, b->rows, b->n, (int)cfg->eval.batch_size,
                     (int)cfg->eval.max_new_tokens, preds, e);
    if (agree_all_ok(w->comm, rc, e) != 0) {
        for (long i = 0; i < b->n; i++)
            free(preds[i]);
        free(preds);
        return -1;
    }
    char **all;
    long n_all;
    gather_strings(w->comm, 0, preds, (int)b->n, &all, &n_all);
    for (long i = 0; i < b->n; i++)
        free(preds[i]);
    free(preds);
    if (w->rank == 0) {
        char *report = NULL, path[PATH_MAX_LEN];
        rc = n_all == d->p.n_test ? 0 : err_set(e, "internal error: %ld answers for %ld test questions", n_all, d->p.n_test);
        if (rc == 0)
            rc = eval_score(&d->p, d->p.test, n_all, all, cfg->eval.vqa_metric, &report, &ev->overall[slot], e);
        if (rc == 0)
            rc = path_join(path, sizeof path, dir, predictions, e);
        if (rc == 0)
            rc = write_predictions(path, &d->p, d->p.test, n_all, all, e);
        if (rc == 0) {
            json_error_t je;
            json_t *r = json_loads(report, 0, &je);
            answer_shares(all, n_all, &ev->shares[slot]);
            add_shares(r, &ev->shares[slot]);
            json_object_set_new(ev->test, which >= 0 ? weight_sets[which] : "test", r);
        }
        free(report);
        for (long i = 0; i < n_all; i++)
            free(all[i]);
        free(all);
    }
    return agree_root_result(w->comm, 0, rc, e);
}

/* The keys of every result.json (stages/eval_run.h). */
json_t *result_head(const struct config *cfg, const char *run, json_t *method, json_t *routing, json_t *k, json_t *seed,
                    const char *weights, const struct run_eval *ev, int slot, long n_test)
{
    json_t *o = json_object();
    json_object_set_new(o, "run", json_string(run));
    json_object_set_new(o, "dataset", json_string(config_enum_name("data.dataset", cfg->data.dataset)));
    json_object_set_new(o, "method", method);
    json_object_set_new(o, "routing", routing);
    json_object_set_new(o, "k", k);
    if (seed)
        json_object_set_new(o, "seed", seed);
    json_object_set_new(o, "metric", json_string(cfg->data.dataset == DATASET_GQA
                                                     ? "gqa exact match"
                                                     : config_enum_name("eval.vqa_metric", cfg->eval.vqa_metric)));
    json_object_set_new(o, "weights", json_string(weights));
    json_object_set_new(o, "accuracy", json_real(ev->overall[slot]));
    json_object_set_new(o, "empty_answers_percent", json_real(ev->shares[slot].empty_percent));
    json_object_set_new(o, "top_answer", json_string(ev->shares[slot].top_answer));
    json_object_set_new(o, "top_answer_percent", json_real(ev->shares[slot].top_percent));
    json_object_set_new(o, "test_questions", json_integer(n_test));
    json_object_set(o, "test", ev->test);
    return o;
}

void result_params(json_t *o, long trainable, long backbone)
{
    json_object_set_new(o, "trainable_params", json_integer(trainable));
    json_object_set_new(o, "backbone_params", json_integer(backbone));
    json_object_set_new(o, "trainable_percent",
                        json_real(backbone > 0 ? 100.0 * (double)trainable / (double)backbone : 0));
}

int result_write(json_t *o, const char *dir, struct err *e)
{
    char path[PATH_MAX_LEN];
    if (path_join(path, sizeof path, dir, "result.json", e) != 0) {
        json_decref(o);
        return -1;
    }
    return json_write_file(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15), path, e);
}

/* result.json of a run of the sweep: the test scores next to what train.json says of the run. */
static int write_result(const char *dir, const char *name, const struct config *rc_cfg, struct run_eval *ev,
                        long n_test, struct err *e)
{
    char path[PATH_MAX_LEN + 32];
    snprintf(path, sizeof path, "%s/train.json", dir);
    json_error_t je;
    json_t *train = json_load_file(path, 0, &je);
    if (!train)
        return err_set(e, "%s: unreadable (line %d: %s)", path, je.line, je.text);
    int which = rc_cfg->eval.weights;
    json_t *o = result_head(rc_cfg, name, json_incref(json_object_get(train, "method")),
                            json_incref(json_object_get(train, "routing")), json_incref(json_object_get(train, "k")),
                            json_incref(json_object_get(train, "seed")), weight_sets[which], ev, which, n_test);
    json_object_set(o, "dev_best", json_object_get(train, "best_dev"));
    json_object_set(o, "best_epoch", json_object_get(train, "best_epoch"));
    result_params(o, (long)json_integer_value(json_object_get(train, "trainable_params")),
                  (long)json_integer_value(json_object_get(train, "backbone_params")));
    json_object_set(o, "train_seconds", json_object_get(train, "train_seconds"));
    json_object_set_new(o, "eval_seconds", json_real(ev->seconds));
    json_decref(train);
    return result_write(o, dir, e);
}

static int write_eval_stamp(const char *run_dir, const char *dir, const char *name, const struct config *rc_cfg,
                            const char *train_id, double seconds, int ranks, struct err *e)
{
    static const char *const outputs[] = {"result.json", "predictions.json", "predictions_best.json",
                                          "predictions_last.json"};
    char hash[HASH_HEX_LEN];
    hash_hex(config_stage_hash(rc_cfg, STAGE_EVAL), hash);
    struct stamp *s = xmalloc(sizeof *s);
    int rc = stamp_build(s, "eval", hash, seconds, ranks, dir, outputs, 4, e);
    if (rc == 0)
        rc = stamp_add_consume(s, "train", train_id, e);
    char path[PATH_MAX_LEN];
    if (rc == 0)
        rc = stamp_run_path(run_dir, name, STAGE_EVAL, path, sizeof path, e);
    if (rc == 0)
        rc = stamp_write(path, s, rc_cfg, e);
    free(s);
    return rc;
}

/* Whether dir/last.h5 holds the same values as the best weights the model has now (every trainable
 * value bit for bit): a run whose best dev score came at its last validation, where decoding the
 * test split again would give the same answers.  The model keeps the best weights. */
static int last_is_best(struct params *p, const char *dir, const struct world *w, int *same, struct err *e)
{
    char path[PATH_MAX_LEN + 32];
    snprintf(path, sizeof path, "%s/last.h5", dir);
    float *best = xmalloc((p->n_train ? p->n_train : 1) * sizeof *best); /* [n_train] */
    memcpy(best, p->train, p->n_train * sizeof *best);
    int rc = params_load_h5_sel(p, path, PARAM_ANY, 1, NULL, e);
    *same = rc == 0 && memcmp(best, p->train, p->n_train * sizeof *best) == 0;
    memcpy(p->train, best, p->n_train * sizeof *best);
    free(best);
    return agree_all_ok(w->comm, rc, e);
}

/* The last weights' answers and report when they are the best weights: predictions_last.json is a copy
 * of predictions_best.json (rank 0). */
static int reuse_best_answers(const char *dir, struct run_eval *ev, const struct world *w, struct err *e)
{
    ev->overall[1] = ev->overall[0];
    ev->shares[1] = ev->shares[0];
    int rc = 0;
    if (w->rank == 0) {
        json_object_set_new(ev->test, "last", json_deep_copy(json_object_get(ev->test, "best")));
        char from[PATH_MAX_LEN + 48], to[PATH_MAX_LEN + 48], *text;
        size_t len;
        snprintf(from, sizeof from, "%s/predictions_best.json", dir);
        snprintf(to, sizeof to, "%s/predictions_last.json", dir);
        rc = read_file(from, &text, &len, e);
        if (rc == 0) {
            rc = write_file_atomic(to, text, len, e);
            free(text);
        }
    }
    return agree_root_result(w->comm, 0, rc, e);
}

static int evaluate_run(struct train_data *d, struct test_block *b, const struct config *rc_cfg, const char *name,
                        const char *train_id, const struct world *w, const struct logger *log, struct err *e)
{
    char dir[PATH_MAX_LEN];
    if (train_run_dir(d, name, dir, sizeof dir, e) != 0)
        return -1;
    double t0 = now_monotonic();
    struct model_ctx mc;
    struct model_sizes sz = {(int)rc_cfg->eval.batch_size, d->p.q_len, d->p.a_len, (int)rc_cfg->eval.max_new_tokens};
    int rc = model_setup(&mc, rc_cfg, d->vocab, d->feat_dim, MODEL_OF_RUN, &sz, e);
    if (rc == 0 && (rc = model_load_backbone(&mc, d->backbone, e)) != 0)
        model_teardown(&mc);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        return err_prefix(e, "%s", name);
    struct run_eval ev = {.test = json_object()};
    rc = evaluate_weights(d, &mc, b, dir, 0, "predictions_best.json", w, &ev, e);
    int same = 0;
    if (rc == 0)
        rc = last_is_best(&mc.params, dir, w, &same, e);
    if (rc == 0 && same) {
        log_msg(log, "%s: the last weights are the best ones: their answers are the best weights' (decoded once)", name);
        rc = reuse_best_answers(dir, &ev, w, e);
    } else if (rc == 0) {
        rc = evaluate_weights(d, &mc, b, dir, 1, "predictions_last.json", w, &ev, e);
    }
    model_teardown(&mc);
    ev.seconds = now_monotonic() - t0;
    if (rc == 0 && w->rank == 0) {
        char from[PATH_MAX_LEN + 48], to[PATH_MAX_LEN + 48];
        snprintf(from, sizeof from, "%s/predictions_%s.json", dir, weight_sets[rc_cfg->eval.weights]);
        snprintf(to, sizeof to, "%s/predictions.json", dir);
        char *text;
        size_t len;
        rc = read_file(from, &text, &len, e);
        if (rc == 0) {
            rc = write_file_atomic(to, text, len, e);
            free(text);
        }
        if (rc == 0)
            rc = write_result(dir, name, rc_cfg, &ev, d->p.n_test, e);
        if (rc == 0)
            rc = write_eval_stamp(d->run_dir, dir, name, rc_cfg, train_id, ev.seconds, w->size, e);
    }
    json_decref(ev.test);
    rc = agree_root_result(w->comm, 0, rc, e);
    if (rc == 0)
        log_msg(log, "%s: test accuracy %.2f (best dev weights), %.2f (last); %ld questions in %.1f s", name,
                ev.overall[0], ev.overall[1], d->p.n_test, ev.seconds);
    return rc == 0 ? 0 : err_prefix(e, "%s", name);
}

int stage_eval(const struct config *cfg, struct run *run)
{
    struct world *w = run->world;
    struct err *e = &run->err;
    struct train_data *d = xcalloc(1, sizeof *d);
    struct test_block b = {0};
    struct config *rc_cfg = xmalloc(sizeof *rc_cfg);
    d->cfg = cfg;
    d->run_dir = run->dir;
    int rc = train_data_open(d, run->dir, PREPARED_QUESTIONS | PREPARED_IMAGES | PREPARED_RAW, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0 || (rc = sweep_backbone_shared(d, w->comm, e)) != 0)
        goto out;
    rc = test_block_load(&b, d, w->comm, d->p.n_test, (int)cfg->eval.batch_size, 0, e);
    if ((rc = agree_all_ok(w->comm, rc, e)) != 0)
        goto out;
    if (cfg->eval.baselines) {
        char path[PATH_MAX_LEN];
        rc = w->rank == 0 ? (run_path(run, "baselines.json", path, sizeof path) == 0 ? write_baselines(d, path, e) : -1)
                          : 0;
        if ((rc = agree_root_result(w->comm, 0, rc, e)) != 0 || (rc = run_output(run, "baselines.json")) != 0)
            goto out;
    }
    if (cfg->eval.zero_shot && (rc = evaluate_zero_shot(d, &b, w, &run->log, e)) != 0)
        goto out;
    int n = sweep_count(cfg);
    for (int i = 0; i < n && rc == 0; i++) {
        /* A stop signal ends the stage between runs: the evaluated ones keep their stamps, exit 75. */
        if ((run->stop_signal = world_poll_stop(w->comm)) != 0) {
            log_msg(&run->log, "eval: %s: stopping before the next run", signals_name(run->stop_signal));
            break;
        }
        char name[SWEEP_NAME_MAX], train_id[HASH_HEX_LEN] = "", why[512] = "";
        rc = sweep_run_config(cfg, i, rc_cfg, e);
        if (rc != 0)
            break;
        sweep_run_name(cfg, rc_cfg, name, sizeof name);
        /* 1: evaluate, 0: done already, -1: not trained */
        int todo = 1;
        struct err not_trained = {0};
        if (w->rank == 0)
            todo = train_stamp_id(run->dir, name, train_id, &not_trained) != 0 ? -1
                   : eval_done(run->dir, rc_cfg, name, train_id, why, sizeof why) ? 0 : 1;
        MPI_Bcast(&todo, 1, MPI_INT, 0, w->comm);
        MPI_Bcast(train_id, HASH_HEX_LEN, MPI_CHAR, 0, w->comm);
        MPI_Bcast(not_trained.msg, (int)sizeof not_trained.msg, MPI_CHAR, 0, w->comm);
        if (todo < 0) {
            const char *reason = strcmp(not_trained.msg, "no stamp") == 0 ? "" : not_trained.msg;
            rc = err_set_all(e, "%s is not trained (%s%srun the train stage first)", name, reason, reason[0] ? "; " : "");
        } else if (todo == 0) {
            log_msg(&run->log, "%s: evaluated already, skipped", name);
        } else {
            if (why[0])
                log_msg(&run->log, "%s: evaluated again: %s", name, why);
            rc = evaluate_run(d, &b, rc_cfg, name, train_id, w, &run->log, e);
        }
    }
    if (rc == 0)
        rc = run_output(run, "runs");
out:
    free(rc_cfg);
    test_block_free(&b);
    train_data_close(d);
    free(d);
    return rc;
}
