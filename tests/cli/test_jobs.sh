#!/usr/bin/env bash
# `mixphm submit` and the job scripts it writes, without a scheduler: the rendered directives, the
# afterok chain, bad input, and the scripts run as plain shell scripts with fake scheduler commands
# (signal forwarding, requeue on exit status 75, resubmission when requeueing is not allowed).
. "$(dirname "$0")/lib.sh"
REAL=$(cd "$(dirname "$MIXPHM")" && pwd)/$(basename "$MIXPHM")
mkdir -p "$TMP/bin"

# Fake scheduler commands record their arguments; the fake mixphm records its command and exits with
# $FAKE_STATUS, or waits for a signal when FAKE_WAIT=1 (then exits 75, as training does after its
# checkpoint).  `submit` goes to the real binary.
cat >"$TMP/bin/qsub" <<EOF
#!/bin/bash
n=\$(( \$(wc -l <"$TMP/qsub.log" 2>/dev/null || echo 0) + 100 ))
echo "\$*" >>"$TMP/qsub.log"
echo "\$n.pbsserver"
EOF
cat >"$TMP/bin/sbatch" <<EOF
#!/bin/bash
n=\$(( \$(wc -l <"$TMP/sbatch.log" 2>/dev/null || echo 0) + 500 ))
echo "\$*" >>"$TMP/sbatch.log"
echo "\$n;cluster"
EOF
cat >"$TMP/bin/qrerun" <<EOF
#!/bin/bash
echo "\$*" >>"$TMP/qrerun.log"
exit \${FAKE_QRERUN_STATUS:-1}
EOF
cat >"$TMP/bin/scontrol" <<EOF
#!/bin/bash
echo "\$*" >>"$TMP/scontrol.log"
EOF
cat >"$TMP/bin/mpirun" <<'EOF'
#!/bin/bash
[ "$1" = -np ] && shift 2
exec "$@"
EOF
cp "$TMP/bin/mpirun" "$TMP/bin/srun"
sed -i 's/-np/-n/' "$TMP/bin/srun"
cat >"$TMP/bin/fake-mixphm" <<EOF
#!/bin/bash
[ "\$1" = submit ] && exec "$REAL" "\$@"
echo "\$*" >>"$TMP/stage.log"
[ "\${FAKE_DIE:-0}" = 1 ] && kill -KILL \$\$
if [ "\${FAKE_WAIT:-0}" = 1 ]; then
    trap 'echo "got TERM" >>"$TMP/stage.log"; exit 75' TERM
    trap 'echo "got USR1" >>"$TMP/stage.log"; exit 75' USR1
    sleep 30 & wait
    exit 1
fi
if [ "\${FAKE_STOPMARK:-0}" = 1 ]; then # mixphm saved its state; the launcher exits 1 (mpirun after a SIGTERM)
    touch "\$MIXPHM_STOPPED_FILE"
    exit 1
fi
if [ "\${FAKE_ZERO_ON_STOP:-0}" = 1 ]; then # killed by the stop, but the launcher says 0 (srun with PMIx)
    trap 'exit 0' USR1 TERM
    sleep 30 & wait
    exit 1
fi
if [ "\${FAKE_NOTRAP:-0}" = 1 ]; then # a stage still starting: a stop signal kills it
    sleep 5 & wait
    exit 1
