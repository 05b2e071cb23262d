/* The run folder's lock: one mixphm process (the world's rank 0) owns a run folder at a time, so two
 * `mixphm run` on one folder never train the same runs or overwrite each other's files.
 *
 * RUN/.mixphm.lock holds an fcntl write lock for as long as the owner runs and names the owner (host,
 * pid, command, start time) for the message another process gets.  The kernel (or the file system's
 * lock manager) releases the lock when the owner exits or crashes, so a lock left by a dead process is
 * taken over; where a shared file system cannot lock, the owner is checked by pid on the same host.
 * `--force-unlock` takes the folder even from an owner that cannot be checked. */
#ifndef MIXPHM_RUN_LOCK_H
#define MIXPHM_RUN_LOCK_H

#include "base/err.h"
#include "base/fileio.h"

struct run_lock {
    int fd; /* -1 when not held */
    char path[PATH_MAX_LEN];
};

/* Takes the lock of run folder `dir` for `command` (e.g. "mixphm run configs/demo.yaml"); -1 with the
 * owner named in e when another live process holds it.  `force` takes it regardless. */
int run_lock_take(struct run_lock *l, const char *dir, const char *command, int force, struct err *e);
/* Releases it (the file stays, unlocked); a lock not held is a no-op. */
void run_lock_release(struct run_lock *l);

#endif
