#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/mem.h"

int tmp_path_for(const char *final, char *out, size_t out_len, struct err *e)
{
    int n = snprintf(out, out_len, "%s.tmp", final);
    if (n < 0 || (size_t)n >= out_len)
        return err_set(e, "path too long: '%s'", final);
    return 0;
}

static void dir_of(const char *path, char *out, size_t out_len)
{
    snprintf(out, out_len, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, out_len, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

static int fsync_path(const char *path, int is_dir, struct err *e)
{
    int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0)
        return err_errno(e, errno, "cannot open '%s' to flush it", path);
    /* Some file systems refuse fsync on directories (EINVAL); the rename is still atomic there. */
    if (fsync(fd) != 0 && !(is_dir && (errno == EINVAL || errno == EBADF))) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot flush '%s' to disk", path);
    }
    close(fd);
    return 0;
}

int commit_tmp(const char *tmp, const char *final, struct err *e)
{
    char dir[PATH_MAX_LEN];
    if (fsync_path(tmp, 0, e) != 0)
        return -1;
    if (rename(tmp, final) != 0)
        return err_errno(e, errno, "cannot rename '%s' to '%s'", tmp, final);
    dir_of(final, dir, sizeof dir);
    return fsync_path(dir, 1, e);
}

int atomic_open(struct atomic_file *af, const char *path, struct err *e)
{
    af->f = NULL;
    if (snprintf(af->final_path, sizeof af->final_path, "%s", path) >= (int)sizeof af->final_path)
        return err_set(e, "path too long: '%s'", path);
    if (tmp_path_for(path, af->tmp_path, sizeof af->tmp_path, e) != 0)
        return -1;
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f)
        return err_errno(e, errno, "cannot create '%s'", af->tmp_path);
    return 0;
}

int atomic_commit(struct atomic_file *af, struct err *e)
{
    int failed = ferror(af->f) || fflush(af->f) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->f = NULL;
    if (failed) {
        unlink(af->tmp_path);
        return err_errno(e, saved, "cannot write '%s'", af->tmp_path);
    }
    if (commit_tmp(af->tmp_path, af->final_path, e) != 0) {
        unlink(af->tmp_path);
        return -1;
    }
    return 0;
}

void atomic_abandon(struct atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    af->f = NULL;
    unlink(af->tmp_path);
}

int write_file_atomic(const char *path, const void *data, size_t n, struct err *e)
{
    struct atomic_file af;
    if (atomic_open(&af, path, e) != 0)
        return -1;
    if (n && fwrite(data, 1, n, af.f) != n) {
        int saved = errno;
        atomic_abandon(&af);
        return err_errno(e, saved, "cannot write '%s'", path);
    }
    return atomic_commit(&af, e);
}

int read_file(const char *path, char **data, size_t *n, struct err *e)
{
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_errno(e, errno, "cannot read '%s'", path);
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int saved = errno;
        fclose(f);
        free(buf);
        return err_errno(e, saved, "cannot read '%s'", path);
    }
    fclose(f);
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return 0;
}

int make_dirs(const char *path, struct err *e)
{
    char buf[PATH_MAX_LEN];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return err_set(e, "path too long: '%s'", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return err_errno(e, errno, "cannot create directory '%s'", buf);
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return err_errno(e, errno, "cannot create directory '%s'", buf);
    if (!dir_exists(buf))
        return err_set(e, "'%s' exists and is not a directory", buf);
    return 0;
}

int path_join(char *out, size_t out_len, const char *a, const char *b, struct err *e)
{
    size_t la = strlen(a);
    int n;
    if (b[0] == '/' || la == 0)
        n = snprintf(out, out_len, "%s", b);
    else if (a[la - 1] == '/')
        n = snprintf(out, out_len, "%s%s", a, b);
    else
        n = snprintf(out, out_len, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= out_len)
        return err_set(e, "path too long: '%s/%s'", a, b);
    return 0;
}

long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (long long)st.st_size;
}

int file_exists(const char *path)
{
    return file_size(path) >= 0;
}

int dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int remove_if_exists(const char *path, struct err *e)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return err_errno(e, errno, "cannot remove '%s'", path);
    return 0;
}

long long fs_free_bytes(const char *path)
{
    char dir[PATH_MAX_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    struct statvfs st;
    while (statvfs(dir, &st) != 0) { /* a file not yet written: ask its folder */
        char *slash = strrchr(dir, '/');
        if (!slash)
            return statvfs(".", &st) == 0 ? (long long)st.f_bavail * (long long)st.f_frsize : -1;
        *slash = '\0';
        if (!dir[0])
            snprintf(dir, sizeof dir, "/");
    }
    return (long long)st.f_bavail * (long long)st.f_frsize;
}
