#include "base/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void log_init(struct logger *log, FILE *out, int enabled, const char *prefix)
{
    log->out = out;
    log->enabled = enabled;
    snprintf(log->prefix, sizeof log->prefix, "%s", prefix ? prefix : "");
}

static void log_line(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    char body[2048];
    vsnprintf(body, sizeof body, fmt, ap);
    if (prefix[0])
        fprintf(out, "[%s] %s: %s\n", stamp, prefix, body);
    else
        fprintf(out, "[%s] %s\n", stamp, body);
    fflush(out);
}

void log_msg(const struct logger *log, const char *fmt, ...)
{
    if (!log || !log->enabled || !log->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(log->out, log->prefix, fmt, ap);
    va_end(ap);
}

void log_warn(const struct logger *log, const char *fmt, ...)
{
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mixphm: warning: %s%s%s\n", log && log->prefix[0] ? log->prefix : "",
            log && log->prefix[0] ? ": " : "", body);
    fflush(stderr);
}

void format_duration(double seconds, char *out, size_t n)
{
    if (seconds < 0 || seconds != seconds) {
        snprintf(out, n, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, n, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(out, n, "%lds", s);
}

void progress_start(struct progress *p, const struct logger *log, const char *what, long total,
                    double interval)
{
    memset(p, 0, sizeof *p);
    p->log = log;
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->interval = interval;
    p->t_start = p->t_last = now_monotonic();
}

void progress_update_at(struct progress *p, long done, const char *extra, double now)
{
    int final = p->total > 0 && done >= p->total;
    if (final ? p->printed_final : now - p->t_last < p->interval)
        return;
    double window = now - p->t_last;
    double rate = window > 0 ? (double)(done - p->done_last) / window : 0.0;
    double elapsed = now - p->t_start;
    char eta[32] = "", took[32];
    if (p->total > 0 && !final && done > 0 && elapsed > 0) {
        /* The ETA uses the average since the start: it moves less than the windowed rate. */
        format_duration((double)(p->total - done) * elapsed / (double)done, eta, sizeof eta);
    }
    format_duration(elapsed, took, sizeof took);
    char count[96];
    if (p->total > 0)
        snprintf(count, sizeof count, "%ld/%ld (%.1f%%)", done, p->total,
                 100.0 * (double)done / (double)p->total);
    else
        snprintf(count, sizeof count, "%ld", done);
    char rate_s[48];
    if (rate >= 10 || rate == 0)
        snprintf(rate_s, sizeof rate_s, "%.0f/s", rate);
    else
        snprintf(rate_s, sizeof rate_s, "%.2f/s", rate);
    log_msg(p->log, "%s: %s  %s  %s %s%s%s", p->what, count, rate_s, final ? "took" : "ETA",
            final ? took : (eta[0] ? eta : "?"), extra && extra[0] ? "  " : "", extra ? extra : "");
    p->t_last = now;
    p->done_last = done;
    if (final)
        p->printed_final = 1;
}

void progress_update(struct progress *p, long done, const char *extra)
{
    progress_update_at(p, done, extra, now_monotonic());
}