fi
# A stage that ends well says so (FAKE_NODONE: a launcher that reports success for a stage that never ran).
[ "\${FAKE_STATUS:-0}" = 0 ] && [ "\${FAKE_NODONE:-0}" = 0 ] && touch "\$MIXPHM_DONE_FILE"
exit \${FAKE_STATUS:-0}
EOF
chmod +x "$TMP"/bin/*
export PATH="$TMP/bin:$PATH"

cat >"$TMP/jobs.yaml" <<EOF
run:
  dir: "$TMP/run"
peft:
  method: [mixphm, lora]
jobs:
  launcher: mpirun
  nodes: 2
  tasks_per_node: 8
  partition: short
  account: proj42
  time: "1-02:30:00"
  train_time: "10:00:00"
  signal_seconds: 300
  setup: |
    module load openmpi/4.1
    export MY_SITE_VAR=1
  directives: "#SBATCH --mem=16G"
  binary: "$TMP/bin/fake-mixphm"
EOF

# ---- Slurm scripts, dry run --------------------------------------------------------------------
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run
t_expect "slurm dry run: directives" 0 "#SBATCH --nodes=2" "#SBATCH --ntasks-per-node=8" "#SBATCH --partition=short" \
    "#SBATCH --account=proj42" "#SBATCH --time=1-02:30:00" "#SBATCH --time=10:00:00" "#SBATCH --signal=B:USR1@300" \
    "#SBATCH --requeue" "#SBATCH --kill-on-invalid-dep=yes" "#SBATCH --mem=16G"
t_expect "slurm dry run: the set-up in its marked place" 0 "module load openmpi/4.1" "export MY_SITE_VAR=1" \
    "# ---- site set-up (jobs.setup)"
t_expect "slurm dry run: one BLAS thread per rank, OPENBLAS_CORETYPE kept when set" 0 \
    'export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}' 'if [ -z "${OPENBLAS_CORETYPE+set}" ]; then'
t_expect "slurm dry run: the afterok chain" 0 "prepare=\$(sbatch --parsable '$TMP/run/jobs/prepare.sbatch')" \
    "features=\$(sbatch --parsable --dependency=afterok:\$prepare '$TMP/run/jobs/features.sbatch')" \
    "aggregate=\$(sbatch --parsable --dependency=afterok:\$eval '$TMP/run/jobs/aggregate.sbatch')"
t_expect "slurm dry run: prepare and aggregate use one rank" 0 "mpirun -np 1 '$TMP/bin/fake-mixphm' prepare" \
    "mpirun -np 1 '$TMP/bin/fake-mixphm' aggregate" "mpirun '$TMP/bin/fake-mixphm' train"
[ ! -e "$TMP/run" ] && t_ok "a dry run writes nothing" || t_fail "a dry run writes nothing" "$TMP/run exists"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run --set jobs.train_array=4
t_expect "slurm dry run: a train job array of slices" 0 "#SBATCH --array=0-3" \
    "train '$TMP/run/config.yaml' --slice \${SLURM_ARRAY_TASK_ID}/4" "#SBATCH --output=$TMP/run/jobs/%x-%A_%a.out"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run --from eval
t_expect "--from submits that stage and the ones after" 0 "eval=\$(sbatch --parsable '$TMP/run/jobs/eval.sbatch')"
t_expect_count "--from leaves out the stages before" 0 "prepare.sbatch"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run --whole
t_expect "--whole: one job running mixphm run" 0 "mpirun '$TMP/bin/fake-mixphm' run '$TMP/run/config.yaml'" \
    "run=\$(sbatch --parsable '$TMP/run/jobs/run.sbatch')"

# ---- PBS scripts, dry run ----------------------------------------------------------------------
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler pbs --dry-run --set jobs.train_array=3
t_expect "pbs dry run: directives" 0 "#PBS -l select=2:ncpus=8:mpiprocs=8" "#PBS -l select=1:ncpus=1:mpiprocs=1" \
    "#PBS -l walltime=26:30:00" "#PBS -l walltime=10:00:00" "#PBS -q short" "#PBS -A proj42" "#PBS -J 0-2" "#PBS -r y" \
    "--slice \${PBS_ARRAY_INDEX}/3"
t_expect "pbs dry run: the afterok chain" 0 "features=\$(qsub -W depend=afterok:\$prepare '$TMP/run/jobs/features.pbs')"

# ---- bad input ----------------------------------------------------------------------------------
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler lsf --dry-run
t_expect "an unknown scheduler" 1 "--scheduler: expected slurm or pbs, got 'lsf'"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run --set 'jobs.time="ten hours"'
t_expect "a malformed time limit" 1 "jobs: time limit 'ten hours' for the prepare job: expected [D-]HH:MM:SS"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --dry-run --set 'jobs.train_time="00:04:00"'
t_expect "a train limit shorter than the signal" 1 "not longer than jobs.signal_seconds (300 s)"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler pbs --dry-run --set jobs.train_array=1
t_expect "a PBS array of one" 1 "PBS job arrays need at least 2 elements"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --whole --from eval
t_expect "--whole with --from" 2 "--whole and --from exclude each other"

# ---- submitting (fake qsub / sbatch) --------------------------------------------------------------
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler pbs
t_expect "pbs submit: every stage submitted" 0 "prepare: job 100.pbsserver" "aggregate: job 104.pbsserver"
if [ "$(sed -n 2p "$TMP/qsub.log")" = "-W depend=afterok:100.pbsserver $TMP/run/jobs/features.pbs" ] &&
    [ "$(sed -n 1p "$TMP/qsub.log")" = "$TMP/run/jobs/prepare.pbs" ]; then
    t_ok "pbs submit: each job depends on the one before"
else
    t_fail "pbs submit: each job depends on the one before" "$(cat "$TMP/qsub.log")"
fi
[ -f "$TMP/run/config.yaml" ] && t_ok "submit writes the resolved config the jobs read" ||
    t_fail "submit writes the resolved config the jobs read" "no $TMP/run/config.yaml"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm
t_expect "slurm submit: ids parsed from --parsable" 0 "prepare: job 500" "features: job 501"
grep -qx -- "--parsable --dependency=afterok:500 $TMP/run/jobs/features.sbatch" "$TMP/sbatch.log" &&
    t_ok "slurm submit: afterok on the previous job id" || t_fail "slurm submit: afterok on the previous job id" "$(cat "$TMP/sbatch.log")"
cp "$TMP/bin/sbatch" "$TMP/sbatch.ok"
printf '#!/bin/bash\nexit 1\n' >"$TMP/bin/sbatch"
t_run "$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm
t_expect "a refused submission is an error" 1 "submitting the prepare job" "exited with status 1"

# ---- the scripts as plain shell scripts ---------------------------------------------------------------
export PBS_JOBID=77.pbsserver SLURM_JOB_ID=9001
: >"$TMP/qsub.log"
t_run env FAKE_STATUS=0 bash "$TMP/run/jobs/train.pbs"
t_expect "pbs script: a stage that succeeds" 0 "job 77.pbsserver"
t_run env FAKE_STATUS=3 bash "$TMP/run/jobs/train.pbs"
t_expect "pbs script: a stage that fails passes its status on" 3
[ ! -s "$TMP/qrerun.log" ] && t_ok "pbs script: no rerun after success or failure" || t_fail "pbs script: no rerun after success or failure" "$(cat "$TMP/qrerun.log")"
t_run env FAKE_STATUS=75 bash "$TMP/run/jobs/train.pbs"
t_expect "pbs script: after a checkpoint (75) qrerun is tried, then the rest of the chain resubmitted" 75 \
    "train: job 100.pbsserver" "eval: job 101.pbsserver"
grep -qx "77.pbsserver" "$TMP/qrerun.log" && t_ok "pbs script: qrerun of its own job" || t_fail "pbs script: qrerun of its own job" "$(cat "$TMP/qrerun.log" 2>&1)"
[ "$(head -1 "$TMP/qsub.log")" = "$TMP/run/jobs/train.pbs" ] && [ "$(wc -l <"$TMP/qsub.log")" = 3 ] &&
    t_ok "pbs script: resubmits train, eval and aggregate" || t_fail "pbs script: resubmits train, eval and aggregate" "$(cat "$TMP/qsub.log")"
: >"$TMP/qsub.log"
t_run env FAKE_STATUS=75 FAKE_QRERUN_STATUS=0 bash "$TMP/run/jobs/train.pbs"
t_expect "pbs script: a permitted qrerun ends the job cleanly" 0
[ ! -s "$TMP/qsub.log" ] && t_ok "pbs script: nothing resubmitted after a qrerun" || t_fail "pbs script: nothing resubmitted after a qrerun" "$(cat "$TMP/qsub.log")"

# A stage that dies of a signal: the script passes the status on and does not wait forever (bash
# remembers a reaped child's status, so `wait` can return 128+n more than once).
t_run timeout 20 env FAKE_DIE=1 bash "$TMP/run/jobs/train.sbatch"
t_expect "slurm script: a stage killed by a signal ends the job with its status" 137

# A stop that arrives before the stage starts (here from the site set-up itself) requeues the job
# without starting the stage.
cp "$TMP/sbatch.ok" "$TMP/bin/sbatch"
"$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm --set 'jobs.setup="kill -USR1 $$"' >/dev/null 2>&1
: >"$TMP/stage.log"
: >"$TMP/scontrol.log"
t_run bash "$TMP/run/jobs/train.sbatch"
t_expect "slurm script: a stop before the stage starts requeues without starting it" 0 "requeueing 9001"
[ ! -s "$TMP/stage.log" ] && t_ok "slurm script: the stage was not started" || t_fail "the stage was not started" "$(cat "$TMP/stage.log")"
"$MIXPHM" submit "$TMP/jobs.yaml" --scheduler slurm >/dev/null 2>&1

# Runs job script $2 (stage $3) with the fake's setting $1 in the background, sends signal $4 to its shell
# once the stage has started; leaves the status in RC and the job's output in OUT.
signal_job() {
    : >"$TMP/stage.log"
    env "$1" bash "$TMP/run/jobs/$2" >"$TMP/job.out" 2>&1 &
    local job=$!
    for _ in $(seq 1 50); do grep -q "$3" "$TMP/stage.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
    kill -"$4" $job
    wait $job
    RC=$?
    OUT=$(cat "$TMP/job.out")
}

# Slurm's USR1 before the time limit reaches the stage, which checkpoints (75); the job requeues itself.
signal_job FAKE_WAIT=1 train.sbatch train USR1
t_expect "slurm script: USR1 reaches the stage, and a checkpoint requeues the job" 0 "requeueing 9001"
grep -qx "requeue 9001" "$TMP/scontrol.log" && t_ok "slurm script: scontrol requeue of its own job" ||
    t_fail "slurm script: scontrol requeue of its own job" "$(cat "$TMP/scontrol.log" 2>&1)"
grep -q "got USR1" "$TMP/stage.log" && t_ok "slurm script: the stage received the signal" ||
    t_fail "slurm script: the stage received the signal" "$(cat "$TMP/stage.log")"
signal_job FAKE_WAIT=1 eval.pbs eval TERM
grep -q "got USR1" "$TMP/stage.log" && t_ok "pbs script: SIGTERM at the walltime reaches the stage as SIGUSR1 (mpirun forwards it)" ||
    t_fail "pbs script: SIGTERM at the walltime reaches the stage as SIGUSR1" "$(cat "$TMP/stage.log")"
signal_job FAKE_WAIT=1 train.sbatch train TERM
grep -q "got USR1" "$TMP/stage.log" && t_ok "slurm script: SIGTERM to the job shell reaches the stage as SIGUSR1" ||
    t_fail "slurm script: SIGTERM reaches the stage as SIGUSR1" "$(cat "$TMP/stage.log")"
# The stopped marker, not the status a launcher reports, decides the requeue.
: >"$TMP/scontrol.log"
t_run env FAKE_STOPMARK=1 bash "$TMP/run/jobs/train.sbatch"
t_expect "slurm script: a stage that saved its state (marker) is requeued although the launcher exits 1" 0 "requeueing 9001"
t_run env FAKE_STOPMARK=1 FAKE_QRERUN_STATUS=0 bash "$TMP/run/jobs/train.pbs"
t_expect "pbs script: the same" 0 "rerunning"
: >"$TMP/scontrol.log"
signal_job FAKE_ZERO_ON_STOP=1 train.sbatch train USR1
t_expect "slurm script: a stage ended by the passed-on stop whose launcher says 0 is requeued, not failed" 0 \
    "before it could save its state" "requeueing 9001"
[ -z "$(ls -A "$TMP/run/jobs" | grep '^\.stopped-')" ] && t_ok "the stopped markers are removed" ||
    t_fail "the stopped markers are removed" "$(ls -A "$TMP/run/jobs")"
# The signal that reaches a stage before its handler is installed kills it: nothing new was saved,
# so the job is requeued as after a checkpoint.
: >"$TMP/scontrol.log"
signal_job FAKE_NOTRAP=1 train.sbatch train USR1
t_expect "slurm script: a stage killed by the passed-on USR1 is requeued" 0 \
    "the stage was stopped by SIGUSR1 before it could save its state" "requeueing 9001"
# A launcher that reports success for a stage that never ran (srun does when the step fails to
# launch) does not make a successful job.
t_run env FAKE_NODONE=1 bash "$TMP/run/jobs/eval.sbatch"
t_expect "slurm script: success without the stage's done file fails the job" 1 \
    "the launcher reported success, but the stage did not run to its end"
t_run bash "$TMP/run/jobs/eval.sbatch"
t_expect "slurm script: with it, the job succeeds" 0
[ -z "$(ls -A "$TMP/run/jobs" | grep '^\.done-')" ] && t_ok "slurm script: the done file is removed" ||
    t_fail "slurm script: the done file is removed" "$(ls -A "$TMP/run/jobs")"
t_run env FAKE_NODONE=1 bash "$TMP/run/jobs/eval.pbs"
t_expect "pbs script: success without the stage's done file fails the job" 1 \
    "the launcher reported success, but the stage did not run to its end"
t_finish
