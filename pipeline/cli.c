#include "pipeline/cli.h"

#include <stdlib.h>
#include <string.h>

#include "run/config.h"

struct help {
    const char *command;
    const char *text;
};

static const char overview[] =
    "usage: mixphm COMMAND [options]\n"
    "\n"
    "Parameter-efficient tuning for low-resource VQA (MixPHM, routing functions and baselines on a\n"
    "frozen VL-T5), as a staged MPI pipeline.  Run it under mpirun; every command takes --help.\n"
    "\n"
    "pipeline:\n"
    "  run CONFIG        run every stage whose stamp is missing or stale\n"
    "  prepare CONFIG    questions, tokens and k-shot splits -> prepared.h5\n"
    "  features CONFIG   frozen visual features -> features.h5 (parallel HDF5)\n"
    "  train CONFIG      the sweep of PEFT runs, data parallel in groups of ranks\n"
    "  eval CONFIG       VQA accuracy of every trained run on the full test split\n"
    "  aggregate CONFIG  tables and plots over seeds -> report/\n"
    "  analyze CONFIG    redundancy statistics (RSA, CKA) with ScaLAPACK -> analysis/\n"
    "  pretrain CONFIG   the synthetic benchmark's backbone (caption pretraining) -> runs/pretrain/\n"
    "  status RUN_DIR    which stages and sweep runs are done\n"
    "\n"
    "tools:\n"
    "  params CONFIG     trainable parameters of the configured method\n"
    "  score ...         VQA accuracy of any results file\n"
    "  submit CONFIG     write and submit Slurm or PBS jobs for a run\n"
    "  estimate CONFIG   core-hours of the sweep and nodes for a wall-clock target\n"
    "  help [COMMAND]    this text, or a command's\n"
    "  --version         the version of this build\n"
    "\n"
    "Configuration: configs/defaults.yaml lists every key; a CONFIG file overrides it and\n"
    "--set key.path=value (a YAML value) overrides both.  Docs: README.md and docs/.\n";

