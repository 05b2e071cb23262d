#include "base/sysmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number in file `dir`/`name`; -1 when absent, unreadable or "max" (no limit). */
static long long read_number(const char *dir, const char *name)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[64] = {0};
    const int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok || strncmp(line, "max", 3) == 0)
        return -1;
    char *end;
    const long long v = strtoll(line, &end, 10);
    return end == line || v < 0 ? -1 : v;
}

long long sysmem_cgroup_room(const char *root, const char *path, int v2)
{
    const char *limit_name = v2 ? "memory.max" : "memory.limit_in_bytes";
    const char *usage_name = v2 ? "memory.current" : "memory.usage_in_bytes";
    char dir[4096];
    char rel[4096];
    snprintf(rel, sizeof rel, "%s", path);
    long long best = -1;
    for (;;) {
        size_t n = strlen(rel);
        while (n > 0 && rel[n - 1] == '/') /* "/a/b/" and "/" alike */
            rel[--n] = '\0';
        if (snprintf(dir, sizeof dir, "%s%s", root, rel) < (int)sizeof dir) {
            const long long limit = read_number(dir, limit_name);
            /* v1 writes "no limit" as a number near 2^63 */
            if (limit >= 0 && limit < (1LL << 60)) {
                long long used = read_number(dir, usage_name);
                long long room = limit - (used > 0 ? used : 0);
                if (room < 0)
                    room = 0;
                if (best < 0 || room < best)
                    best = room;
            }
        }
        if (n == 0) /* the root was the last level */
            break;
        char *slash = strrchr(rel, '/');
        *(slash ? slash : rel) = '\0'; /* "a" (no leading slash) goes up to the root too */
    }
    return best;
}

/* MemAvailable of /proc/meminfo in bytes, or -1. */
static long long meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

long long sysmem_available(void)
{
    long long best = meminfo_available();
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return best;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* "0::/path" (v2) or "N:memory:/path" (v1, possibly "N:cpu,memory:/path") */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *path = c2 + 1;
        long long room = -1;
        if (controllers[0] == '\0') {
            room = sysmem_cgroup_room("/sys/fs/cgroup", path, 1);
        } else if (strstr(controllers, "memory")) {
            /* inside a container the mount's root is often the own cgroup, whatever the path says:
             * the walk up the path ends there */
            room = sysmem_cgroup_room("/sys/fs/cgroup/memory", path, 0);
        }
        if (room >= 0 && (best < 0 || room < best))
            best = room;
    }
    fclose(f);
    return best;
}
