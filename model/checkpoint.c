#include "model/checkpoint.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "base/h5io.h"

void train_state_init(struct train_state *s)
{
    memset(s, 0, sizeof *s);
    s->best_score = -1;
    s->best_epoch = -1;
    s->es_best = -1;
}

void train_state_free(struct train_state *s)
{
    free(s->dev_epoch);
    free(s->dev_score);
    free(s->loss);
    train_state_init(s);
}

void train_state_add_dev(struct train_state *s, long epoch, double score)
{
    s->dev_epoch = xrealloc(s->dev_epoch, (size_t)(s->n_dev + 1) * sizeof *s->dev_epoch);
    s->dev_score = xrealloc(s->dev_score, (size_t)(s->n_dev + 1) * sizeof *s->dev_score);
    s->dev_epoch[s->n_dev] = epoch;
    s->dev_score[s->n_dev] = score;
    s->n_dev++;
}

void train_state_add_loss(struct train_state *s, double loss)
{
    s->loss = xrealloc(s->loss, (size_t)(s->n_loss + 1) * sizeof *s->loss);
    s->loss[s->n_loss++] = loss;
}

/* The loop state as root attributes: integers as longs, scores as doubles. */
struct state_field {
    const char *name;
    size_t offset;
    int is_double;
};

#define SF(f, d) {#f, offsetof(struct train_state, f), d}
static const struct state_field fields[] = {
    SF(step, 0),    SF(epoch, 0),    SF(best_score, 1), SF(best_epoch, 0),
    SF(es_best, 1), SF(es_bad, 0),   SF(dev_total, 1),  SF(epoch_loss, 1), SF(seconds, 1),
};
#undef SF

static hid_t open_group(hid_t f, const char *name, const char *path, struct err *e)
{
    hid_t g = -1;
    if (h5io_exists(f, name)) {
        H5E_BEGIN_TRY
        {
            g = H5Gopen2(f, name, H5P_DEFAULT);
        }
        H5E_END_TRY;
    }
    if (g < 0)
        err_set(e, "%s: not a checkpoint: the group '%s' is missing", path, name);
    return g;
}

/* Writes (or reads) one buffer of every trainable tensor into (from) group `name`. */
static int tensors_io(hid_t f, const char *path, const char *name, const struct params *p, const float *base,
                      int writing, struct err *e)
{
    hid_t g = writing ? h5io_group(f, name, e) : open_group(f, name, path, e);
    if (g < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < p->n && rc == 0; i++) {
        const struct param_tensor *t = &p->t[i];
        if (!t->trainable)
            continue;
        hsize_t dims[PARAM_MAX_DIMS];
        for (int k = 0; k < t->ndim; k++)
            dims[k] = (hsize_t)t->shape[k];
        float *data = (float *)base + t->offset; /* base is one of p->train, grad, adam_m, adam_v */
        if (writing) {
            rc = h5io_write_f32(g, t->name, t->ndim, dims, data, e);
        } else {
            int nd;
            long got[H5IO_MAX_DIMS];
            rc = h5io_shape(g, t->name, &nd, got, e);
            int same = rc == 0 && nd == t->ndim;
            for (int k = 0; same && k < nd; k++)
                same = got[k] == (long)dims[k];
            if (rc == 0 && !same) {
                char want[64];
                params_shape_str(t, want, sizeof want);
                rc = err_set(e, "%s: %s/%s has another shape than the model's %s (a checkpoint of another model?)",
                             path, name, t->name, want);
            }
            if (rc == 0)
                rc = h5io_load_f32(g, t->name, data, (long)t->numel, e);
            if (rc != 0 && !strstr(e->msg, t->name))
                err_prefix(e, "%s/%s", name, t->name);
        }
    }
    H5Gclose(g);
    return rc;
}

/* The AdamW step count of every trainable tensor, in registry order (/adam_step, int32). */
static int adam_steps_write(hid_t f, const struct params *p, struct err *e)
{
    int32_t *steps = xmalloc((size_t)(p->n ? p->n : 1) * sizeof *steps); /* [trainable tensors] */
    hsize_t n = 0;
    for (int i = 0; i < p->n; i++)
        if (p->t[i].trainable)
            steps[n++] = (int32_t)p->adam_step[i];
    int rc = h5io_write_i32(f, "adam_step", 1, &n, steps, e);
    free(steps);
    return rc;
}

