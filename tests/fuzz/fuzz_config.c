/* Fuzz target for the config loader (afl++: `make fuzz`; replayed by `make test` under ASan/UBSan).
 *
 * Reads one file (argv[1]) as a user config on top of the defaults.  Every input must end in a clear
 * error message or a valid config; a valid one must survive a round trip: emitting it and loading
 * the emitted text gives the same text again.  Anything else aborts, which the fuzzer reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "run/config.h"

extern const char mixphm_defaults_yaml[];
extern const size_t mixphm_defaults_yaml_len;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
    abort();
}

static void load_user(struct config *cfg, const char *text, size_t len, struct err *e, int *ok)
{
    if (config_load_with_defaults(cfg, mixphm_defaults_yaml, mixphm_defaults_yaml_len, NULL, NULL, 0, e) != 0)
        fail("the defaults do not load", e->msg);
    *ok = config_apply_yaml(cfg, text, len, "input.yaml", e) == 0 && config_validate(cfg, e) == 0;
    if (!*ok && (!e->msg[0] || strlen(e->msg) >= ERR_MSG_MAX))
        fail("an error without a message", e->msg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_config FILE\n");
        return 2;
    }
    char *text;
    size_t len;
    struct err e;
    if (read_file(argv[1], &text, &len, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    struct config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    int ok;
    load_user(a, text, len, &e, &ok);
    if (ok) {
        char *once = config_emit(a, NULL);
        load_user(b, once, strlen(once), &e, &ok);
        if (!ok)
            fail("the resolved config does not load back", e.msg);
        char *twice = config_emit(b, NULL);
        if (strcmp(once, twice) != 0)
            fail("the resolved config changes on a round trip", twice);
        free(once);
        free(twice);
    }
    free(a);
    free(b);
    free(text);
    return 0;
}
