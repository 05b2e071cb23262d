#!/usr/bin/env bash
# The job chain on a real single-node Slurm, started here in a temporary folder and stopped by PID at
# the end (tests/slurm/).  Needs root and the Debian packages slurmctld, slurmd, slurm-client, munge
# (make deps installs them); elsewhere it is skipped with a message.
#
# First with a stand-in binary, so that the scheduling itself is tested: Slurm's
# USR1 before the time limit reaches the train stage, which exits 75; the job requeues itself and
# runs again; the jobs after it wait for it; a failing stage cancels the jobs after it.  Then the real
# mixphm: a whole chain on the tiny benchmark, and a train job stopped by USR1, requeued and resumed
# to the weights of a run that was never stopped.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")/../slurm" && pwd)
REAL=$(cd "$(dirname "$MIXPHM")" && pwd)/$(basename "$MIXPHM")

if [ "$(id -u)" != 0 ] || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
    ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "skipped: the Slurm test needs root and the packages slurmctld slurmd slurm-client munge (make deps)"
    t_finish
fi

export SLURM_TEST_PORT=$((20000 + $$ % 20000))
mkdir -p "$TMP/slurm"
chmod 755 "$TMP" # munged wants every folder above its socket to be a+x
if ! SLURM_CONF=$("$HERE/slurm_up.sh" "$TMP/slurm" 2>"$TMP/slurm-up.err"); then
    OUT=$(cat "$TMP/slurm-up.err")
    t_fail "a throw-away Slurm starts" "see the output"
    "$HERE/slurm_down.sh" "$TMP/slurm"
    t_finish
fi
export SLURM_CONF
trap '"$HERE/slurm_down.sh" "$TMP/slurm"' EXIT
t_ok "a throw-away Slurm starts"

# The stand-in: `submit` goes to the real mixphm; a stage records itself; the first train run waits
# for Slurm's signal and exits 75 as training does after its checkpoint; FAIL_AT makes a stage fail.
cat >"$TMP/fake-mixphm" <<EOF
#!/bin/bash
[ "\$1" = submit ] && exec "$REAL" "\$@"
if [ "\$1" = train ] && [ ! -e "$TMP/train-ran-once" ]; then
    touch "$TMP/train-ran-once"
    trap 'echo "train got a signal" >>"$TMP/stages.log"; exit 75' USR1 TERM
    echo "train waiting" >>"$TMP/stages.log"
    sleep 600 & wait
    exit 1
fi
# Slurm may send its signal up to a minute early, so later runs get it too: they finish anyway.
trap 'echo "\$1 ignored a signal" >>"$TMP/signals.log"' USR1 TERM
echo "\$1" >>"$TMP/stages.log"
[ "\$1" = "\${FAIL_AT:-none}" ] && exit 1
touch "\$MIXPHM_DONE_FILE" # what mixphm writes when a stage ends well
exit 0
EOF
chmod +x "$TMP/fake-mixphm"
cat >"$TMP/chain.yaml" <<EOF
run:
  dir: "$TMP/run"
jobs:
  launcher: srun
  nodes: 1
  tasks_per_node: 1
  time: "00:10:00"
  train_time: "00:01:00"
  signal_seconds: 55
  binary: "$TMP/fake-mixphm"
EOF

