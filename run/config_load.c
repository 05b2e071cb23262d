/* Loading YAML layers into struct config, with the checks that make a typo impossible to miss. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/fileio.h"
#include "run/config.h"

extern const char mixphm_defaults_yaml[];
extern const size_t mixphm_defaults_yaml_len;

struct loader {
    struct config *cfg;
    yaml_document_t *doc;
    int source;           /* index into cfg->sources */
    const char *where;    /* file name, or the --set option */
    int has_lines;        /* 0 for --set values: a line number would mean nothing */
    struct err *e;
};

/* ---- access by schema index ---------------------------------------------------------------- */

union cfg_value config_get(const struct config *cfg, int key)
{
    int n;
    const struct cfg_key *k = &config_schema(&n)[key];
    const char *p = (const char *)cfg + k->offset;
    union cfg_value v = {0};
    switch (k->type) {
    case CFG_INT: memcpy(&v.i, p, sizeof(long)); break;
    case CFG_FLOAT: memcpy(&v.f, p, sizeof(double)); break;
    case CFG_BOOL:
    case CFG_ENUM: {
        int x;
        memcpy(&x, p, sizeof x);
        v.i = x;
        break;
    }
    case CFG_STRING: break;
    }
    return v;
}

void config_put(struct config *cfg, int key, union cfg_value v)
{
    int n;
    const struct cfg_key *k = &config_schema(&n)[key];
    char *p = (char *)cfg + k->offset;
    switch (k->type) {
    case CFG_INT: memcpy(p, &v.i, sizeof(long)); break;
    case CFG_FLOAT: memcpy(p, &v.f, sizeof(double)); break;
    case CFG_BOOL:
    case CFG_ENUM: {
        int x = (int)v.i;
        memcpy(p, &x, sizeof x);
        break;
    }
    case CFG_STRING: break;
    }
}

const char *config_get_str(const struct config *cfg, int key)
{
    int n;
    const struct cfg_key *k = &config_schema(&n)[key];
    return k->type == CFG_STRING ? (const char *)cfg + k->offset : "";
}

/* ---- messages ---------------------------------------------------------------------------- */

static void location(const struct loader *L, const yaml_node_t *node, char *out, size_t n)
{
    if (L->has_lines && node)
        snprintf(out, n, "%s:%lu", L->where, (unsigned long)node->start_mark.line + 1);
    else
        snprintf(out, n, "%s", L->where);
}

/* A short, printable rendering of a scalar for messages. */
static void show_scalar(const yaml_node_t *node, char *out, size_t n)
{
    size_t len = node->data.scalar.length, o = 0;
    const unsigned char *s = node->data.scalar.value;
    if (n < 8) {
        out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len && o + 6 < n; i++) {
        if (i == 60) {
            o += (size_t)snprintf(out + o, n - o, "...");
            break;
        }
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"')
            out[o++] = (char)s[i];
        else
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", s[i]);
    }
    snprintf(out + o, n - o, "\"");
}

static const char *node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a value";
    }
}

static void describe_expected(const struct cfg_key *k, char *out, size_t n)
{
    char lo[32], hi[32];
    switch (k->type) {
    case CFG_INT:
    case CFG_FLOAT:
        snprintf(lo, sizeof lo, "%.15g", k->min);
        snprintf(hi, sizeof hi, "%.15g", k->max);
        snprintf(out, n, "%s between %s and %s", k->type == CFG_INT ? "an integer" : "a number", lo, hi);
        break;
    case CFG_BOOL: snprintf(out, n, "true or false"); break;
    case CFG_STRING: snprintf(out, n, "a string"); break;
    case CFG_ENUM: {
        size_t o = (size_t)snprintf(out, n, "one of:");
        for (int i = 0; k->names[i] && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, "%s %s", i ? "," : "", k->names[i]);
        break;
    }
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 200 || lb > 200)
        return (size_t)-1;
    size_t row[201];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *leaf_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* The closest known key, for "did you mean". */
static const char *suggest_key(const char *path)
{
    int n;
    const struct cfg_key *k = config_schema(&n);
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < n; i++) {
        size_t d = edit_distance(path, k[i].path);
        if (strcmp(leaf_of(path), leaf_of(k[i].path)) == 0)
            d = d < 2 ? d : 2; /* right name, wrong section */
        if (d < best_d) {
            best_d = d;
            best = k[i].path;
        }
    }
    size_t limit = strlen(path) / 4 > 2 ? strlen(path) / 4 : 2;
    return best_d <= limit ? best : NULL;
}

