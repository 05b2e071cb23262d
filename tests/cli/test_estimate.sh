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
grep -q '"precision": "fp32"' "$TMP/run/calibration.json" && grep -q '"chunk_examples": 0' "$TMP/run/calibration.json" &&
    t_ok "the calibration file records the precision and train.chunk_examples" ||
    t_fail "the calibration's settings" "$(cat "$TMP/run/calibration.json")"
# Settings that change the timings must match the saved calibration's.
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/run/calibration.json" --set train.chunk_examples=2
t_expect "a calibration made without chunks is refused for chunks" 1 \
    "a calibration with train.chunk_examples = 0, the config has 2 (measure again without --calibration)"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/run/calibration.json" --set model.precision=bf16
t_expect "an fp32 calibration is refused for bf16" 1 "a calibration with model.precision = fp32, the config has bf16"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/run/calibration.json" --set eval.batch_size=8
t_expect "a calibration of other decoding batches is refused" 1 "a calibration with eval.batch_size = 16, the config has 8"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/run/calibration.json"
t_expect "the saved calibration is reused with the same settings" 0 "calibration: $TMP/run/calibration.json"
# 36 s a step, 1 question a second: train 2 x (10 + 40) steps x 36 s = 1 h; validation 2 x (16 + 64) s;
# eval 4 runs x 2 x 100 q + 100 zero-shot q = 900 s: 4660 s = 1.29 core-hours.
cat >"$TMP/cal.json" <<'JSON'
{"model": "tiny", "train_batch": 16, "eval_batch": 16, "methods": {"lora": {"step_s": 36, "decode_qps": 1}}}
JSON
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/cal.json" --hours 0.5
t_expect "a saved calibration, the sweep's work" 0 "calibration: $TMP/cal.json" "| lora | 4 | 36.0000 | 1.0 | 1.00 | 0.04 | 0.22 |" \
    "total: 1.29 core-hours (train 1.00, validation 0.04, eval 0.25" "in 0.5 hours: 1 node of 4 cores"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/cal.json" --set jobs.tasks_per_node=1 --hours 0.25
t_expect "the nodes for a wall-clock target" 0 "6 nodes of 1 cores"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --set peft.method=mixphm --calibration "$TMP/cal.json"
t_expect "a calibration without the method is refused" 1 "no calibration of mixphm"
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --set model.size=t5-small --calibration "$TMP/cal.json"
t_expect "a calibration of another model size is refused" 1 "a calibration with model.size = tiny, the config has t5-small"
# A calibration saved before precision and chunks were recorded was made in fp32 without chunks.
t_run "$MIXPHM" estimate "$CFG" "${SETS[@]}" --calibration "$TMP/cal.json" --set train.chunk_examples=4
t_expect "an older calibration counts as made without chunks" 1 "a calibration with train.chunk_examples = 0, the config has 4"
t_run "$MIXPHM" estimate "$CFG" --hours -3
t_expect "a bad --hours is refused" 2 "--hours needs a positive number"
t_finish
