/* String tables: NUL-terminated strings stored back to back in one buffer, with the start offset of
 * each (the layout prepared.h5 keeps on disk, so a table is written and read with two datasets), and an
 * optional hash index to look strings up or intern them (answers, image ids, question ids). */
#ifndef MIXPHM_BASE_STRTAB_H
#define MIXPHM_BASE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct strtab {
    char *chars;      /* [len]: every string followed by its NUL */
    size_t len, cap;
    int64_t *offsets; /* [n + 1]: string i starts at offsets[i]; offsets[n] == len */
    long n, cap_n;
    int32_t *slots;   /* hash index (NULL until the first find/intern): string index or -1 */
    long n_slots;
};

/* Appends `s` (even when already present) and returns its index. */
long strtab_add(struct strtab *t, const char *s);
/* The index of `s`, adding it when absent. */
long strtab_intern(struct strtab *t, const char *s);
/* The index of the first string equal to `s`, or -1. */
long strtab_find(struct strtab *t, const char *s);
/* strtab_find on a table whose index exists (after a find or intern): no change to the table. */
long strtab_lookup(const struct strtab *t, const char *s);
const char *strtab_get(const struct strtab *t, long i);
/* Takes over a buffer of `n` NUL-terminated strings (as read from a file); both arrays become the
 * table's.  Returns -1 when the offsets do not describe NUL-terminated strings inside `chars`. */
int strtab_adopt(struct strtab *t, char *chars, size_t len, int64_t *offsets, long n);
void strtab_free(struct strtab *t);

#endif
