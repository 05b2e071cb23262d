#include "run/stamp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/json_file.h"
#include "base/mem.h"

int stamp_path(const char *run_dir, const char *stage, char *out, size_t n, struct err *e)
{
    int len = snprintf(out, n, "%s/stamps/%s.json", run_dir, stage);
    if (len < 0 || (size_t)len >= n)
        return err_set(e, "path too long: '%s/stamps/%s.json'", run_dir, stage);
    return 0;
}

int stamp_run_path(const char *run_dir, const char *run_name, enum stage_id stage, char *out, size_t n,
                   struct err *e)
{
    int len = snprintf(out, n, "%s/runs/%s/stamps/%s.json", run_dir, run_name, stage_name(stage));
    if (len < 0 || (size_t)len >= n)
        return err_set(e, "path too long: '%s/runs/%s'", run_dir, run_name);
    return 0;
}

enum run_state stamp_run_current(const char *run_dir, const char *run_name, const struct config *run_cfg,
                                 enum stage_id stage, struct stamp *s, char *why, size_t n)
{
    char path[PATH_MAX_LEN];
    struct err e;
    why[0] = '\0';
    memset(s, 0, sizeof *s);
    if (stamp_run_path(run_dir, run_name, stage, path, sizeof path, &e) != 0 || stamp_read(path, s, &e) != 0) {
        if (strcmp(e.msg, "no stamp") != 0)
            snprintf(why, n, "%s", e.msg); /* a damaged stamp: the run is redone, and the log says why */
        return RUN_NOT_DONE;
    }
    char want[HASH_HEX_LEN];
    hash_hex(config_stage_hash(run_cfg, stage), want);
    enum run_state state = RUN_DONE;
    if (strcmp(want, s->config_hash) != 0) {
        char *now = stamp_settings_text(run_cfg, stage);
        stamp_settings_diff(s->settings, now, why, n);
        free(now);
        state = RUN_STALE;
    } else {
        char run_folder[PATH_MAX_LEN];
        snprintf(run_folder, sizeof run_folder, "%s/runs/%s", run_dir, run_name);
        if (stamp_outputs_intact(s, run_folder, why, n) != 0)
            state = RUN_STALE;
    }
    if (state != RUN_DONE)
        stamp_free(s);
    return state;
}

enum run_state stamp_run_state(const char *run_dir, const char *run_name, const struct config *run_cfg,
                               enum stage_id stage, char *why, size_t n)
{
    struct stamp s;
    enum run_state state = stamp_run_current(run_dir, run_name, run_cfg, stage, &s, why, n);
    if (state == RUN_DONE)
        stamp_free(&s);
    return state;
}

int stamp_build(struct stamp *s, const char *stage, const char config_hash[HASH_HEX_LEN], double seconds, int ranks,
                const char *dir, const char *const *outputs, int n_outputs, struct err *e)
{
    memset(s, 0, sizeof *s);
    if (n_outputs > STAMP_MAX_ITEMS)
        return err_set(e, "stage %s declared %d outputs (at most %d)", stage, n_outputs, STAMP_MAX_ITEMS);
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    snprintf(s->config_hash, sizeof s->config_hash, "%s", config_hash);
    stamp_new_id(stage, s->id);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(s->finished, sizeof s->finished, "%Y-%m-%dT%H:%M:%S", &tm);
    s->seconds = seconds;
    s->ranks = ranks;
    for (int i = 0; i < n_outputs; i++) {
        char path[PATH_MAX_LEN];
        if (path_join(path, sizeof path, dir, outputs[i], e) != 0)
            return -1;
        snprintf(s->outputs[i].path, sizeof s->outputs[i].path, "%s", outputs[i]);
        s->outputs[i].size = dir_exists(path) ? -1 : file_size(path);
        if (s->outputs[i].size < 0 && !dir_exists(path))
            return err_set(e, "stage %s declared the output %s but did not write it", stage, outputs[i]);
        s->n_outputs++;
    }
    return 0;
}

int stamp_add_consume(struct stamp *s, const char *name, const char *id, struct err *e)
{
    if (s->n_consumes >= STAMP_MAX_ITEMS)
        return err_set(e, "stage %s consumes more than %d inputs", s->stage, STAMP_MAX_ITEMS);
    snprintf(s->consumes[s->n_consumes].name, STAMP_NAME_MAX, "%s", name);
    snprintf(s->consumes[s->n_consumes].id, HASH_HEX_LEN, "%s", id ? id : "");
    s->n_consumes++;
    return 0;
}

