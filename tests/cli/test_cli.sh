#!/usr/bin/env bash
# The command line: usage errors, help, config errors as a user sees them, run folders and status.
. "$(dirname "$0")/lib.sh"

t_run "$MIXPHM"
t_expect "no command is a usage error" 2 "a command is needed" "mixphm --help"
t_run "$MIXPHM" --help
t_expect "--help gives the overview" 0 "usage: mixphm COMMAND" "status RUN_DIR" "configs/defaults.yaml"
for cmd in run prepare features train eval aggregate analyze status params score submit help; do
    t_run "$MIXPHM" "$cmd" --help
    t_expect "$cmd --help" 0 "usage: mixphm $cmd"
done
t_run "$MIXPHM" help train
t_expect "help COMMAND" 0 "usage: mixphm train CONFIG"
t_run "$MIXPHM" help nonsense
t_expect "help for an unknown command" 2 "not a command"
t_run "$MIXPHM" --version
t_expect "--version" 0 "mixphm "
t_run "$MIXPHM" frobnicate
t_expect "unknown command" 2 "unknown command 'frobnicate'"
t_run "$MIXPHM" run
t_expect "run without CONFIG" 2 "mixphm run: a CONFIG file is needed" "mixphm run --help"
t_run "$MIXPHM" run configs/demo.yaml --until bogus
t_expect "--until an unknown stage" 2 "unknown stage 'bogus'"
t_run "$MIXPHM" run configs/demo.yaml --set
t_expect "--set without a value" 2 "--set needs a value"
t_run "$MIXPHM" run configs/demo.yaml --set train.epochs
t_expect "--set without =" 2 "--set needs key.path=value"
t_run "$MIXPHM" run configs/demo.yaml --frob
t_expect "unknown option" 2 "unknown option '--frob'"
t_run "$MIXPHM" run configs/demo.yaml other.yaml
t_expect "two configs" 2 "unexpected argument 'other.yaml'"
t_run "$MIXPHM" score --questions q.json
t_expect "score needs all three files" 2 "--questions, --annotations and --results are all needed"
t_run "$MIXPHM" submit configs/demo.yaml
t_expect "submit needs a scheduler" 2 "--scheduler slurm|pbs is needed"

t_run "$MIXPHM" run "$TMP/missing.yaml"
t_expect "a missing config file" 1 "$TMP/missing.yaml" "No such file"
printf 'run:\n  dir: "%s/r"\ntrain:\n  batchsize: 8\n' "$TMP" >"$TMP/typo.yaml"
t_run "$MIXPHM" run "$TMP/typo.yaml"
t_expect "a typo names the key, file and line" 1 "$TMP/typo.yaml:4: unknown key 'train.batchsize' (did you mean 'train.batch_size'?)"
[ ! -e "$TMP/r" ] && t_ok "a refused config creates no run folder" || t_fail "a refused config creates no run folder" "$TMP/r exists"
printf 'train:\n  epochs: [1, 2\n' >"$TMP/broken.yaml"
t_run "$MIXPHM" prepare "$TMP/broken.yaml"
t_expect "malformed YAML names the line" 1 "$TMP/broken.yaml:3:1: malformed YAML"
t_run "$MIXPHM" run configs/demo.yaml --set train.batch_size=0
t_expect "an out-of-range --set" 1 "--set train.batch_size=0: train.batch_size: 0 is out of range"
t_run "$MIXPHM" prepare configs/demo.yaml --set "run.dir=\"$TMP/nolang\"" --set data.synthetic.language=false \
    --set data.synthetic.language_pairs=10
t_expect "language pairs without the language words" 1 \
    "data.synthetic.language_pairs is 10 but data.synthetic.language is false"
