/* What the runs of a sweep share, and their folders under RUN/runs/:
 *   - prepared.h5, its tokenizer and features.h5 of the run folder, opened once per rank;
 *   - the backbone the runs start from (model.checkpoint, or the synthetic benchmark's pretrained one)
 *     and the id the runs' stamps consume for it;
 *   - a run's folder, whether it is trained with the current settings, and its stamp;
 *   - a rank's contiguous block of the test questions with their images (eval, analyze). */
#ifndef MIXPHM_TRAIN_DATA_H
#define MIXPHM_TRAIN_DATA_H

#include <mpi.h>

#include "base/hash.h"
#include "data/features.h"
#include "data/prepared.h"
#include "run/config.h"
#include "train/batch.h"

#define PRETRAIN_RUN "pretrain"

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
    int node_ranks;                      /* ranks of the job on this node */
};

/* Bytes a rank may still allocate: train.memory_per_node_mb (or what the node reports, base/sysmem.h)
 * shared by the job's ranks on the node; -1 when unknown. */
long long train_room_per_rank(const struct train_data *d, const struct config *cfg);

/* Opens prepared.h5 (the PREPARED_* parts), its tokenizer and features.h5 of a run folder. */
int train_data_open(struct train_data *d, const char *run_dir, int parts, struct err *e);
void train_data_close(struct train_data *d);
/* Where the sweep's backbone is (d->backbone, d->backbone_id): model.checkpoint, or the synthetic
 * backbone once pretrained (an error before). */
int sweep_backbone(struct train_data *d, struct err *e);
/* sweep_backbone for every rank of `comm`: rank 0 finds and hashes the backbone (one read of the
 * checkpoint per stage, not one per rank) and the others receive its names or its error.  Collective. */
int sweep_backbone_shared(struct train_data *d, MPI_Comm comm, struct err *e);

/* The folder of run `name`: RUN/runs/NAME. */
int train_run_dir(const struct train_data *d, const char *name, char *out, size_t n, struct err *e);
/* Whether run `name` (with its scalar config) is trained with the current settings and backbone; when
 * not, `why` says why (empty for a run never trained). */
int train_run_done(const struct train_data *d, const struct config *run_cfg, const char *name, char *why, size_t n);
/* Writes the train stamp of run `name`: its outputs (relative to its folder) and, when not NULL, the
 * backbone id it consumed. */
int train_run_stamp(const struct train_data *d, const struct config *run_cfg, const char *name,
                    const char *config_hash, const char *const *outputs, int n_out, const char *backbone_id,
                    double seconds, int ranks, struct err *e);

/* The hash of the settings the pretrained backbone depends on. */
void pretrain_hash(const struct config *cfg, char out[HASH_HEX_LEN]);
/* The id of the pretraining's stamp when it is up to date (0), else -1 and in `why` the reason (empty
 * when it never ran). */
int pretrain_done(const struct train_data *d, char id[HASH_HEX_LEN], char *why, size_t n);

/* This rank's contiguous block [lo, lo + n) of the first N test questions, their images, and batch
 * buffers for `batch` questions (with room for answers when `with_answers`). */
struct test_block {
    long N, lo, n;
    int32_t *rows;            /* [n] question rows of this rank's block */
    struct image_cache cache; /* the images of those rows */
    struct batch_buf buf;
};

int test_block_load(struct test_block *b, const struct train_data *d, MPI_Comm comm, long N, int batch,
                    int with_answers, struct err *e);
void test_block_free(struct test_block *b);

#endif
