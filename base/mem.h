/* Allocation that cannot return NULL.  Running out of memory is not an input error we can explain
 * better than the size we asked for, so these print that size and abort (under mpirun the whole job
 * stops with a non-zero status). */
#ifndef MIXPHM_BASE_MEM_H
#define MIXPHM_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* 64-byte aligned (cache line, AVX-512), zeroed; free with free(). */
void *xaligned_calloc(size_t count, size_t size);

#endif
