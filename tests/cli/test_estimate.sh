#!/usr/bin/env bash
# `mixphm estimate`: a calibration measured on this machine and saved; a saved one reused, its arithmetic
# checked against a hand-made calibration (the sweep's steps, validations and evaluations); refusals.
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
SETS=(--set "run.dir=\"$TMP/run\"" --set "peft.method=lora" --set "data.sizes=[16, 64]" --set "data.seeds=[13, 21]"
    --set train.epochs=10 --set train.batch_size=16 --set train.val_interval=10 --set data.synthetic.pool_questions=200
    --set data.synthetic.test_questions=100)
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}"
t_expect "a calibration on this machine" 0 "calibrating on this machine" "calibration saved to $TMP/run/calibration.json" \
    "| lora | 4 |" "total:" "core-hours"
grep -q '"lora"' "$TMP/run/calibration.json" && grep -q '"step_s"' "$TMP/run/calibration.json" &&
    t_ok "the calibration file names the method and its step time" || t_fail "the calibration file" "$(cat "$TMP/run/calibration.json")"
# 36 s a step, 1 question a second: train 2 x (10 + 40) steps x 36 s = 1 h; validation 2 x (16 + 64) s;
# eval 4 runs x 2 x 100 q + 100 zero-shot q = 900 s: 4660 s = 1.29 core-hours.
cat >"$TMP/cal.json" <<'JSON'
{"model": "tiny", "methods": {"lora": {"step_s": 36, "decode_qps": 1}}}
JSON
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/cal.json" --hours 0.5
t_expect "a saved calibration, the sweep's work" 0 "calibration: $TMP/cal.json" "| lora | 4 | 36.0000 | 1.0 | 1.00 | 0.04 | 0.22 |" \
    "total: 1.29 core-hours (train 1.00, validation 0.04, eval 0.25" "in 0.5 hours: 1 node of 4 cores"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/cal.json" --set jobs.tasks_per_node=1 --hours 0.25
t_expect "the nodes for a wall-clock target" 0 "6 nodes of 1 cores"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --set peft.method=mixphm --calibration "$TMP/cal.json"
t_expect "a calibration without the method is refused" 1 "no calibration of mixphm"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --set model.size=t5-small --calibration "$TMP/cal.json"
t_expect "a calibration of another model size is refused" 1 "a calibration of model size tiny, the config has t5-small"
t_run "$MIXPHM" estimate "$CFG" --hours -3
t_expect "a bad --hours is refused" 2 "--hours needs a positive number"
t_finish
