/* The command line: `mixphm COMMAND ...` (README.md, "Running it").  Parsing never starts MPI, so a usage
 * error costs nothing and is printed once, by the first rank of the job. */
#ifndef MIXPHM_PIPELINE_CLI_H
#define MIXPHM_PIPELINE_CLI_H

#include <stdio.h>

#define CLI_MAX_SETS 128

enum cli_command {
    CMD_HELP,
    CMD_VERSION,
    CMD_RUN,
    CMD_STAGE, /* prepare, features, train, eval, aggregate, analyze */
    CMD_STATUS,
    CMD_PARAMS,
    CMD_SCORE,
    CMD_SUBMIT,
    CMD_ESTIMATE,
};

struct cli {
    enum cli_command command;
    int stage;              /* CMD_STAGE: which one */
    const char *config;     /* CONFIG, or RUN_DIR for status */
    const char *sets[CLI_MAX_SETS];
    int n_sets;
    int until;              /* -1 when absent */
    unsigned force;         /* stage bits */
    int force_unlock;       /* run, stages: --force-unlock */
    int pretrain_only;      /* `mixphm pretrain CONFIG`: run up to the synthetic backbone */
    const char *help_topic; /* CMD_HELP: the command asked about, or NULL */
    /* score */
    const char *questions, *annotations, *results, *variant;
    /* train: --slice I/N (a job-array element trains every N-th run, starting at I) */
    int slice, slices;
    /* eval: --weights FILE (score a weights file made elsewhere instead of the sweep's runs) */
    const char *weights;
    /* submit */
    const char *scheduler;
    int dry_run;
    int from;  /* --from STAGE: submit the chain from this stage on; -1 = all */
    int whole; /* --whole: one job running `mixphm run` */
    /* estimate */
    const char *calibration; /* --calibration FILE */
    double hours;            /* --hours H */
};

/* Returns 0, or 2 after printing a usage error to `err`. */
int cli_parse(int argc, char **argv, struct cli *c, FILE *err);
/* Prints the help of one command (or the overview for NULL); returns 0, or 2 for an unknown one. */
int cli_help(const char *command, FILE *out);
/* Whether this process is the first rank of an MPI launch (read from the launcher's environment,
 * before MPI is started), so that one copy of a usage error is printed. */
int cli_first_rank(void);

#endif
