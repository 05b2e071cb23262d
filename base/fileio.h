/* Files: whole-file reads, directory creation, and outputs that never appear half-written.
 *
 * Every output of mixphm is written under a temporary name next to its final name and renamed once it
 * is complete and flushed to disk, so a crash or a preemption leaves either the old file or the new
 * one, never a torn one.  Writers that are not stdio (HDF5) use tmp_path_for() + commit_tmp(). */
#ifndef MIXPHM_BASE_FILEIO_H
#define MIXPHM_BASE_FILEIO_H

#include <stdio.h>

#include "base/err.h"

#define PATH_MAX_LEN 4096

struct atomic_file {
    FILE *f;
    char final_path[PATH_MAX_LEN];
    char tmp_path[PATH_MAX_LEN];
};

/* Opens "<path>.tmp" for writing. */
int atomic_open(struct atomic_file *af, const char *path, struct err *e);
/* Flushes, fsyncs, closes and renames to the final name; on failure the temporary file is removed
 * and the final name is untouched. */
int atomic_commit(struct atomic_file *af, struct err *e);
/* Closes and removes the temporary file (after an error while writing). */
void atomic_abandon(struct atomic_file *af);
int write_file_atomic(const char *path, const void *data, size_t n, struct err *e);

/* The temporary name used for `final` ("<final>.tmp"): the same on every rank, so that ranks writing
 * one file collectively agree on it. */
int tmp_path_for(const char *final, char *out, size_t out_len, struct err *e);
/* fsyncs `tmp`, renames it to `final`, fsyncs the directory. */
int commit_tmp(const char *tmp, const char *final, struct err *e);

/* Reads a whole file; *data is NUL-terminated and must be freed. */
int read_file(const char *path, char **data, size_t *n, struct err *e);
/* mkdir -p */
int make_dirs(const char *path, struct err *e);
/* Joins with one '/'; fails (with a message) when the result does not fit. */
int path_join(char *out, size_t out_len, const char *a, const char *b, struct err *e);
/* Size in bytes, or -1 when the file does not exist (or is not a regular file). */
long long file_size(const char *path);
int file_exists(const char *path);
int dir_exists(const char *path);
/* Bytes free for this user on the file system that holds `path` (a file or folder), or -1. */
long long fs_free_bytes(const char *path);
/* Removes a file if it exists; a missing file is not an error. */
int remove_if_exists(const char *path, struct err *e);

#endif