static int adam_steps_read(hid_t f, const char *path, const struct params *p, struct err *e)
{
    long want = 0;
    for (int i = 0; i < p->n; i++)
        want += p->t[i].trainable;
    int nd;
    long got[H5IO_MAX_DIMS];
    if (h5io_shape(f, "adam_step", &nd, got, e) != 0)
        return -1;
    if (nd != 1 || got[0] != want)
        return err_set(e, "%s: adam_step holds %ld step counts, the model has %ld trainable tensors", path,
                       nd == 1 ? got[0] : -1L, want);
    int32_t *steps = xmalloc((size_t)(want ? want : 1) * sizeof *steps); /* [trainable tensors] */
    int rc = h5io_load_i32(f, "adam_step", steps, want, e);
    for (int i = 0, k = 0; rc == 0 && i < p->n; i++)
        if (p->t[i].trainable)
            p->adam_step[i] = steps[k++];
    free(steps);
    return rc;
}

/* The trainable tensors, their AdamW moments and step counts: written, or read into p's buffers. */
static int trainable_state_io(hid_t f, const char *path, const struct params *p, int writing, struct err *e)
{
    int rc = tensors_io(f, path, "params", p, p->train, writing, e);
    if (rc == 0)
        rc = tensors_io(f, path, "adam_m", p, p->adam_m, writing, e);
    if (rc == 0)
        rc = tensors_io(f, path, "adam_v", p, p->adam_v, writing, e);
    if (rc == 0)
        rc = writing ? adam_steps_write(f, p, e) : adam_steps_read(f, path, p, e);
    return rc;
}

static int history_write(hid_t f, const struct train_state *s, struct err *e)
{
    hid_t g = h5io_group(f, "history", e);
    if (g < 0)
        return -1;
    int32_t *epochs = xmalloc((size_t)(s->n_dev ? s->n_dev : 1) * sizeof *epochs);
    for (long i = 0; i < s->n_dev; i++)
        epochs[i] = (int32_t)s->dev_epoch[i];
    hsize_t nd = (hsize_t)s->n_dev, nl = (hsize_t)s->n_loss;
    int rc = h5io_write_i32(g, "dev_epoch", 1, &nd, epochs, e);
    if (rc == 0)
        rc = h5io_write_f64(g, "dev_score", 1, &nd, s->dev_score, e);
    if (rc == 0)
        rc = h5io_write_f64(g, "loss", 1, &nl, s->loss, e);
    free(epochs);
    H5Gclose(g);
    return rc;
}

static int history_read(hid_t f, const char *path, struct train_state *s, struct err *e)
{
    hid_t g = open_group(f, "history", path, e);
    if (g < 0)
        return -1;
    int nd;
    long dims[H5IO_MAX_DIMS], n_dev = 0, n_loss = 0;
    int rc = h5io_shape(g, "dev_score", &nd, dims, e);
    if (rc == 0)
        n_dev = nd == 1 ? dims[0] : -1;
    if (rc == 0)
        rc = h5io_shape(g, "loss", &nd, dims, e);
    if (rc == 0)
        n_loss = nd == 1 ? dims[0] : -1;
    if (rc == 0 && (n_dev < 0 || n_loss < 0 || n_dev > CHECKPOINT_MAX_HISTORY || n_loss > CHECKPOINT_MAX_HISTORY))
        rc = err_set(e, "%s: the history datasets have unexpected shapes", path);
    int32_t *epochs = xmalloc((size_t)(n_dev ? n_dev : 1) * sizeof *epochs);
    s->dev_epoch = xcalloc((size_t)(n_dev ? n_dev : 1), sizeof *s->dev_epoch);
    s->dev_score = xcalloc((size_t)(n_dev ? n_dev : 1), sizeof *s->dev_score);
    s->loss = xcalloc((size_t)(n_loss ? n_loss : 1), sizeof *s->loss);
    if (rc == 0 && n_dev)
        rc = h5io_load_i32(g, "dev_epoch", epochs, n_dev, e);
    if (rc == 0 && n_dev)
        rc = h5io_load_f64(g, "dev_score", s->dev_score, n_dev, e);
    if (rc == 0 && n_loss)
        rc = h5io_load_f64(g, "loss", s->loss, n_loss, e);
    for (long i = 0; rc == 0 && i < n_dev; i++)
        s->dev_epoch[i] = epochs[i];
    if (rc == 0) {
        s->n_dev = n_dev;
        s->n_loss = n_loss;
    }
    free(epochs);
    H5Gclose(g);
    return rc;
}