# data.synthetic.language_thing_order reaches the corpus that prepare writes, and only when set.
for THINGS in true false; do
    t_run "$MIXPHM" prepare configs/demo.yaml --set "run.dir=\"$TMP/things-$THINGS\"" \
        --set data.synthetic.language_pairs=1000 --set data.synthetic.language_thing_order=$THINGS
    t_expect "prepare with language_thing_order $THINGS" 0 "prepare: done"
    N_THINGS=$(grep -oE '"input":"[^"]*question: (is|are) the [a-z ]+ (to the )?(left|right) of the [a-z ]+ \?' \
        "$TMP/things-$THINGS/synthetic/pretrain.json" | wc -l)
    if [ "$THINGS" = true ]; then
        [ "$N_THINGS" -gt 20 ] && t_ok "with language_thing_order, pretrain.json asks the order of things" ||
            t_fail "with language_thing_order, pretrain.json asks the order of things" "$N_THINGS questions"
    else
        [ "$N_THINGS" = 0 ] && t_ok "without it, no question on the order of things" ||
            t_fail "without it, no question on the order of things" "$N_THINGS questions"
    fi
done

# A run folder: the resolved config is written, and status reads it back.
t_run "$MIXPHM" run configs/demo.yaml --set "run.dir=\"$TMP/demo\"" --until prepare
[ -f "$TMP/demo/config.yaml" ] && t_ok "run writes the resolved config" || t_fail "run writes the resolved config" "no $TMP/demo/config.yaml"
grep -q "sizes: \[16, 64\]" "$TMP/demo/config.yaml" && t_ok "the resolved config holds the sweep lists" ||
    t_fail "the resolved config holds the sweep lists" "$(cat "$TMP/demo/config.yaml")"
t_run "$MIXPHM" status "$TMP/demo"
t_expect "status lists stages and sweep runs" 0 "run folder $TMP/demo" "prepare" "aggregate" "sweep: 72 runs" \
    "mixphm-k16-s13-regularizer=false-lr=0.005" "lora+add-k64-s42-lr=0.02" "0 of 72 runs trained"
t_run "$MIXPHM" status "$TMP/nowhere"
t_expect "status of a missing folder" 1 "no run folder at '$TMP/nowhere'"
t_run "$MIXPHM" status "$TMP"
t_expect "status of a folder that is not a run" 1 "is not a mixphm run folder"

# Under mpirun every rank loads the config, and the error is printed once.
t_run env "$MPIRUN" -np 2 "$MIXPHM" run "$TMP/typo.yaml"
[ "$RC" != 0 ] && t_ok "a bad config under mpirun -np 2 fails" || t_fail "a bad config under mpirun -np 2 fails" "exit 0"
t_expect_count "a bad config under mpirun -np 2 is reported once" 1 "unknown key 'train.batchsize'"
t_run env "$MPIRUN" -np 2 "$MIXPHM" run
t_expect_count "a usage error under mpirun -np 2 is reported once" 1 "a CONFIG file is needed"

# OpenBLAS on its generic kernels is slow; the binary says so where the CPU could do better.
if grep -qwE 'avx2|avx512f' /proc/cpuinfo; then
    t_run env OPENBLAS_CORETYPE=Prescott "$MIXPHM" run configs/demo.yaml --set "run.dir=\"$TMP/blas\"" --until prepare
    t_expect "a warning for OpenBLAS's Prescott kernels" "$RC" "warning: OpenBLAS is using its generic Prescott kernels"
fi
t_run env OPENBLAS_CORETYPE=Zen make -s --no-print-directory show-env
t_expect "make keeps an OPENBLAS_CORETYPE that is set" 0 "OPENBLAS_CORETYPE=Zen"
t_run env -u OPENBLAS_CORETYPE make -s --no-print-directory show-env
t_expect "make sets OPENBLAS_CORETYPE from the CPU when unset" 0 "OPENBLAS_CORETYPE=$(tools/openblas_coretype.sh)"
t_run env OPENBLAS_CORETYPE= make -s --no-print-directory show-env
t_expect "make keeps an OPENBLAS_CORETYPE that is set but empty" 0 "OPENBLAS_CORETYPE="
t_finish