job_state() { scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
job_id() { sed -n "s/^$1: job \([0-9]*\).*/\1/p" <<<"$2"; }

t_run "$REAL" submit "$TMP/chain.yaml" --scheduler slurm
t_expect "submit the chain" 0 "prepare: job" "aggregate: job"
submit_out=$OUT
train=$(job_id train "$submit_out")
aggregate=$(job_id aggregate "$submit_out")
# Slurm holds a requeued job for a couple of minutes (BeginTime) before it may start again; once the
# train job has requeued itself, let it start sooner so the test stays short.  Not at once: a restart
# within a second of the requeue is refused by slurmd ("Job credential revoked").
for _ in $(seq 1 600); do
    [ -e "$TMP/train-ran-once" ] && [ "$(job_state "$train")" = PENDING ] && break
    sleep 0.2
done
scontrol update JobId="$train" StartTime=now+5 2>/dev/null
state=$("$HERE/job_wait.sh" "$aggregate" 420)
if [ "$state" = COMPLETED ]; then
    t_ok "the chain completes after the train job requeued itself"
else
    OUT="$(scontrol show job -o "$train" 2>&1)
$(cat "$TMP"/run/jobs/mixphm-train-*.out 2>&1)
$(tail -25 "$TMP/slurm/logs/slurmctld.log" 2>&1)"
    t_fail "the chain completes after the train job requeued itself" "aggregate: $state; stages: $(tr '\n' ' ' <"$TMP/stages.log" 2>&1)"
fi
# Slurm may send its signal up to a minute early, so a restarted train job can be stopped again before its
# handler is up; the job then requeues once more (nothing was lost), and train shows more than once.
order=$(tr '\n' ' ' <"$TMP/stages.log" 2>/dev/null)
[[ "$order" =~ ^prepare\ features\ train\ waiting\ train\ got\ a\ signal\ (train\ )+eval\ aggregate\ $ ]] &&
    t_ok "stages ran in order, train stopped once and then finished" ||
    t_fail "stages ran in order, train stopped once and then finished" "$(cat "$TMP/stages.log" 2>&1)"
restarts=$(scontrol show job -o "$train" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
[ "${restarts:-0}" -ge 1 ] && t_ok "Slurm counts the requeue (Restarts=$restarts)" ||
    t_fail "Slurm counts the requeue" "$(scontrol show job -o "$train")"
grep -q "requeueing" "$TMP"/run/jobs/mixphm-train-*.out 2>/dev/null && t_ok "the train log says it requeued" ||
    t_fail "the train log says it requeued" "$(cat "$TMP"/run/jobs/*.out 2>&1 | tail -20)"

# A failing stage: the jobs after it are cancelled instead of pending forever.
: >"$TMP/stages.log"
t_run env FAIL_AT=features "$REAL" submit "$TMP/chain.yaml" --scheduler slurm
t_expect "submit a chain whose features stage fails" 0 "features: job"
features=$(job_id features "$OUT")
eval_job=$(job_id eval "$OUT")
aggregate=$(job_id aggregate "$OUT")
"$HERE/job_wait.sh" "$features" 120 >/dev/null
st_f=$(job_state "$features")
for _ in $(seq 1 150); do
    [ "$(job_state "$aggregate")" = CANCELLED ] && [ "$(job_state "$eval_job")" = CANCELLED ] && break
    sleep 0.2
done
[ "$st_f" = FAILED ] && t_ok "the failing stage's job FAILED" || t_fail "the failing stage's job FAILED" "state $st_f"
[ "$(job_state "$eval_job")" = CANCELLED ] && [ "$(job_state "$aggregate")" = CANCELLED ] &&
    t_ok "the jobs after a failed stage are cancelled, not left pending" ||
    t_fail "the jobs after a failed stage are cancelled" "eval $(job_state "$eval_job"), aggregate $(job_state "$aggregate")"
grep -qx eval "$TMP/stages.log" && t_fail "no stage after the failure ran" "$(cat "$TMP/stages.log")" ||
    t_ok "no stage after the failure ran"
# ---- the real mixphm ---------------------------------------------------------------------------------
# A whole chain on the tiny benchmark: every stage's stamp and the report.
CFG=$(cd "$(dirname "$0")/../data" && pwd)/train_tiny.yaml
REAL_JOBS=(--set "jobs.launcher=srun" --set "jobs.tasks_per_node=1" --set 'jobs.time="00:10:00"'
    --set 'jobs.setup="export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1"')
t_run "$REAL" submit "$CFG" --scheduler slurm --set "run.dir=\"$TMP/chain\"" "${REAL_JOBS[@]}"
t_expect "submit a real chain" 0 "prepare: job" "aggregate: job"
aggregate=$(job_id aggregate "$OUT")
state=$("$HERE/job_wait.sh" "$aggregate" 300)
t_run "$REAL" status "$TMP/chain"
if [ "$state" = COMPLETED ]; then t_ok "the real chain completes"; else
    OUT="$OUT
$(tail -20 "$TMP"/chain/jobs/*.out)"; t_fail "the real chain completes" "aggregate: $state"; fi
t_expect "every stage of the chain is done" 0 "prepare    done" "features   done" "train      done" "eval       done" \
    "aggregate  done" "1 of 1 runs trained, 1 evaluated"
[ -s "$TMP/chain/report/results.md" ] && t_ok "the chain wrote the report" || t_fail "the chain wrote the report" "no results.md"

# Preemption: the train job's batch shell gets USR1 mid-run (as from --signal=B:USR1, sent here at a
# known moment because Slurm's own timing is a minute coarse), checkpoints, exits 75 and requeues itself;
# the resumed run ends with the weights of a run that was never stopped (one rank and one BLAS thread).
BACKBONE=$TMP/chain/runs/pretrain/backbone.h5
LONG=(--set "model.checkpoint=\"$BACKBONE\"" --set train.epochs=500 --set train.checkpoint_steps=0 --set train.val_interval=100)
OPENBLAS_NUM_THREADS=1 "$REAL" run "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/whole\"" --until train >"$TMP/whole.log" 2>&1 &&
    t_ok "an uninterrupted reference run" || t_fail "an uninterrupted reference run" "$(tail -5 "$TMP/whole.log")"
t_run "$REAL" submit "$CFG" --scheduler slurm --set "run.dir=\"$TMP/pre\"" "${LONG[@]}" "${REAL_JOBS[@]}"
train=$(job_id train "$OUT")
aggregate=$(job_id aggregate "$OUT")
signalled=0 nudged=0
for _ in $(seq 1 600); do
    st=$(job_state "$aggregate")
    [ "$st" = COMPLETED ] || [ "$st" = CANCELLED ] || [ "$st" = FAILED ] && break
    if [ $signalled = 0 ] && grep -q "epoch 100:" "$TMP"/pre/jobs/mixphm-train-*.out 2>/dev/null; then
        scancel --batch --signal=USR1 "$train" && signalled=1
    fi
    # Slurm holds a requeued job for a couple of minutes; let it start in a few seconds (a restart
    # within a second of the requeue fails with "Job credential revoked").
    if [ $nudged = 0 ] && [ "$(job_state "$train")" = PENDING ] &&
        grep -q requeueing "$TMP"/pre/jobs/mixphm-train-*.out 2>/dev/null; then
        scontrol update JobId="$train" StartTime=now+3 2>/dev/null && nudged=1
    fi
    sleep 0.5
done
grep -q "SIGUSR1 at step" "$TMP"/pre/jobs/mixphm-train-*.out && grep -q "requeueing" "$TMP"/pre/jobs/mixphm-train-*.out &&
    grep -q "resuming at step" "$TMP"/pre/jobs/mixphm-train-*.out && t_ok "the train job was stopped by USR1, requeued and resumed" ||
    t_fail "the train job was stopped by USR1, requeued and resumed" "$(tail -20 "$TMP"/pre/jobs/mixphm-train-*.out)"
[ "$(job_state "$aggregate")" = COMPLETED ] && t_ok "the preempted chain completes" ||
    t_fail "the preempted chain completes" "aggregate $(job_state "$aggregate")"
t_run "$BUILD/tests/probes/compare_runs" weights "$TMP/whole/runs/full-k16-s13/last.h5" "$TMP/pre/runs/full-k16-s13/last.h5" 0 0
t_expect "after preemption and requeue the weights equal the uninterrupted run's, bit for bit" 0 "0 beyond tolerance"

# Stop Slurm before t_finish removes the folder that holds its pid files.
"$HERE/slurm_down.sh" "$TMP/slurm"
trap - EXIT
t_finish