int checkpoint_save(const struct params *p, const char *path, const char run_hash[HASH_HEX_LEN],
                    const struct train_state *s, struct err *e)
{
    struct h5io_output o;
    if (h5io_output_open(&o, path, e) != 0)
        return err_prefix(e, "writing the checkpoint %s (the previous one is kept)", path);
    hid_t f = o.file;
    int rc = h5io_attr_str(f, "format", CHECKPOINT_FORMAT, e);
    if (rc == 0)
        rc = h5io_attr_i64(f, "format_version", CHECKPOINT_VERSION, e);
    if (rc == 0)
        rc = h5io_attr_str(f, "run_hash", run_hash, e);
    if (rc == 0)
        rc = h5io_attr_i64(f, "stopped_early", s->stopped_early, e);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && rc == 0; i++) {
        const char *at = (const char *)s + fields[i].offset;
        rc = fields[i].is_double ? h5io_attr_f64(f, fields[i].name, *(const double *)at, e)
                                 : h5io_attr_i64(f, fields[i].name, *(const long *)at, e);
    }
    if (rc == 0)
        rc = trainable_state_io(f, o.tmp, p, 1, e);
    if (rc == 0)
        rc = history_write(f, s, e);
    if (h5io_output_close(&o, rc, e) != 0)
        return err_prefix(e, "writing the checkpoint %s (the previous one is kept)", path);
    return 0;
}

/* The loop state must be one a run can have reached (the trainer checks it against its schedule too). */
static int state_plausible(const struct params *p, const struct train_state *s, const char *path, struct err *e)
{
    const char *bad = NULL;
    if (s->step < 0 || s->epoch < 0 || s->epoch > s->step)
        bad = "step and epoch";
    else if (s->best_epoch < -1 || s->best_epoch > s->epoch || s->es_bad < 0 || s->n_dev > s->epoch ||
             s->n_loss > s->epoch)
        bad = "validation history";
    else if (!isfinite(s->seconds) || s->seconds < 0 || !isfinite(s->epoch_loss) || !isfinite(s->dev_total))
        bad = "running sums";
    for (int i = 0; !bad && i < p->n; i++)
        if (p->t[i].trainable && (p->adam_step[i] < 0 || p->adam_step[i] > s->step))
            bad = "AdamW step counts";
    if (bad)
        return err_set(e, "damaged or foreign file %s: the checkpoint's %s are impossible (step %ld, epoch %ld, best "
                          "epoch %ld)", path, bad, s->step, s->epoch, s->best_epoch);
    return 0;
}

int checkpoint_read_hash(const char *path, char hash[HASH_HEX_LEN], struct err *e)
{
    hid_t f = h5io_open(path, e);
    if (f < 0)
        return -1;
    char fmt[64] = "", stored[64] = "";
    int rc = 0;
    if (h5io_read_attr_str(f, "format", fmt, sizeof fmt, e) != 0 || strcmp(fmt, CHECKPOINT_FORMAT) != 0)
        rc = err_set(e, "%s: not a mixphm checkpoint", path);
    if (rc == 0)
        rc = h5io_read_attr_str(f, "run_hash", stored, sizeof stored, e);
    if (rc == 0 && strlen(stored) >= HASH_HEX_LEN)
        rc = err_set(e, "%s: run_hash '%s' is not a settings hash", path, stored);
    if (rc == 0)
        snprintf(hash, HASH_HEX_LEN, "%s", stored);
    h5io_close_quiet(f);
    return rc;
}

int checkpoint_load(struct params *p, const char *path, const char run_hash[HASH_HEX_LEN], struct train_state *s,
                    struct err *e)
{
    train_state_init(s);
    hid_t f = h5io_open(path, e);
    if (f < 0)
        return -1;
    char fmt[64] = "", hash[64] = "";
    long version = 0, stopped = 0;
    int rc = 0;
    if (h5io_read_attr_str(f, "format", fmt, sizeof fmt, e) != 0 || strcmp(fmt, CHECKPOINT_FORMAT) != 0)
        rc = err_set(e, "%s: not a mixphm checkpoint", path);
    if (rc == 0 && (h5io_read_attr_i64(f, "format_version", &version, e) != 0 || version != CHECKPOINT_VERSION))
        rc = err_set(e, "%s: checkpoint format version %ld, this build reads version %d", path, version,
                     CHECKPOINT_VERSION);
    if (rc == 0)
        rc = h5io_read_attr_str(f, "run_hash", hash, sizeof hash, e);
    if (rc == 0 && strcmp(hash, run_hash) != 0)
        rc = err_set(e, "%s: the checkpoint belongs to other settings (hash %s, the run's is %s)", path, hash,
                     run_hash);
    if (rc == 0)
        rc = h5io_read_attr_i64(f, "stopped_early", &stopped, e);
    s->stopped_early = (int)stopped;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && rc == 0; i++) {
        char *at = (char *)s + fields[i].offset;
        rc = fields[i].is_double ? h5io_read_attr_f64(f, fields[i].name, (double *)at, e)
                                 : h5io_read_attr_i64(f, fields[i].name, (long *)at, e);
    }
    if (rc == 0)
        rc = trainable_state_io(f, path, p, 0, e);
    if (rc == 0)
        rc = history_read(f, path, s, e);
    if (rc == 0)
        rc = state_plausible(p, s, path, e);
    h5io_close_quiet(f);
    if (rc != 0)
        train_state_free(s);
    return rc;
}