void stamp_new_id(const char *stage, char out[HASH_HEX_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    uint64_t h = hash_str(HASH_INIT, stage);
    h = hash_bytes(h, &ts, sizeof ts);
    long pid = (long)getpid();
    h = hash_bytes(h, &pid, sizeof pid);
    h = hash_str(h, host);
    hash_hex(h, out);
}

char *stamp_settings_text(const struct config *cfg, enum stage_id stage)
{
    int n;
    const struct cfg_key *keys = config_schema(&n);
    size_t cap = 256, len = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    char value[CFG_STR_MAX * 5 + 64];
    for (int i = 0; i < n; i++) {
        if (!config_key_affects(cfg, i, stage))
            continue;
        config_format_key(cfg, i, value, sizeof value);
        size_t need = strlen(keys[i].path) + strlen(value) + 3;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            out = xrealloc(out, cap);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s=%s\n", keys[i].path, value);
    }
    return out;
}

/* Finds the value of `key` in "key=value" lines; copies it into out. Returns 1 when found. */
static int settings_value(const char *text, const char *key, char *out, size_t n)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = len - klen - 1 < n - 1 ? len - klen - 1 : n - 1;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

void stamp_settings_diff(const char *before, const char *now, char *out, size_t n)
{
    size_t o = 0;
    int shown = 0;
    out[0] = '\0';
    /* Changed values first, then keys that newly matter (a condition such as features.project turned
     * them on), then keys that no longer do: the first ones shown are the ones the user changed. */
    enum { CHANGED, NEW, REMOVED };
    for (int pass = CHANGED; pass <= REMOVED; pass++) {
        const char *text = pass == REMOVED ? before : now;
        const char *other = pass == REMOVED ? now : before;
        for (const char *p = text; p && *p;) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            if (eq) {
                char key[256], mine[512], theirs[512];
                size_t klen = (size_t)(eq - p) < sizeof key - 1 ? (size_t)(eq - p) : sizeof key - 1;
                memcpy(key, p, klen);
                key[klen] = '\0';
                settings_value(text, key, mine, sizeof mine);
                int found = settings_value(other ? other : "", key, theirs, sizeof theirs);
                int show = pass == CHANGED ? found && strcmp(mine, theirs) != 0 : !found;
                if (o < n && shown < 4 && show) {
                    if (pass == CHANGED)
                        o += (size_t)snprintf(out + o, n - o, "%s%s %s -> %s", shown ? ", " : "", key, theirs, mine);
                    else if (pass == NEW)
                        o += (size_t)snprintf(out + o, n - o, "%s%s (new) -> %s", shown ? ", " : "", key, mine);
                    else
                        o += (size_t)snprintf(out + o, n - o, "%s%s removed", shown ? ", " : "", key);
                    shown++;
                }
            }
            p = eol ? eol + 1 : NULL;
        }
    }
    if (!shown && o < n)
        snprintf(out, n, "settings changed");
}

const char *stamp_provided(const struct stamp *s, const char *name)
{
    if (strcmp(name, s->stage) == 0)
        return s->id;
    size_t len = strlen(s->stage);
    if (strncmp(name, s->stage, len) != 0 || name[len] != '.')
        return NULL;
    for (int i = 0; i < s->n_provides; i++)
        if (strcmp(s->provides[i].name, name + len + 1) == 0)
            return s->provides[i].id;
    return NULL;
}

int stamp_outputs_intact(const struct stamp *s, const char *run_dir, char *reason, size_t n)
{
    for (int i = 0; i < s->n_outputs; i++) {
        char path[PATH_MAX_LEN];
        struct err e;
        if (path_join(path, sizeof path, run_dir, s->outputs[i].path, &e) != 0) {
            snprintf(reason, n, "%s", e.msg);
            return -1;
        }
        if (s->outputs[i].size < 0) {
            if (!dir_exists(path)) {
                snprintf(reason, n, "output folder %s is missing", s->outputs[i].path);
                return -1;
            }
            continue;
        }
        long long size = file_size(path);
        if (size < 0) {
            snprintf(reason, n, "output %s is missing", s->outputs[i].path);
            return -1;
        }
        if (size != s->outputs[i].size) {
            snprintf(reason, n, "output %s changed size (%lld bytes, was %lld)", s->outputs[i].path, size,
                     s->outputs[i].size);
            return -1;
        }
    }
    return 0;
}