static const struct help helps[] = {
    {"run", "usage: mixphm run CONFIG [--set key.path=value ...] [--until STAGE] [--force STAGE ...]\n"
            "\n"
            "Runs prepare, features, train, eval and aggregate in order, skipping every stage whose stamp\n"
            "(RUN_DIR/stamps/STAGE.json) matches the current settings and outputs; rerunning after a crash\n"
            "or a preemption continues where it stopped.  The run folder is run.dir; its config.yaml is the\n"
            "resolved configuration.\n"
            "\n"
            "  --set key.path=value  override a key; the value is YAML (--set data.sizes=[16,64])\n"
            "  --until STAGE         stop after STAGE\n"
            "  --force STAGE         rerun STAGE (and so every stage after it) even if it is up to date\n"
            "  --force-unlock        take the run folder although its lock names another process (for a\n"
            "                        lock on a shared file system whose owner is gone and cannot be checked)\n"},
    {"pretrain", "usage: mixphm pretrain CONFIG [--set key.path=value ...] [--force-unlock]\n"
                 "\n"
                 "Pretrains the synthetic benchmark's VL-T5 backbone (prepare and features first when they are\n"
                 "not done): full training from random weights on the benchmark's caption corpus (the pretrain.*\n"
                 "keys), deterministic, resumable from its checkpoints, stamped in RUN_DIR/runs/pretrain/, where\n"
                 "backbone.h5 and pretrain.json (the loss per epoch) are written.  docs/synthetic.md says how the\n"
                 "released backbone was made with it.\n"},
    {"status", "usage: mixphm status RUN_DIR\n"
               "\n"
               "Prints each stage of the run folder (done, stale with the reason, or not run) and each run of\n"
               "the sweep (trained, evaluated).  Needs no MPI.\n"},
    {"params", "usage: mixphm params CONFIG [--set key.path=value ...]\n"
               "\n"
               "Prints the trainable parameters of the configured method and model size and their share of\n"
               "the backbone's parameters.\n"},
    {"score", "usage: mixphm score --questions Q.json --annotations A.json --results R.json\n"
              "                    [--variant vlt5|official2016|official]\n"
              "\n"
              "Scores a results file ([{\"question_id\": ..., \"answer\": ...}]) with the VQA accuracy and prints\n"
              "one JSON object with the official tool's keys (overall, perQuestionType, perAnswerType, in\n"
              "percent rounded to 2 decimals) and the variant used:\n"
              "  vlt5          the scorer of the VL-T5 / MixPHM code (the papers' numbers; default); scores\n"
              "                the questions the results answer\n"
              "  official2016  the GT-Vision-Lab tool as released with VQA v2\n"
              "  official      that tool since its 2021 fix\n"
              "The official variants need an answer for exactly the annotated questions, as the tool does.\n"
              "See docs/scoring.md.\n"},
    {"estimate", "usage: mixphm estimate CONFIG [--set key.path=value ...] [--calibration FILE] [--hours H]\n"
                 "\n"
                 "Estimates the core-hours of the config's sweep before it runs: a short calibration on this\n"
                 "machine (random weights and inputs: training steps of every method, a decoding batch) times\n"
                 "the sweep's work (every epoch of the schedule, the dev validations, the best and last\n"
                 "weights' evaluation on the test split), and the nodes of jobs.tasks_per_node cores that\n"
                 "finish it in H hours (default 24).  The calibration is saved as RUN_DIR/calibration.json, or\n"
                 "to FILE; an existing FILE is used instead of measuring.  docs/clusters.md shows examples.\n"},
    {"submit", "usage: mixphm submit CONFIG --scheduler slurm|pbs [--set key.path=value ...]\n"
               "                     [--from STAGE | --whole] [--dry-run]\n"
               "\n"
               "Writes one job script per stage into RUN_DIR/jobs/ and submits them as a chain, each job\n"
               "starting only when the previous one succeeded (a failed stage cancels the ones after it).\n"
               "The jobs.* keys of the config set nodes, ranks, time limits, partition, account and the site\n"
               "set-up; jobs.train_array: N makes the train job an array of N slices.  Before a time limit\n"
               "the train job checkpoints and requeues itself.\n"
               "  --from STAGE  submit STAGE and the stages after it only\n"
               "  --whole       one job that runs `mixphm run` (all stages, resuming after a requeue)\n"
               "  --dry-run     print the scripts and the commands instead of submitting\n"},
};

static const char stage_help_fmt[] =
    "usage: mixphm %s CONFIG [--set key.path=value ...] [--force] [--force-unlock]%s\n"
    "\n"
    "Runs the %s stage alone, when the stages it reads from are done.  It is skipped when its stamp is\n"
    "up to date, unless --force is given.  `mixphm run` runs all stages in order.\n%s";

int cli_help(const char *command, FILE *out)
{
    if (!command) {
        fputs(overview, out);
        return 0;
    }
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(helps[i].command, command) == 0) {
            fputs(helps[i].text, out);
            return 0;
        }
    if (stage_from_name(command) >= 0) {
        int train = strcmp(command, "train") == 0, eval = strcmp(command, "eval") == 0;
        fprintf(out, stage_help_fmt, command, train ? " [--slice I/N]" : eval ? " [--weights FILE]" : "", command,
                train ? "  --slice I/N  train only runs I, I+N, I+2N, ... of the sweep (one element of a job\n"
                        "               array); the stage is done when every slice is\n"
                : eval ? "  --weights FILE  instead, score this weights file (tools/import_peft.py's output,\n"
                         "                  or any run's best.h5) with the config's one method, into\n"
                         "                  RUN_DIR/imported/NAME/ (NAME: the file's name without .h5);\n"
                         "                  needs prepare and features, not train; writes no stamp\n"
                       : "");
        return 0;
    }
    if (strcmp(command, "help") == 0) {
        fputs("usage: mixphm help [COMMAND]\n", out);
        return 0;
    }
    return 2;
}

int cli_first_rank(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v)
            return strcmp(v, "0") == 0;
    }
    return 1;
}

