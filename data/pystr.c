#include "data/pystr.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/unicode.h"

/* ---- properties (tables in data/unicode_tables.c) ---------------------------------------------- */

static int in_ranges(const struct uc_range *r, int n, uint32_t c)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo)
            hi = mid - 1;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int uc_is_space(uint32_t c)
{
    return in_ranges(uc_space, uc_space_count, c);
}

int uc_is_decimal(uint32_t c)
{
    return in_ranges(uc_decimal, uc_decimal_count, c);
}

int uc_is_case_ignorable(uint32_t c)
{
    return in_ranges(uc_case_ignorable, uc_case_ignorable_count, c);
}

int uc_is_cased(uint32_t c)
{
    return in_ranges(uc_cased, uc_cased_count, c);
}

uint32_t uc_to_lower(uint32_t c)
{
    /* The runs are sorted and do not overlap: find the last one starting at or before c. */
    int lo = 0, hi = uc_lower_runs_count - 1, found = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (uc_lower_runs[mid].lo <= c) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (found < 0)
        return c;
    const struct uc_lower_run *r = &uc_lower_runs[found];
    if (c > r->hi || (c - r->lo) % r->stride != 0)
        return c;
    return (uint32_t)((int64_t)c + r->delta);
}

/* ---- UTF-8 ------------------------------------------------------------------------------------- */

size_t utf8_decode(const char *str, size_t i, uint32_t *c)
{
    const unsigned char *s = (const unsigned char *)str + i;
    unsigned char b = s[0];
    size_t n;
    uint32_t v, min;
    if (b < 0x80) {
        *c = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        n = 2, v = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, v = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, v = b & 0x07, min = 0x10000;
    } else {
        *c = UC_INVALID;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *c = UC_INVALID;
            return 1;
        }
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { /* overlong, too big, surrogate */
        *c = UC_INVALID;
        return 1;
    }
    *c = v;
    return n;
}

size_t utf8_encode(uint32_t c, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- str methods -------------------------------------------------------------------------------- */

static int space_at(const char *s, size_t i, size_t *len)
{
    uint32_t c;
    *len = utf8_decode(s, i, &c);
    return c != UC_INVALID && uc_is_space(c);
}

int py_digit_at(const char *s, size_t i)
{
    uint32_t c;
    if (!s[i])
        return 0;
    utf8_decode(s, i, &c);
    return c != UC_INVALID && uc_is_decimal(c);
}

char *py_strip(const char *s)
{
    size_t n = strlen(s), start = 0, end = 0, len;
    /* end = the byte after the last character that is not a space */
    for (size_t i = 0; i < n; i += len) {
        int sp = space_at(s, i, &len);
        if (!sp)
            end = i + len;
        else if (end == 0 && start == i)
            start = i + len;
    }
    if (end < start)
        end = start;
    char *out = xmalloc(end - start + 1);
    memcpy(out, s + start, end - start);
    out[end - start] = '\0';
    return out;
}

int py_next_word(const char *s, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos, clen;
    while (s[i] && space_at(s, i, &clen))
        i += clen;
    if (!s[i]) {
        *pos = i;
        return 0;
    }
    *start = i;
    while (s[i] && !space_at(s, i, &clen))
        i += clen;
    *len = i - *start;
    *pos = i;
    return 1;
}

#define CAPITAL_SIGMA 0x03A3u
#define SMALL_SIGMA 0x03C3u
#define FINAL_SIGMA 0x03C2u
#define CAPITAL_I_DOT 0x0130u

/* CPython's handle_capital_sigma: final when a cased character precedes (skipping case-ignorable
 * ones) and none follows (idem).  cps[] holds the decoded string, UC_INVALID for stray bytes. */
static uint32_t lower_sigma(const uint32_t *cps, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && uc_is_case_ignorable(cps[j - 1]))
        j--;
    if (j == 0 || !uc_is_cased(cps[j - 1]))
        return SMALL_SIGMA;
    j = i + 1;
    while (j < n && uc_is_case_ignorable(cps[j]))
        j++;
    return j < n && uc_is_cased(cps[j]) ? SMALL_SIGMA : FINAL_SIGMA;
}

char *py_lower(const char *s)
{
    size_t n = strlen(s), count = 0;
    uint32_t *cps = xmalloc((n + 1) * sizeof *cps);  /* [count] code points */
    unsigned char *raw = xmalloc(n + 1);             /* [count] the byte, for UC_INVALID entries */
    for (size_t i = 0; i < n; count++) {
        raw[count] = (unsigned char)s[i];
        i += utf8_decode(s, i, &cps[count]);
    }
    /* The lower case never takes more than twice the bytes (checked by tools/gen_unicode_tables.py). */
    char *out = xmalloc(2 * n + 1);
    size_t o = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t c = cps[k];
        if (c == UC_INVALID) {
            out[o++] = (char)raw[k];
        } else if (c == CAPITAL_I_DOT) {
            out[o++] = 'i';
            o += utf8_encode(0x0307, out + o);
        } else if (c == CAPITAL_SIGMA) {
            o += utf8_encode(lower_sigma(cps, count, k), out + o);
        } else {
            o += utf8_encode(uc_to_lower(c), out + o);
        }
    }
    out[o] = '\0';
    free(cps);
    free(raw);
    return out;
}
