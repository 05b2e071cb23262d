#include "base/hash.h"

#include <stdio.h>
#include <string.h>

uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int hash_file(uint64_t *h, const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, "cannot open '%s' to hash it", path);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        *h = hash_bytes(*h, buf, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? err_set(e, "cannot read '%s' to hash it", path) : 0;
}

uint64_t hash_str(uint64_t h, const char *s)
{
    return hash_bytes(h, s, strlen(s));
}

void hash_hex(uint64_t h, char out[HASH_HEX_LEN])
{
    snprintf(out, HASH_HEX_LEN, "%016llx", (unsigned long long)h);
}
