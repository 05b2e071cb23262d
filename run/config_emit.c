/* The resolved configuration as canonical text: written into the run folder, hashed for stamps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"
#include "base/numfmt.h"
#include "run/config.h"

/* Decodes one UTF-8 sequence at p (libyaml hands us valid UTF-8); returns its length. */
static int utf8_decode(const unsigned char *p, unsigned long *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    int len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    unsigned long v = p[0] & (0x7fu >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) { /* not valid UTF-8: treat the byte alone */
            *cp = p[0];
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3fu);
    }
    *cp = v;
    return len;
}

/* YAML's printable set, minus what a double-quoted scalar would fold as a line break (U+0085, U+2028,
 * U+2029) and the byte-order mark: everything else must be escaped to read back the same. */
static int yaml_prints_as_is(unsigned long cp)
{
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
        return 0;
    return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
           (cp >= 0x10000 && cp <= 0x10ffff);
}

static void format_string(const char *s, char *out, size_t n)
{
    size_t o = 0;
    if (n < 3) {
        out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 12 < n;) {
        unsigned long cp;
        int len = utf8_decode(p, &cp);
        if (cp == '"')
            o += (size_t)snprintf(out + o, n - o, "\\\"");
        else if (cp == '\\')
            o += (size_t)snprintf(out + o, n - o, "\\\\");
        else if (cp == '\n')
            o += (size_t)snprintf(out + o, n - o, "\\n");
        else if (cp == '\t')
            o += (size_t)snprintf(out + o, n - o, "\\t");
        else if (yaml_prints_as_is(cp)) {
            memcpy(out + o, p, (size_t)len);
            o += (size_t)len;
        } else if (cp < 0x100)
            o += (size_t)snprintf(out + o, n - o, "\\x%02lx", cp);
        else if (cp < 0x10000)
            o += (size_t)snprintf(out + o, n - o, "\\u%04lx", cp);
        else
            o += (size_t)snprintf(out + o, n - o, "\\U%08lx", cp);
        p += len;
    }
    snprintf(out + o, n - o, "\"");
}

void config_format_value(const struct cfg_key *k, union cfg_value v, const char *str, char *out, size_t n)
{
    switch (k->type) {
    case CFG_INT: snprintf(out, n, "%ld", v.i); break;
    case CFG_FLOAT: {
        char num[NUMFMT_LEN]; /* the shortest decimal that reads back as the same double */
        format_double_repr(v.f, num);
        snprintf(out, n, "%s", num);
        break;
    }
    case CFG_BOOL: snprintf(out, n, "%s", v.i ? "true" : "false"); break;
    case CFG_ENUM: {
        const char *name = "?";
        for (long i = 0; k->names[i]; i++)
            if (i == v.i)
                name = k->names[i];
        snprintf(out, n, "%s", name);
        break;
    }
    case CFG_STRING: format_string(str ? str : "", out, n); break;
    }
}

/* The value of key `i` as it appears in the resolved config: a scalar or a flow list. */
void config_format_key(const struct config *cfg, int i, char *out, size_t n)
{
    int count;
    const struct cfg_key *k = &config_schema(&count)[i];
    for (int a = 0; a < cfg->n_axes; a++) {
        if (cfg->axes[a].key != i)
            continue;
        size_t o = (size_t)snprintf(out, n, "[");
        for (int j = 0; j < cfg->axes[a].n && o < n; j++) {
            char item[64];
            config_format_value(k, cfg->axes[a].v[j], NULL, item, sizeof item);
            o += (size_t)snprintf(out + o, n - o, "%s%s", j ? ", " : "", item);
        }
        if (o < n)
            snprintf(out + o, n - o, "]");
        return;
    }
    config_format_value(k, config_get(cfg, i), config_get_str(cfg, i), out, n);
}

struct text {
    char *buf;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = xrealloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

/* Number of leading path components that a and b share ("a.b.c" vs "a.b.d" -> 2). */
static int common_sections(const char *a, const char *b)
{
    int shared = 0;
    for (;;) {
        const char *da = strchr(a, '.'), *db = strchr(b, '.');
        if (!da || !db || da - a != db - b || strncmp(a, b, (size_t)(da - a)) != 0)
            return shared;
        shared++;
        a = da + 1;
        b = db + 1;
    }
}

char *config_emit(const struct config *cfg, const char *header_comment)
{
    int n;
    const struct cfg_key *keys = config_schema(&n);
    struct text t = {0};
    text_add(&t, "");
    if (header_comment)
        text_add(&t, header_comment);
    const char *prev = "";
    char value[CFG_STR_MAX * 5 + 64], line[CFG_STR_MAX * 5 + 600];
    for (int i = 0; i < n; i++) {
        const char *path = keys[i].path;
        int shared = common_sections(prev, path);
        /* Open the sections of this key that the previous key did not have open. */
        const char *p = path;
        int depth = 0;
        for (const char *dot = strchr(p, '.'); dot; dot = strchr(p, '.'), depth++) {
            if (depth >= shared) {
                snprintf(line, sizeof line, "%*s%.*s:\n", 2 * depth, "", (int)(dot - p), p);
                if (depth == 0 && i > 0)
                    text_add(&t, "\n");
                text_add(&t, line);
            }
            p = dot + 1;
        }
        config_format_key(cfg, i, value, sizeof value);
        snprintf(line, sizeof line, "%*s%s: %s\n", 2 * depth, "", p, value);
        text_add(&t, line);
        prev = path;
    }
    return t.buf;
}

uint64_t config_stage_hash(const struct config *cfg, enum stage_id stage)
{
    int n;
    const struct cfg_key *keys = config_schema(&n);
    uint64_t h = hash_str(HASH_INIT, "mixphm-config-v1\n");
    h = hash_str(h, stage_name(stage));
    char value[CFG_STR_MAX * 5 + 64];
    for (int i = 0; i < n; i++) {
        if (!config_key_affects(cfg, i, stage))
            continue;
        config_format_key(cfg, i, value, sizeof value);
        h = hash_str(h, "\n");
        h = hash_str(h, keys[i].path);
        h = hash_str(h, "=");
        h = hash_str(h, value);
    }
    return h;
}

uint64_t config_prefix_hash(const struct config *cfg, const char *const *prefixes)
{
    int n;
    const struct cfg_key *keys = config_schema(&n);
    uint64_t h = hash_str(HASH_INIT, "mixphm-config-v1\nprefixes");
    char value[CFG_STR_MAX * 5 + 64];
    for (int i = 0; i < n; i++) {
        int match = 0;
        for (int k = 0; prefixes[k] && !match; k++)
            match = strncmp(keys[i].path, prefixes[k], strlen(prefixes[k])) == 0;
        if (!match)
            continue;
        config_format_key(cfg, i, value, sizeof value);
        h = hash_str(h, "\n");
        h = hash_str(h, keys[i].path);
        h = hash_str(h, "=");
        h = hash_str(h, value);
    }
    return h;
}