/* ---- scalars ----------------------------------------------------------------------------- */

static int is_plain(const yaml_node_t *node)
{
    return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int is_null_scalar(const yaml_node_t *node)
{
    const char *s = (const char *)node->data.scalar.value;
    return is_plain(node) && (node->data.scalar.length == 0 || strcmp(s, "~") == 0 ||
                              strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static int parse_long(const char *s, long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return -1;
    /* strtod also reads hexadecimal and "infinity"; YAML users mean decimal numbers only. */
    for (const char *p = s; *p; p++)
        if (!(isdigit((unsigned char)*p) || strchr("+-.eE", *p)))
            return -1;
    *out = v;
    return 0;
}

/* Parses one scalar node as key `k`.  `str` receives CFG_STRING values (CFG_STR_MAX bytes). */
static int parse_value(const struct loader *L, const struct cfg_key *k, const yaml_node_t *node,
                       union cfg_value *v, char *str)
{
    char where[CFG_SOURCE_MAX + 32], expected[256], shown[128];
    location(L, node, where, sizeof where);
    describe_expected(k, expected, sizeof expected);
    if (node->type != YAML_SCALAR_NODE)
        return err_set(L->e, "%s: %s: expected %s, got %s", where, k->path, expected, node_kind(node));
    const char *s = (const char *)node->data.scalar.value;
    show_scalar(node, shown, sizeof shown);
    if (strlen(s) != node->data.scalar.length)
        return err_set(L->e, "%s: %s: the value contains a NUL byte", where, k->path);
    if (is_null_scalar(node))
        return err_set(L->e, "%s: %s: has no value; expected %s%s", where, k->path, expected,
                       k->type == CFG_STRING ? " (write \"\" for an empty one)" : "");
    switch (k->type) {
    case CFG_INT:
        if (!is_plain(node) || parse_long(s, &v->i) != 0)
            return err_set(L->e, "%s: %s: expected %s, got %s%s", where, k->path, expected, shown,
                           is_plain(node) ? "" : " (a quoted string)");
        if ((double)v->i < k->min || (double)v->i > k->max)
            return err_set(L->e, "%s: %s: %ld is out of range: expected %s", where, k->path, v->i,
                           expected);
        return 0;
    case CFG_FLOAT:
        if (!is_plain(node) || parse_double(s, &v->f) != 0)
            return err_set(L->e, "%s: %s: expected %s, got %s%s", where, k->path, expected, shown,
                           is_plain(node) ? "" : " (a quoted string)");
        if (v->f < k->min || v->f > k->max)
            return err_set(L->e, "%s: %s: %s is out of range: expected %s", where, k->path, s,
                           expected);
        return 0;
    case CFG_BOOL:
        if (is_plain(node) && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
            v->i = 1;
            return 0;
        }
        if (is_plain(node) && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
            v->i = 0;
            return 0;
        }
        return err_set(L->e, "%s: %s: expected true or false, got %s", where, k->path, shown);
    case CFG_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (strcmp(k->names[i], s) == 0) {
                v->i = i;
                return 0;
            }
        return err_set(L->e, "%s: %s: expected %s, got %s", where, k->path, expected, shown);
    case CFG_STRING:
        if (!str)
            return err_set(L->e, "%s: %s: internal error: string keys cannot be sweep lists", where,
                           k->path);
        if (node->data.scalar.length >= CFG_STR_MAX)
            return err_set(L->e, "%s: %s: the string is %zu bytes long; at most %d are allowed", where,
                           k->path, node->data.scalar.length, CFG_STR_MAX - 1);
        memcpy(str, s, node->data.scalar.length + 1);
        return 0;
    }
    return err_set(L->e, "%s: %s: internal error: unknown type", where, k->path);
}

static void set_origin(const struct loader *L, int key, const yaml_node_t *node)
{
    L->cfg->origin_source[key] = (unsigned char)L->source;
    L->cfg->origin_line[key] = L->has_lines && node ? (int)node->start_mark.line + 1 : 0;
    L->cfg->is_set[key] = 1;
}

static void drop_axis(struct config *cfg, int key)
{
    for (int a = 0; a < cfg->n_axes; a++)
        if (cfg->axes[a].key == key) {
            memmove(&cfg->axes[a], &cfg->axes[a + 1], (size_t)(cfg->n_axes - a - 1) * sizeof cfg->axes[0]);
            cfg->n_axes--;
            return;
        }
}

static int same_value(const struct cfg_key *k, union cfg_value a, union cfg_value b)
{
    return k->type == CFG_FLOAT ? a.f == b.f : a.i == b.i;
}

static int set_key(struct loader *L, int key, yaml_node_t *node)
{
    int n;
    const struct cfg_key *k = &config_schema(&n)[key];
    char where[CFG_SOURCE_MAX + 32];
    location(L, node, where, sizeof where);
    if (node->type == YAML_SEQUENCE_NODE) {
        if (!k->sweep)
            return err_set(L->e, "%s: %s: takes one value, not a list", where, k->path);
        int count = (int)(node->data.sequence.items.top - node->data.sequence.items.start);
        if (count == 0)
            return err_set(L->e, "%s: %s: the list is empty; give at least one value", where, k->path);
        if (count > CFG_MAX_SWEEP)
            return err_set(L->e, "%s: %s: the list has %d values; at most %d are allowed", where,
                           k->path, count, CFG_MAX_SWEEP);
        struct cfg_axis axis = {.key = key, .n = count};
        for (int i = 0; i < count; i++) {
            yaml_node_t *item = yaml_document_get_node(L->doc, node->data.sequence.items.start[i]);
            if (!item)
                return err_set(L->e, "%s: %s: malformed list", where, k->path);
            if (parse_value(L, k, item, &axis.v[i], NULL) != 0)
                return -1;
            for (int j = 0; j < i; j++)
                if (same_value(k, axis.v[i], axis.v[j])) {
                    char w2[CFG_SOURCE_MAX + 32];
                    location(L, item, w2, sizeof w2);
                    return err_set(L->e, "%s: %s: the value %s appears twice in the list", w2,
                                   k->path, (const char *)item->data.scalar.value);
                }
        }
        config_put(L->cfg, key, axis.v[0]);
        drop_axis(L->cfg, key);
        if (count > 1) {
            if (L->cfg->n_axes >= CFG_MAX_AXES)
                return err_set(L->e, "%s: %s: too many sweep lists (at most %d)", where, k->path,
                               CFG_MAX_AXES);
            L->cfg->axes[L->cfg->n_axes++] = axis;
        }
        set_origin(L, key, node);
        return 0;
    }
    union cfg_value v = {0};
    char *str = k->type == CFG_STRING ? (char *)L->cfg + k->offset : NULL;
    char tmp[CFG_STR_MAX];
    if (parse_value(L, k, node, &v, str ? tmp : NULL) != 0)
        return -1;
    if (str)
        memcpy(str, tmp, strlen(tmp) + 1);
    else
        config_put(L->cfg, key, v);
    drop_axis(L->cfg, key);
    set_origin(L, key, node);
    return 0;
}

/* ---- mappings ---------------------------------------------------------------------------- */

static int is_section(const char *path)
{
    if (!path[0])
        return 1;
    int n;
    const struct cfg_key *k = config_schema(&n);
    size_t len = strlen(path);
    for (int i = 0; i < n; i++)
        if (strncmp(k[i].path, path, len) == 0 && k[i].path[len] == '.')
            return 1;
    return 0;
}

static int apply_node(struct loader *L, yaml_node_t *node, const char *path);

static int apply_mapping(struct loader *L, yaml_node_t *node, const char *path)
{
    char where[CFG_SOURCE_MAX + 32];
    location(L, node, where, sizeof where);
    if (node->type != YAML_MAPPING_NODE) {
        if (!path[0])
            return err_set(L->e, "%s: expected a mapping of configuration keys at the top level, got %s",
                           where, node_kind(node));
        return err_set(L->e, "%s: %s: is a section; expected a mapping of its keys, got %s", where, path,
                       node_kind(node));
    }
    yaml_node_pair_t *start = node->data.mapping.pairs.start, *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *p = start; p < top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        if (!kn || !vn)
            return err_set(L->e, "%s: malformed mapping", where);
        location(L, kn, where, sizeof where);
        if (kn->type != YAML_SCALAR_NODE)
            return err_set(L->e, "%s: keys must be plain names, got %s as a key", where, node_kind(kn));
        const char *name = (const char *)kn->data.scalar.value;
        if (strlen(name) != kn->data.scalar.length || !name[0])
            return err_set(L->e, "%s: empty or malformed key name", where);
        for (yaml_node_pair_t *q = start; q < p; q++) {
            yaml_node_t *prev = yaml_document_get_node(L->doc, q->key);
            if (prev && prev->type == YAML_SCALAR_NODE && strcmp((const char *)prev->data.scalar.value, name) == 0)
                return err_set(L->e, "%s: key '%s%s%s' appears twice in this mapping (first on line %lu)",
                               where, path, path[0] ? "." : "", name,
                               (unsigned long)prev->start_mark.line + 1);
        }
        char child[512];
        int len = snprintf(child, sizeof child, "%s%s%s", path, path[0] ? "." : "", name);
        if (len < 0 || (size_t)len >= sizeof child)
            return err_set(L->e, "%s: key name too long", where);
        if (config_key_index(child) < 0 && !is_section(child)) {
            const char *hint = suggest_key(child);
            if (hint)
                return err_set(L->e, "%s: unknown key '%s' (did you mean '%s'?)", where, child, hint);
            return err_set(L->e, "%s: unknown key '%s' (see configs/defaults.yaml for every key)", where,
                           child);
        }
        if (apply_node(L, vn, child) != 0)
            return -1;
    }
    return 0;
}

static int apply_node(struct loader *L, yaml_node_t *node, const char *path)
{
    int key = path[0] ? config_key_index(path) : -1;
    if (key >= 0)
        return set_key(L, key, node);
    return apply_mapping(L, node, path);
}

/* Parses one YAML document from text and applies it at `path` ("" = the root). */
static int apply_text(struct config *cfg, const char *text, size_t len, const char *where,
                      int has_lines, const char *path, struct err *e)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return err_set(e, "%s: cannot initialise the YAML parser", where);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (has_lines)
            err_set(e, "%s:%lu:%lu: malformed YAML: %s%s%s", where,
                    (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "parse error", parser.context ? " " : "",
                    parser.context ? parser.context : "");
        else
            err_set(e, "%s: malformed YAML value: %s", where, parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root && path[0]) /* "--set key=" */
        rc = err_set(e, "%s: %s: has no value (write \"\" for an empty string)", where, path);
    if (root) {
        struct loader L = {.cfg = cfg, .doc = &doc, .where = where, .has_lines = has_lines, .e = e};
        L.source = cfg->n_sources - 1;
        rc = apply_node(&L, root, path);
        if (rc == 0) {
            /* A second document would be silently ignored by the loader: refuse it. */
            yaml_document_t more;
            if (!yaml_parser_load(&parser, &more)) {
                rc = err_set(e, "%s:%lu: malformed YAML after the first document: %s", where,
                             (unsigned long)parser.problem_mark.line + 1,
                             parser.problem ? parser.problem : "parse error");
            } else {
                yaml_node_t *r2 = yaml_document_get_root_node(&more);
                if (r2)
                    rc = err_set(e, "%s:%lu: a second YAML document; a config file holds one", where,
                                 (unsigned long)r2->start_mark.line + 1);
                yaml_document_delete(&more);
            }
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

static int add_source(struct config *cfg, const char *name, struct err *e)
{
    if (cfg->n_sources >= (int)(sizeof cfg->sources / sizeof cfg->sources[0]))
        return err_set(e, "too many configuration layers");
    snprintf(cfg->sources[cfg->n_sources++], CFG_SOURCE_MAX, "%s", name);
    return 0;
}

int config_apply_yaml(struct config *cfg, const char *text, size_t len, const char *source, struct err *e)
{
    if (add_source(cfg, source, e) != 0)
        return -1;
    return apply_text(cfg, text, len, source, 1, "", e);
}

int config_apply_set(struct config *cfg, const char *assignment, struct err *e)
{
    char where[CFG_SOURCE_MAX];
    snprintf(where, sizeof where, "--set %s", assignment);
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return err_set(e, "%s: expected key.path=value", where);
    char path[512];
    size_t plen = (size_t)(eq - assignment);
    if (plen >= sizeof path)
        return err_set(e, "%s: key path too long", where);
    memcpy(path, assignment, plen);
    path[plen] = '\0';
    if (config_key_index(path) < 0 && !is_section(path)) {
        const char *hint = suggest_key(path);
        if (hint)
            return err_set(e, "%s: unknown key '%s' (did you mean '%s'?)", where, path, hint);
        return err_set(e, "%s: unknown key '%s' (see configs/defaults.yaml for every key)", where, path);
    }
    /* apply_text attributes origins to the last layer; all --set options share one. */
    if ((cfg->n_sources == 0 || strcmp(cfg->sources[cfg->n_sources - 1], "--set") != 0) &&
        add_source(cfg, "--set", e) != 0)
        return -1;
    const char *value = eq + 1;
    return apply_text(cfg, value, strlen(value), where, 0, path, e);
}

int config_validate(const struct config *cfg, struct err *e)
{
    int n;
    const struct cfg_key *k = config_schema(&n);
    for (int i = 0; i < n; i++)
        if (!cfg->is_set[i])
            return err_set(e, "configs/defaults.yaml has no value for '%s' (a build error)", k[i].path);
    if (!cfg->run.dir[0]) {
        char o[CFG_SOURCE_MAX + 32];
        config_origin(cfg, "run.dir", o, sizeof o);
        return err_set(e, "%s: run.dir: must name a folder, got an empty string", o);
    }
    if (cfg->model.size == MODEL_CUSTOM) {
        const struct {
            const char *key;
            long v;
        } dims[] = {{"model.d_model", cfg->model.d_model}, {"model.n_heads", cfg->model.n_heads},
                    {"model.d_kv", cfg->model.d_kv},       {"model.d_ff", cfg->model.d_ff},
                    {"model.n_layers", cfg->model.n_layers}};
        for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
            if (dims[i].v == 0) {
                char o[CFG_SOURCE_MAX + 32];
                config_origin(cfg, "model.size", o, sizeof o);
                return err_set(e, "%s: model.size: custom needs every dimension; %s is 0", o, dims[i].key);
            }
    }
    /* Routing needs a bottleneck.  Within a sweep such combinations are left out (sweep.c); a single
     * run asking for one is a mistake worth stopping for. */
    union cfg_value methods[CFG_MAX_SWEEP], routings[CFG_MAX_SWEEP];
    int nm = config_values(cfg, "peft.method", methods, CFG_MAX_SWEEP);
    int nr = config_values(cfg, "peft.routing", routings, CFG_MAX_SWEEP);
    int any = 0;
    for (int a = 0; a < nm; a++)
        for (int b = 0; b < nr; b++)
            if (routings[b].i == ROUTING_NONE || peft_method_supports_routing((int)methods[a].i))
                any = 1;
    /* peft.routed_methods names methods (with a bottleneck, or it means nothing). */
    for (const char *p = cfg->peft.routed_methods; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (!len)
            break;
        int known = 0;
        for (int m = 0; m < PEFT_METHOD_COUNT; m++)
            known |= strlen(peft_method_names[m]) == len && !strncmp(p, peft_method_names[m], len) &&
                     peft_method_supports_routing(m);
        if (!known) {
            char o[CFG_SOURCE_MAX + 32];
            config_origin(cfg, "peft.routed_methods", o, sizeof o);
            return err_set(e, "%s: peft.routed_methods: '%.*s' is not a method with a bottleneck (lora, houlsby, "
                              "pfeiffer, mixphm)", o, (int)len, p);
        }
        p += len;
    }
    /* Full fine-tuning trains the backbone: neither bf16 products nor projected features can serve it. */
    int full = 0;
    for (int a = 0; a < nm; a++)
        full |= methods[a].i == PEFT_FULL;
    if (full && cfg->model.precision == PRECISION_BF16) {
        char o[CFG_SOURCE_MAX + 32];
        config_origin(cfg, "model.precision", o, sizeof o);
        return err_set(e, "%s: model.precision: bf16 runs the frozen backbone's products in bf16, and full "
                       "fine-tuning trains the backbone; use model.precision fp32 for peft.method full (or leave "
                       "full out of the sweep)", o);
    }
    if (full && cfg->features.project) {
        char o[CFG_SOURCE_MAX + 32];
        config_origin(cfg, "features.project", o, sizeof o);
        return err_set(e, "%s: features.project: full fine-tuning trains the visual embedding, so it needs the "
                       "region features, not projected ones; set features.project: false or leave full out of "
                       "peft.method", o);
    }
    if (!any) {
        char o[CFG_SOURCE_MAX + 32];
        config_origin(cfg, "peft.routing", o, sizeof o);
        return err_set(e, "%s: peft.routing: routing functions act on a low-rank bottleneck; "
                       "peft.method must include lora, houlsby, pfeiffer or mixphm (or set peft.routing: none)",
                       o);
    }
    return 0;
}

void config_origin(const struct config *cfg, const char *path, char *out, size_t n)
{
    int key = config_key_index(path);
    if (key < 0 || !cfg->is_set[key]) {
        snprintf(out, n, "%s", path);
        return;
    }
    const char *src = cfg->sources[cfg->origin_source[key]];
    if (cfg->origin_line[key] > 0)
        snprintf(out, n, "%s:%d", src, cfg->origin_line[key]);
    else
        snprintf(out, n, "%s", src);
}

int config_values(const struct config *cfg, const char *path, union cfg_value *out, int max)
{
    int key = config_key_index(path);
    if (key < 0 || max < 1)
        return 0;
    for (int a = 0; a < cfg->n_axes; a++)
        if (cfg->axes[a].key == key) {
            int n = cfg->axes[a].n < max ? cfg->axes[a].n : max;
            memcpy(out, cfg->axes[a].v, (size_t)n * sizeof out[0]);
            return n;
        }
    out[0] = config_get(cfg, key);
    return 1;
}

int config_load_with_defaults(struct config *cfg, const char *defaults, size_t defaults_len,
                              const char *path, const char *const *sets, int n_sets, struct err *e)
{
    memset(cfg, 0, sizeof *cfg);
    err_clear(e);
    int n;
    config_schema(&n);
    if (n > CFG_MAX_KEYS)
        return err_set(e, "internal error: the schema has %d keys, more than CFG_MAX_KEYS", n);
    if (config_apply_yaml(cfg, defaults, defaults_len, "configs/defaults.yaml", e) != 0)
        return err_prefix(e, "the built-in defaults are broken (a build error)");
    if (path) {
        char *text;
        size_t len;
        if (read_file(path, &text, &len, e) != 0)
            return err_prefix(e, "configuration");
        int rc = config_apply_yaml(cfg, text, len, path, e);
        free(text);
        if (rc != 0)
            return -1;
    }
    for (int i = 0; i < n_sets; i++)
        if (config_apply_set(cfg, sets[i], e) != 0)
            return -1;
    return config_validate(cfg, e);
}

int config_load(struct config *cfg, const char *path, const char *const *sets, int n_sets, struct err *e)
{
    return config_load_with_defaults(cfg, mixphm_defaults_yaml, mixphm_defaults_yaml_len, path, sets,
                                     n_sets, e);
}
