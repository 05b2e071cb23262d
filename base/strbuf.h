/* Text built up in a fixed-size buffer: messages, lists of ids, the synthetic corpus's sentences. */
#ifndef MIXPHM_BASE_STRBUF_H
#define MIXPHM_BASE_STRBUF_H

#include <stddef.h>

/* Appends printf-formatted text to the NUL-terminated string in `buf` [cap]; what does not fit is cut
 * off, and `buf` stays NUL-terminated. */
void strbuf_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
