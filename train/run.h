/* One training run of the train stage, set up from the data and a run's scalar config:
 *   train_run       a k-shot run of the sweep: its train and dev questions, the backbone, the run's
 *                   method; writes RUN/runs/NAME/{last.h5, best.h5, train.json} and its stamp
 *   train_pretrain  the synthetic benchmark's backbone: full training from random weights on the
 *                   pretraining pairs; writes RUN/runs/pretrain/backbone.h5 and its stamp
 * Every rank of `comm` calls them; files are written by its rank 0. */
#ifndef MIXPHM_TRAIN_RUN_H
#define MIXPHM_TRAIN_RUN_H

#include <mpi.h>

#include "base/hash.h"
#include "base/log.h"
#include "data/features.h"
#include "data/prepared.h"
#include "run/config.h"

#define PRETRAIN_RUN "pretrain"

/* What every run of the stage shares (read once per rank). */
struct train_data {
    const struct config *cfg; /* the sweep's config */
    const char *run_dir;
    struct prepared p;
    struct tokenizer tok;
    struct features_file features;
    int vocab, feat_dim;                 /* of the model */
    char backbone[PATH_MAX_LEN];         /* the backbone weights of the sweep's runs */
    char backbone_id[HASH_HEX_LEN];      /* what the runs' stamps consume ("backbone") */
    double log_interval;
};

/* Opens prepared.h5 (the PREPARED_* parts), its tokenizer and features.h5 of a run folder. */
int train_data_open(struct train_data *d, const char *run_dir, int parts, struct err *e);
void train_data_close(struct train_data *d);
/* Where the sweep's backbone is (d->backbone, d->backbone_id): model.checkpoint, or the synthetic
 * backbone once pretrained (an error before). */
int sweep_backbone(struct train_data *d, struct err *e);

/* The folder of run `name`: RUN/runs/NAME. */
int train_run_dir(const struct train_data *d, const char *name, char *out, size_t n, struct err *e);
/* Whether run `name` (with its scalar config) is trained with the current settings and backbone. */
int train_run_done(const struct train_data *d, const struct config *run_cfg, const char *name);

int train_run(struct train_data *d, const struct config *run_cfg, const char *name, MPI_Comm comm,
              const struct logger *log, int *stop_signal, struct err *e);

/* The hash of the settings the pretrained backbone depends on. */
void pretrain_hash(const struct config *cfg, char out[HASH_HEX_LEN]);
/* The id of the pretraining's stamp when it is up to date (0), else -1. */
int pretrain_done(const struct train_data *d, char id[HASH_HEX_LEN]);
int train_pretrain(struct train_data *d, MPI_Comm comm, const struct logger *log, int *stop_signal, struct err *e);

#endif
