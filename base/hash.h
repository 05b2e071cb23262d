/* FNV-1a, 64 bit: the content hash of resolved configs and stamps.  It detects changed settings, it
 * is not a cryptographic digest. */
#ifndef MIXPHM_BASE_HASH_H
#define MIXPHM_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define HASH_INIT 0xcbf29ce484222325ULL
#define HASH_HEX_LEN 17 /* 16 hex digits and the terminating NUL */

uint64_t hash_bytes(uint64_t h, const void *data, size_t n);
uint64_t hash_str(uint64_t h, const char *s);
/* Folds the bytes of the file at `path` into *h; -1 (with the path in e) when it cannot be read. */
int hash_file(uint64_t *h, const char *path, struct err *e);
/* Writes 16 lower-case hex digits. */
void hash_hex(uint64_t h, char out[HASH_HEX_LEN]);

#endif