static int usage_error(FILE *err, const char *command, const char *fmt, const char *arg)
{
    if (cli_first_rank()) {
        fprintf(err, "mixphm%s%s: ", command ? " " : "", command ? command : "");
        fprintf(err, fmt, arg);
        fprintf(err, "\n(see `mixphm %s%s--help`)\n", command ? command : "", command ? " " : "");
    }
    return 2;
}

/* Matches "--name value" and "--name=value"; advances *i over a separate value. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t len = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, len) != 0)
        return 0;
    if (a[len] == '=') {
        *value = a + len + 1;
        return 1;
    }
    if (a[len] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static int parse_stage_name(FILE *err, const char *cmd, const char *opt, const char *v, int *stage)
{
    if (!v)
        return usage_error(err, cmd, "%s needs a stage name", opt);
    *stage = stage_from_name(v);
    if (*stage < 0)
        return usage_error(err, cmd,
                           "unknown stage '%s' (prepare, features, train, eval, aggregate, analyze)", v);
    return 0;
}

int cli_parse(int argc, char **argv, struct cli *c, FILE *err)
{
    memset(c, 0, sizeof *c);
    c->until = -1;
    c->stage = -1;
    c->from = -1;
    if (argc < 2)
        return usage_error(err, NULL, "%sa command is needed", "");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        c->command = CMD_HELP;
        c->help_topic = argc > 2 ? argv[2] : NULL;
        if (c->help_topic && (!strcmp(c->help_topic, "--help") || !strcmp(c->help_topic, "-h")))
            c->help_topic = "help";
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        c->command = CMD_VERSION;
        return 0;
    }
    if (!strcmp(cmd, "run"))
        c->command = CMD_RUN;
    else if (!strcmp(cmd, "pretrain")) {
        c->command = CMD_RUN; /* prepare and features when needed, then the backbone alone */
        c->pretrain_only = 1;
        c->until = STAGE_TRAIN;
    }
    else if ((c->stage = stage_from_name(cmd)) >= 0)
        c->command = CMD_STAGE;
    else if (!strcmp(cmd, "status"))
        c->command = CMD_STATUS;
    else if (!strcmp(cmd, "params"))
        c->command = CMD_PARAMS;
    else if (!strcmp(cmd, "score"))
        c->command = CMD_SCORE;
    else if (!strcmp(cmd, "estimate"))
        c->command = CMD_ESTIMATE;
    else if (!strcmp(cmd, "submit"))
        c->command = CMD_SUBMIT;
    else
        return usage_error(err, NULL, "unknown command '%s'", cmd);

    int takes_config = c->command != CMD_SCORE;
    int takes_sets = c->command == CMD_RUN || c->command == CMD_STAGE || c->command == CMD_PARAMS ||
                     c->command == CMD_SUBMIT || c->command == CMD_ESTIMATE;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            c->command = CMD_HELP;
            c->help_topic = cmd;
            return 0;
        }
        /* Flags without a value. */
        if (c->command == CMD_STAGE && !strcmp(a, "--force")) {
            c->force |= 1u << c->stage;
            continue;
        }
        if ((c->command == CMD_STAGE || c->command == CMD_RUN) && !strcmp(a, "--force-unlock")) {
            c->force_unlock = 1;
            continue;
        }
        if (c->command == CMD_SUBMIT && !strcmp(a, "--dry-run")) {
            c->dry_run = 1;
            continue;
        }
        if (c->command == CMD_SUBMIT && !strcmp(a, "--whole")) {
            c->whole = 1;
            continue;
        }
        /* Options with a value: find which one, then check that the value is there. */
        const char *name = NULL;
        static const char *const score_opts[] = {"--questions", "--annotations", "--results", "--variant"};
        const char **score_slot[] = {&c->questions, &c->annotations, &c->results, &c->variant};
        int score_i = -1;
        if (takes_sets && option_value(argc, argv, &i, "--set", &v))
            name = "--set";
        else if (c->command == CMD_ESTIMATE && option_value(argc, argv, &i, "--calibration", &v))
            name = "--calibration";
        else if (c->command == CMD_ESTIMATE && option_value(argc, argv, &i, "--hours", &v))
            name = "--hours";
        else if (c->command == CMD_RUN && option_value(argc, argv, &i, "--until", &v))
            name = "--until";
        else if (c->command == CMD_RUN && option_value(argc, argv, &i, "--force", &v))
            name = "--force";
        else if (c->command == CMD_SUBMIT && option_value(argc, argv, &i, "--scheduler", &v))
            name = "--scheduler";
        else if (c->command == CMD_SUBMIT && option_value(argc, argv, &i, "--from", &v))
            name = "--from";
        else if (c->command == CMD_STAGE && option_value(argc, argv, &i, "--slice", &v))
            name = "--slice";
        else if (c->command == CMD_STAGE && option_value(argc, argv, &i, "--weights", &v))
            name = "--weights";
        else if (c->command == CMD_SCORE)
            for (int k = 0; k < 4 && !name; k++)
                if (option_value(argc, argv, &i, score_opts[k], &v)) {
                    name = score_opts[k];
                    score_i = k;
                }
        if (name && (!v || !v[0]))
            return usage_error(err, cmd, "%s needs a value", name);
        if (!name) {
            if (a[0] == '-' && a[1])
                return usage_error(err, cmd, "unknown option '%s'", a);
            if (!takes_config || c->config)
                return usage_error(err, cmd, "unexpected argument '%s'", a);
            c->config = a;
        } else if (!strcmp(name, "--set")) {
            if (!strchr(v, '=') || v[0] == '=')
                return usage_error(err, cmd, "--set needs key.path=value, got '%s'", v);
            if (c->n_sets >= CLI_MAX_SETS)
                return usage_error(err, cmd, "too many --set options (at most %s)", "128");
            c->sets[c->n_sets++] = v;
        } else if (!strcmp(name, "--until")) {
            if (parse_stage_name(err, cmd, name, v, &c->until))
                return 2;
        } else if (!strcmp(name, "--force")) {
            int st;
            if (parse_stage_name(err, cmd, name, v, &st))
                return 2;
            c->force |= 1u << st;
        } else if (!strcmp(name, "--scheduler")) {
            c->scheduler = v;
        } else if (!strcmp(name, "--from")) {
            if (parse_stage_name(err, cmd, name, v, &c->from))
                return 2;
        } else if (!strcmp(name, "--slice")) {
            char tail;
            if (c->stage != STAGE_TRAIN)
                return usage_error(err, cmd, "%s--slice is an option of the train stage only", "");
            if (sscanf(v, "%d/%d%c", &c->slice, &c->slices, &tail) != 2 || c->slices < 1 || c->slice < 0 ||
                c->slice >= c->slices)
                return usage_error(err, cmd, "--slice needs I/N with 0 <= I < N, got '%s'", v);
        } else if (!strcmp(name, "--calibration")) {
            c->calibration = v;
        } else if (!strcmp(name, "--hours")) {
            char *end;
            c->hours = strtod(v, &end);
            if (*end || !(c->hours > 0))
                return usage_error(err, cmd, "--hours needs a positive number of hours, got '%s'", v);
        } else if (!strcmp(name, "--weights")) {
            if (c->stage != STAGE_EVAL)
                return usage_error(err, cmd, "%s--weights is an option of the eval stage only", "");
            c->weights = v;
        } else {
            *score_slot[score_i] = v;
        }
    }
    if (c->command == CMD_SCORE) {
        if (!c->questions || !c->annotations || !c->results)
            return usage_error(err, cmd, "%s--questions, --annotations and --results are all needed", "");
        return 0;
    }
    if (!c->config)
        return usage_error(err, cmd, "%s", c->command == CMD_STATUS ? "a RUN_DIR is needed" : "a CONFIG file is needed");
    if (c->weights && c->force)
        return usage_error(err, cmd, "%s--weights scores the file every time; --force does not apply", "");
    if (c->command == CMD_SUBMIT && !c->scheduler)
        return usage_error(err, cmd, "%s--scheduler slurm|pbs is needed", "");
    if (c->command == CMD_SUBMIT && c->whole && c->from >= 0)
        return usage_error(err, cmd, "%s--whole and --from exclude each other", "");
    return 0;
}
