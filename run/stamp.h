/* Stage stamps: the record, written last, that a stage finished.
 *
 * A stamp (RUN/stamps/STAGE.json, or RUN/runs/NAME/stamps/STAGE.json for one run of a sweep) holds
 * the hash of the config keys the stage reads and those settings themselves, the outputs with their
 * sizes, a unique id, what it `provides` to later stages (by default its id under its own name) and
 * which upstream ids it `consumes`.  A stage is up to date when its stamp exists, its hash matches
 * the current config, its outputs still have their recorded sizes, and every id it consumed is still
 * what the upstream stamp provides (an upstream stage that was rerun makes it stale). */
#ifndef MIXPHM_RUN_STAMP_H
#define MIXPHM_RUN_STAMP_H

#include "base/err.h"
#include "base/hash.h"
#include "run/config.h"

#define STAMP_MAX_ITEMS 32
#define STAMP_NAME_MAX 96
#define STAMP_PATH_MAX 512

struct stamp_output {
    char path[STAMP_PATH_MAX]; /* relative to the run folder */
    long long size;            /* -1 for a directory */
};

struct stamp_link {
    char name[STAMP_NAME_MAX];
    char id[HASH_HEX_LEN];
};

struct stamp {
    char stage[32];
    char config_hash[HASH_HEX_LEN];
    char id[HASH_HEX_LEN];
    char finished[32];
    double seconds;
    int ranks;
    int n_outputs;
    struct stamp_output outputs[STAMP_MAX_ITEMS];
    int n_provides;
    struct stamp_link provides[STAMP_MAX_ITEMS];
    int n_consumes;
    struct stamp_link consumes[STAMP_MAX_ITEMS];
    /* The stage's settings when it ran ("key=value" lines), to explain a changed hash. */
    char *settings;
};

/* RUN/stamps/STAGE.json */
int stamp_path(const char *run_dir, const char *stage, char *out, size_t n, struct err *e);
/* Writes atomically; `cfg` supplies the settings of `s->stage`. */
int stamp_write(const char *path, const struct stamp *s, const struct config *cfg, struct err *e);
/* Returns 0 and fills *s; -1 with a message when missing or unreadable. Free with stamp_free(). */
int stamp_read(const char *path, struct stamp *s, struct err *e);
void stamp_free(struct stamp *s);
/* The one way a stamp is made: fills `s` for `stage` with the settings' hash, a new id, the finishing
 * time, and the outputs (paths relative to `dir`) with their sizes (-1: a folder); -1 with a message
 * when an output is missing.  Consumed ids are added with stamp_add_consume, then stamp_write. */
int stamp_build(struct stamp *s, const char *stage, const char config_hash[HASH_HEX_LEN], double seconds, int ranks,
                const char *dir, const char *const *outputs, int n_outputs, struct err *e);
int stamp_add_consume(struct stamp *s, const char *name, const char *id, struct err *e);
/* A new unique id for a stamp. */
void stamp_new_id(const char *stage, char out[HASH_HEX_LEN]);
/* The id a stamp provides under `name` ("prepare" = its own id, "prepare.images" = its provide
 * "images"); NULL when it provides nothing under that name. */
const char *stamp_provided(const struct stamp *s, const char *name);
/* 0 when every output exists with its recorded size; else -1 and a reason. */
int stamp_outputs_intact(const struct stamp *s, const char *run_dir, char *reason, size_t n);
/* The settings of `stage` in `cfg` as "key=value" lines (caller frees). */
char *stamp_settings_text(const struct config *cfg, enum stage_id stage);
/* Per-run stamps of a sweep: RUN/runs/NAME/stamps/STAGE.json. */
int stamp_run_path(const char *run_dir, const char *run_name, enum stage_id stage, char *out, size_t n,
                   struct err *e);
enum run_state { RUN_DONE, RUN_STALE, RUN_NOT_DONE };
/* Whether one sweep run finished `stage` with the settings of `run_cfg`; `why` explains a stale one (or
 * a damaged stamp; it is empty for a run never done).  stamp_run_current also returns the stamp when
 * the run is done (free it with stamp_free). */
enum run_state stamp_run_current(const char *run_dir, const char *run_name, const struct config *run_cfg,
                                 enum stage_id stage, struct stamp *s, char *why, size_t n);
enum run_state stamp_run_state(const char *run_dir, const char *run_name, const struct config *run_cfg,
                               enum stage_id stage, char *why, size_t n);
/* Describes how the recorded settings differ from `now` ("train.epochs 20 -> 40"). */
void stamp_settings_diff(const char *before, const char *now, char *out, size_t n);

#endif
