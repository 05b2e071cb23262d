#include "base/err.h"

#include <stdio.h>
#include <string.h>

int err_vset(struct err *e, const char *fmt, va_list ap)
{
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return -1;
}

int err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, fmt, ap);
    va_end(ap);
    return -1;
}

int err_errno(struct err *e, int errno_value, const char *fmt, ...)
{
    char head[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    return err_set(e, "%s: %s", head, strerror(errno_value));
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char head[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    return err_set(e, "%s: %s", head, old);
}

void err_clear(struct err *e)
{
    e->msg[0] = '\0';
    e->collective = 0;
    e->exit_status = 0;
}

int err_set_all(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, fmt, ap);
    va_end(ap);
    e->collective = 1;
    return -1;
}

int err_mark_all(struct err *e, int rc)
{
    if (rc != 0)
        e->collective = 1;
    return rc;
}
