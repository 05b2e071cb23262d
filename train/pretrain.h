/* The synthetic benchmark's backbone: full training of VL-T5 from random weights on the pretraining
 * pairs of prepared.h5 (train_loop without validation); writes RUN/runs/pretrain/backbone.h5 and its
 * stamp.  Every rank of `comm` calls it; files are written by its rank 0. */
#ifndef MIXPHM_TRAIN_PRETRAIN_H
#define MIXPHM_TRAIN_PRETRAIN_H

#include <mpi.h>

#include "base/log.h"
#include "train/data.h"

int train_pretrain(struct train_data *d, MPI_Comm comm, const struct logger *log, int *stop_signal, struct err *e);

#endif
