/* `mixphm submit`: job scripts for Slurm or PBS, one per stage, submitted as an afterok chain.
 *
 * Each script comes from a template compiled into the binary (jobs/slurm/job.sbatch.in,
 * jobs/pbs/job.pbs.in) with @NAME@ placeholders; a placeholder the renderer does not know is an
 * error, so a template and this file cannot drift apart silently. */
#include "pipeline/submit.h"

#include <ctype.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "pipeline/runner.h"

extern const char mixphm_job_slurm[];
extern const char mixphm_job_pbs[];

struct tvar {
    const char *name;
    char value[8192];
};

int template_render(const char *tmpl, const struct tvar *vars, int n, char **out, struct err *e)
{
    size_t cap = strlen(tmpl) + 1024, len = 0;
    char *buf = xmalloc(cap);
    for (const char *p = tmpl; *p;) {
        const char *piece = p;
        size_t piece_len = 1;
        char name[64];
        const char *end = p + 1;
        while (*p == '@' && (isupper((unsigned char)*end) || *end == '_' || isdigit((unsigned char)*end)))
            end++;
        /* "@NAME@" is a placeholder; any other '@' (as in "USR1@@SECONDS@") is literal text. */
        if (*p == '@' && end > p + 1 && *end == '@') {
            if ((size_t)(end - p - 1) >= sizeof name) {
                free(buf);
                return err_set(e, "job template: placeholder too long at \"%.20s\"", p);
            }
            memcpy(name, p + 1, (size_t)(end - p - 1));
            name[end - p - 1] = '\0';
            piece = NULL;
            for (int i = 0; i < n; i++)
                if (strcmp(vars[i].name, name) == 0) {
                    piece = vars[i].value;
                    piece_len = strlen(piece);
                }
            if (!piece) {
                free(buf);
                return err_set(e, "job template: unknown placeholder @%s@", name);
            }
            p = end + 1;
        } else {
            p++;
        }
        if (len + piece_len + 1 > cap) {
            cap = (len + piece_len + 1) * 2;
            buf = xrealloc(buf, cap);
        }
        memcpy(buf + len, piece, piece_len);
        len += piece_len;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* Parses [D-]HH:MM:SS, HH:MM or MM (Slurm's forms) into seconds; -1 when malformed. */
long job_time_seconds(const char *s)
{
    long days = 0, parts[3] = {0, 0, 0};
    int n = 0;
    const char *p = s;
    const char *dash = strchr(s, '-');
    if (dash) {
        char *end;
        days = strtol(s, &end, 10);
        if (end != dash || dash == s)
            return -1;
        p = dash + 1;
    }
    while (*p) {
        if (n == 3 || !isdigit((unsigned char)*p))
            return -1;
        char *end;
        parts[n++] = strtol(p, &end, 10);
        p = end;
        if (*p == ':')
            p++;
        else if (*p)
            return -1;
    }
    if (n == 0)
        return -1;
    long secs = n == 1 ? parts[0] * 60 : n == 2 ? parts[0] * 3600 + parts[1] * 60
                                                : parts[0] * 3600 + parts[1] * 60 + parts[2];
    if ((n >= 2 && parts[n - 1] >= 60) || (n == 3 && parts[1] >= 60))
        return -1;
    return days * 86400 + secs;
}

static void format_time(long secs, int pbs, char *out, size_t n)
{
    long h = secs / 3600, m = secs % 3600 / 60, s = secs % 60;
    if (!pbs && h >= 24)
        snprintf(out, n, "%ld-%02ld:%02ld:%02ld", h / 24, h % 24, m, s);
    else
        snprintf(out, n, "%02ld:%02ld:%02ld", h, m, s);
}

/* 'text' quoted for a POSIX shell. */
static void shell_quote(const char *text, char *out, size_t n)
{
    size_t o = 0;
    if (n < 3) {
        out[0] = '\0';
        return;
    }
    out[o++] = '\'';
    for (const char *p = text; *p && o + 5 < n; p++) {
        if (*p == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
}

static void set_var(struct tvar *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_var(struct tvar *v, const char *name, const char *fmt, ...)
{
    va_list ap;
    v->name = name;
    va_start(ap, fmt);
    vsnprintf(v->value, sizeof v->value, fmt, ap);
    va_end(ap);
}

struct submit_paths {
    char workdir[PATH_MAX_LEN];
    char run_dir[PATH_MAX_LEN];
    char job_dir[PATH_MAX_LEN];
    char config[PATH_MAX_LEN];
    char binary[PATH_MAX_LEN];
};

static int light_stage(int stage)
{
    /* prepare and aggregate are short serial work: one rank is enough. */
    return stage == STAGE_PREPARE || stage == STAGE_AGGREGATE;
}

/* Renders the job script of `stage`. */
static int render_stage(const struct config *cfg, int pbs, int stage, const struct submit_paths *sp, char **script,
                        struct err *e)
{
    enum { NV = 20 };
    struct tvar *v = xcalloc(NV, sizeof *v);
    int n = 0;
    const char *name = stage == STAGE_COUNT ? "run" : stage_name((enum stage_id)stage);
    int array = stage == STAGE_TRAIN && cfg->jobs.train_array > 1;
    const char *t = stage == STAGE_TRAIN && cfg->jobs.train_time[0]  ? cfg->jobs.train_time
                    : stage == STAGE_EVAL && cfg->jobs.eval_time[0] ? cfg->jobs.eval_time
                                                                     : cfg->jobs.time;
    long secs = job_time_seconds(t);
    int rc = 0;
    if (secs <= 0)
        rc = err_set(e, "jobs: time limit '%s' for the %s job: expected [D-]HH:MM:SS", t, name);
    else if ((stage == STAGE_TRAIN || stage == STAGE_COUNT) && secs <= cfg->jobs.signal_seconds)
        rc = err_set(e, "jobs: the train time limit '%s' is not longer than jobs.signal_seconds (%ld s)", t,
                     cfg->jobs.signal_seconds);
    if (rc != 0) {
        free(v);
        return rc;
    }
    char qbin[PATH_MAX_LEN + 64], qcfg[PATH_MAX_LEN + 64], time_s[32];
    shell_quote(sp->binary, qbin, sizeof qbin);
    shell_quote(sp->config, qcfg, sizeof qcfg);
    format_time(secs, pbs, time_s, sizeof time_s);
    const char *index_var = pbs ? "${PBS_ARRAY_INDEX}" : "${SLURM_ARRAY_TASK_ID}";
    char command[3 * PATH_MAX_LEN];
    if (array)
        snprintf(command, sizeof command, "%s %s %s --slice %s/%ld", qbin, name, qcfg, index_var,
                 cfg->jobs.train_array);
    else
        snprintf(command, sizeof command, "%s %s %s", qbin, name, qcfg);
    long nodes = light_stage(stage) ? 1 : cfg->jobs.nodes;
    long tasks = light_stage(stage) ? 1 : cfg->jobs.tasks_per_node;
    char launch[4 * PATH_MAX_LEN];
    if (cfg->jobs.launcher == LAUNCHER_SRUN)
        snprintf(launch, sizeof launch, "srun%s %s", light_stage(stage) ? " -n 1" : "", command);
    else
        snprintf(launch, sizeof launch, "mpirun%s%s%s %s", light_stage(stage) ? " -np 1" : "",
                 cfg->jobs.mpirun_args[0] ? " " : "", cfg->jobs.mpirun_args, command);
    char directives[6 * CFG_STR_MAX] = "";
    size_t o = 0;
    const char *pre = pbs ? "#PBS" : "#SBATCH";
    if (cfg->jobs.partition[0])
        o += (size_t)snprintf(directives + o, sizeof directives - o, "%s %s%s\n", pre, pbs ? "-q " : "--partition=",
                              cfg->jobs.partition);
    if (cfg->jobs.account[0] && o < sizeof directives)
        o += (size_t)snprintf(directives + o, sizeof directives - o, "%s %s%s\n", pre, pbs ? "-A " : "--account=",
                              cfg->jobs.account);
    if (array && o < sizeof directives)
        o += (size_t)snprintf(directives + o, sizeof directives - o, "%s %s0-%ld\n", pre, pbs ? "-J " : "--array=",
                              cfg->jobs.train_array - 1);
    if (cfg->jobs.directives[0] && o < sizeof directives)
        snprintf(directives + o, sizeof directives - o, "%s\n", cfg->jobs.directives);
    char resubmit[4 * PATH_MAX_LEN];
    if (stage == STAGE_COUNT)
        snprintf(resubmit, sizeof resubmit, "%s submit %s --scheduler %s --whole", qbin, qcfg, pbs ? "pbs" : "slurm");
    else
        snprintf(resubmit, sizeof resubmit, "%s submit %s --scheduler %s --from %s", qbin, qcfg,
                 pbs ? "pbs" : "slurm", name);
    set_var(&v[n++], "COMMAND", "%s", command);
    set_var(&v[n++], "LAUNCH", "%s", launch);
    set_var(&v[n++], "RUN_DIR", "%s", sp->run_dir);
    set_var(&v[n++], "JOB_DIR", "%s", sp->job_dir);
    set_var(&v[n++], "WORKDIR", "%s", sp->workdir);
    set_var(&v[n++], "JOB_NAME", "mixphm-%s", name);
    set_var(&v[n++], "LOG_NAME", "%s", pbs ? (array ? "mixphm-train-^array_index^" : name)
                                           : (array ? "%x-%A_%a" : "%x-%j"));
    set_var(&v[n++], "NODES", "%ld", nodes);
    set_var(&v[n++], "TASKS_PER_NODE", "%ld", tasks);
    set_var(&v[n++], "TIME", "%s", time_s);
    set_var(&v[n++], "SIGNAL_SECONDS", "%ld", cfg->jobs.signal_seconds);
    set_var(&v[n++], "DIRECTIVES", "%s", directives);
    set_var(&v[n++], "SETUP", "%s", cfg->jobs.setup[0] ? cfg->jobs.setup : "# (none)");
    set_var(&v[n++], "ARRAY_SUFFIX", "%s", array ? "_${SLURM_ARRAY_TASK_ID}" : "");
    set_var(&v[n++], "REQUEUE_ID", "%s", "${SLURM_JOB_ID}");
    if (pbs)
        set_var(&v[n++], "RESUBMIT", "%s || exit 1", resubmit);
    else
        set_var(&v[n++], "RESUBMIT", "%s", resubmit);
    rc = template_render(pbs ? mixphm_job_pbs : mixphm_job_slurm, v, n, script, e);
    free(v);
    return rc;
}

/* Runs a submission command; on success copies the job id (first line, before any ';'). */
static int run_submit(const char *cmd, char *id, size_t n, struct err *e)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return err_set(e, "cannot run: %s", cmd);
    char line[512] = "";
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    char rest[512];
    while (fgets(rest, sizeof rest, p))
        ;
    int status = pclose(p);
    line[strcspn(line, ";\r\n")] = '\0';
    if (status != 0 || !line[0])
        return err_set(e, "the scheduler refused the job: `%s` exited with status %d", cmd,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    snprintf(id, n, "%s", line);
    return 0;
}

static int resolve_paths(const struct config *cfg, const char *config_path, struct submit_paths *sp, struct err *e)
{
    (void)config_path;
    if (!getcwd(sp->workdir, sizeof sp->workdir))
        return err_set(e, "cannot find the current directory");
    if (path_join(sp->run_dir, sizeof sp->run_dir, sp->workdir, cfg->run.dir, e) != 0 ||
        path_join(sp->job_dir, sizeof sp->job_dir, sp->run_dir, "jobs", e) != 0 ||
        path_join(sp->config, sizeof sp->config, sp->run_dir, "config.yaml", e) != 0)
        return -1;
    if (cfg->jobs.binary[0]) {
        snprintf(sp->binary, sizeof sp->binary, "%s", cfg->jobs.binary);
    } else {
        ssize_t len = readlink("/proc/self/exe", sp->binary, sizeof sp->binary - 1);
        if (len <= 0)
            return err_set(e, "cannot find this binary's path; set jobs.binary");
        sp->binary[len] = '\0';
    }
    return 0;
}

int submit_command(const char *config_path, const char *const *sets, int n_sets, const char *scheduler, int from,
                   int whole, int dry_run, FILE *out, struct err *e)
{
    int pbs = 0;
    if (strcmp(scheduler, "pbs") == 0)
        pbs = 1;
    else if (strcmp(scheduler, "slurm") != 0)
        return err_set(e, "--scheduler: expected slurm or pbs, got '%s'", scheduler);
    struct config *cfg = xmalloc(sizeof *cfg);
    struct submit_paths *sp = xmalloc(sizeof *sp);
    int rc = config_load(cfg, config_path, sets, n_sets, e);
    if (rc == 0)
        rc = resolve_paths(cfg, config_path, sp, e);
    if (rc == 0 && pbs && cfg->jobs.train_array == 1)
        rc = err_set(e, "jobs.train_array: PBS job arrays need at least 2 elements (use 0 for one job)");
    struct logger log;
    log_init(&log, stderr, 0, "");
    if (rc == 0 && !dry_run)
        rc = make_dirs(sp->job_dir, e) == 0 ? runner_write_config(cfg, &log, e) : -1;
    char prev_id[256] = "", prev_var[64] = "";
    const char *ext = pbs ? "pbs" : "sbatch";
    /* The chain of stage jobs, or (whole) one job running `mixphm run`, which resumes by itself. */
    int first = whole ? STAGE_COUNT : from < 0 ? 0 : from, last = whole ? STAGE_COUNT : STAGE_COUNT - 1;
    for (int s = first; rc == 0 && s <= last; s++) {
        if (s < STAGE_COUNT && !stage_in_pipeline(cfg, (enum stage_id)s) && s != from)
            continue;
        char *script = NULL, path[PATH_MAX_LEN + 64], qpath[2 * PATH_MAX_LEN], cmd[3 * PATH_MAX_LEN], dep[400] = "";
        const char *name = s == STAGE_COUNT ? "run" : stage_name((enum stage_id)s);
        rc = render_stage(cfg, pbs, s, sp, &script, e);
        if (rc != 0)
            break;
        snprintf(path, sizeof path, "%s/%s.%s", sp->job_dir, name, ext);
        shell_quote(path, qpath, sizeof qpath);
        const char *dep_id = dry_run ? prev_var : prev_id;
        if (dep_id[0])
            snprintf(dep, sizeof dep, pbs ? " -W depend=afterok:%s" : " --dependency=afterok:%s", dep_id);
        snprintf(cmd, sizeof cmd, pbs ? "qsub%s %s" : "sbatch --parsable%s %s", dep, qpath);
        if (dry_run) {
            fprintf(out, "# ---- %s ----\n%s\n", path, script);
            fprintf(out, "# submit: %s=$(%s)\n\n", name, cmd);
            snprintf(prev_var, sizeof prev_var, "$%s", name);
        } else {
            rc = write_file_atomic(path, script, strlen(script), e);
            if (rc == 0)
                rc = run_submit(cmd, prev_id, sizeof prev_id, e);
            if (rc == 0)
                fprintf(out, "%s: job %s%s (%s)\n", name, prev_id, dep[0] ? " after the one above" : "", path);
            else
                err_prefix(e, "submitting the %s job%s", name, prev_id[0] ? " (the jobs above are submitted)" : "");
        }
        free(script);
    }
    free(sp);
    free(cfg);
    return rc;
}