static json_t *links_to_json(const struct stamp_link *links, int n)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, links[i].name, json_string(links[i].id));
    return o;
}

int stamp_write(const char *path, const struct stamp *s, const struct config *cfg, struct err *e)
{
    json_t *root = json_object();
    json_object_set_new(root, "stage", json_string(s->stage));
    json_object_set_new(root, "config_hash", json_string(s->config_hash));
    json_object_set_new(root, "id", json_string(s->id));
    json_object_set_new(root, "finished", json_string(s->finished));
    json_object_set_new(root, "seconds", json_real(s->seconds));
    json_object_set_new(root, "ranks", json_integer(s->ranks));
    int st = stage_from_name(s->stage);
    /* Per-run stamps are named like "train" too; their settings are the run's. */
    char *settings = st >= 0 ? stamp_settings_text(cfg, (enum stage_id)st) : xstrdup("");
    json_object_set_new(root, "settings", json_string(settings));
    free(settings);
    json_t *outs = json_array();
    for (int i = 0; i < s->n_outputs; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(s->outputs[i].path));
        json_object_set_new(o, "size", json_integer(s->outputs[i].size));
        json_array_append_new(outs, o);
    }
    json_object_set_new(root, "outputs", outs);
    json_object_set_new(root, "provides", links_to_json(s->provides, s->n_provides));
    json_object_set_new(root, "consumes", links_to_json(s->consumes, s->n_consumes));
    char dir[PATH_MAX_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (make_dirs(dir, e) != 0) {
            json_decref(root);
            return -1;
        }
    }
    return json_write_file(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, path, e);
}

static int copy_string(json_t *root, const char *key, char *out, size_t n)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) >= n)
        return -1;
    snprintf(out, n, "%s", json_string_value(v));
    return 0;
}

static int read_links(json_t *root, const char *key, struct stamp_link *links, int *n)
{
    json_t *o = json_object_get(root, key);
    *n = 0;
    if (!json_is_object(o))
        return -1;
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v)
    {
        if (*n >= STAMP_MAX_ITEMS || !json_is_string(v) || strlen(name) >= STAMP_NAME_MAX ||
            strlen(json_string_value(v)) >= HASH_HEX_LEN)
            return -1;
        snprintf(links[*n].name, STAMP_NAME_MAX, "%s", name);
        snprintf(links[*n].id, HASH_HEX_LEN, "%s", json_string_value(v));
        (*n)++;
    }
    return 0;
}

int stamp_read(const char *path, struct stamp *s, struct err *e)
{
    memset(s, 0, sizeof *s);
    if (!file_exists(path))
        return err_set(e, "no stamp");
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return err_set(e, "stamp %s is unreadable: line %d: %s", path, je.line, je.text);
    int bad = !json_is_object(root) || copy_string(root, "stage", s->stage, sizeof s->stage) ||
              copy_string(root, "config_hash", s->config_hash, sizeof s->config_hash) ||
              copy_string(root, "id", s->id, sizeof s->id) ||
              copy_string(root, "finished", s->finished, sizeof s->finished) ||
              read_links(root, "provides", s->provides, &s->n_provides) ||
              read_links(root, "consumes", s->consumes, &s->n_consumes);
    json_t *outs = json_object_get(root, "outputs");
    if (!bad && json_is_array(outs) && json_array_size(outs) <= STAMP_MAX_ITEMS) {
        size_t i;
        json_t *o;
        json_array_foreach(outs, i, o)
        {
            json_t *size = json_object_get(o, "size");
            if (copy_string(o, "path", s->outputs[i].path, sizeof s->outputs[i].path) || !json_is_integer(size)) {
                bad = 1;
                break;
            }
            s->outputs[i].size = json_integer_value(size);
            s->n_outputs++;
        }
    } else {
        bad = 1;
    }
    json_t *settings = json_object_get(root, "settings");
    s->settings = xstrdup(json_is_string(settings) ? json_string_value(settings) : "");
    json_t *secs = json_object_get(root, "seconds");
    s->seconds = json_is_number(secs) ? json_number_value(secs) : 0;
    json_t *ranks = json_object_get(root, "ranks");
    s->ranks = json_is_integer(ranks) ? (int)json_integer_value(ranks) : 0;
    json_decref(root);
    if (bad) {
        stamp_free(s);
        return err_set(e, "stamp %s is malformed", path);
    }
    return 0;
}

void stamp_free(struct stamp *s)
{
    free(s->settings);
    s->settings = NULL;
}
