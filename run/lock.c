#include "run/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The owner line a lock file holds: "host pid start command". */
static void read_owner(int fd, char *host, size_t nh, long *pid, char *rest, size_t nr)
{
    char buf[1024] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    host[0] = rest[0] = '\0';
    *pid = -1;
    char *sp1 = strchr(buf, ' ');
    if (!sp1)
        return;
    snprintf(host, nh, "%.*s", (int)(sp1 - buf), buf);
    char *end = NULL;
    *pid = strtol(sp1 + 1, &end, 10);
    if (end && *end == ' ')
        snprintf(rest, nr, "%s", end + 1);
    size_t len = strlen(rest);
    while (len && (rest[len - 1] == '\n'))
        rest[--len] = '\0';
}

static int write_owner(int fd, const char *command)
{
    char host[256] = "?", line[2048], when[32];
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int len = snprintf(line, sizeof line, "%s %ld since %s: %s\n", host, (long)getpid(), when, command);
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    return ftruncate(fd, 0) == 0 && pwrite(fd, line, (size_t)len, 0) == len && fsync(fd) == 0 ? 0 : -1;
}

int run_lock_take(struct run_lock *l, const char *dir, const char *command, int force, struct err *e)
{
    l->fd = -1;
    if (path_join(l->path, sizeof l->path, dir, ".mixphm.lock", e) != 0)
        return -1;
    if (force && unlink(l->path) != 0 && errno != ENOENT)
        return err_errno(e, errno, "--force-unlock: cannot remove %s", l->path);
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_errno(e, errno, "cannot create the run folder's lock %s", l->path);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int why = errno;
        char host[256], rest[1024], me[256] = "";
        long pid;
        read_owner(fd, host, sizeof host, &pid, rest, sizeof rest);
        gethostname(me, sizeof me - 1);
        close(fd);
        if (why == EACCES || why == EAGAIN)
            return err_set(e, "the run folder %s is in use by %s pid %ld (%s); wait for it to finish, or stop it "
                              "first", dir, host[0] ? host : "another process", pid, rest[0] ? rest : "?");
        /* A file system without locks (ENOLCK): fall back to the owner's pid on this host. */
        if (host[0] && strcmp(host, me) == 0 && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            return err_set(e, "the run folder %s is in use by pid %ld on this host (%s)", dir, pid, rest);
        if (host[0] && strcmp(host, me) != 0 && pid > 0)
            return err_set(e, "the run folder %s may be in use by %s pid %ld (%s): this file system has no locks, so "
                              "the owner cannot be checked from here; if it is gone, rerun with --force-unlock", dir,
                           host, pid, rest);
        fd = open(l->path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return err_errno(e, errno, "cannot open the run folder's lock %s", l->path);
    }
    if (write_owner(fd, command) != 0) {
        int why = errno;
        close(fd);
        return err_errno(e, why, "cannot write the run folder's lock %s", l->path);
    }
    l->fd = fd;
    return 0;
}

void run_lock_release(struct run_lock *l)
{
    if (l->fd < 0)
        return;
    if (ftruncate(l->fd, 0) != 0) {
        /* The lock goes with the descriptor; an old owner line left behind names a finished process. */
    }
    close(l->fd);
    l->fd = -1;
}
