#!/usr/bin/env bash
# Damaged and foreign files, as a cluster user meets them (tests/data/train_tiny.yaml): every file kind
# the pipeline writes and reads back is checked at load, and a damaged one stops the stage with
# "damaged or foreign file NAME: WHAT", exit 1, never a crash or a silent result:
#   - a flipped byte in the data of prepared.h5, of the pretrained backbone, of a run's best.h5 and of a
#     checkpoint (Fletcher32 checksums on every dataset);
#   - a truncated file;
#   - prepared.h5 with its tokens stored as floats, or an impossible token count;
#   - a checkpoint whose step is negative or beyond the schedule;
#   - NaN in a detector file: refused by image and region, or replaced under features.nonfinite: zero.
# Needs /usr/bin/python3 with h5py to damage the files (python3-h5py); without it checks nothing.
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py' >/dev/null 2>&1; then
    echo "ok - damaged files (SKIPPED: $PY cannot import h5py; apt-get install python3-h5py)"
    t_finish
fi
RUN=full-k16-s13

# flip FILE DATASET: flips one byte in the middle of the stored data of DATASET.
flip() {
    "$PY" - "$1" "$2" <<'PY'
import sys, h5py
path, name = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    ds = f[name]
    if ds.chunks:
        info = ds.id.get_chunk_info(0)
        offset, size = info.byte_offset, info.size
    else:
        offset, size = ds.id.get_offset(), ds.id.get_storage_size()
with open(path, "r+b") as f:
    f.seek(offset + size // 2)
    b = f.read(1)
    f.seek(offset + size // 2)
    f.write(bytes([b[0] ^ 0x10]))
PY
}

# edit FILE PYTHON: runs PYTHON with `f` the file opened for writing.
edit() {
    "$PY" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    exec(sys.argv[2])
PY
}

t_run "$MIXPHM" run "$CFG" --set "run.dir=\"$TMP/base\"" --until eval
t_expect "the undamaged pipeline" 0 "$RUN: test accuracy"
copy() { rm -rf "$TMP/$1" && cp -r "$TMP/base" "$TMP/$1"; }

# ---- prepared.h5 ---------------------------------------------------------------------------------------
copy prep-flip
flip "$TMP/prep-flip/prepared.h5" questions/tokens
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/prep-flip\"" --force
t_expect "a flipped byte in prepared.h5's tokens is found by its checksum" 1 "damaged or foreign file" \
    "prepared.h5" "/questions/tokens"
copy prep-float
edit "$TMP/prep-float/prepared.h5" 'x = f["questions/tokens"][...]; del f["questions/tokens"]; f["questions/tokens"] = x.astype(np.float32)'
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/prep-float\"" --force
t_expect "tokens stored as floats are refused" 1 "damaged or foreign file" "/questions/tokens" "expected integers"
copy prep-len
edit "$TMP/prep-len/prepared.h5" 'x = f["questions/n_tokens"][...]; x[3] = 1000000; del f["questions/n_tokens"]; f["questions/n_tokens"] = x'
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/prep-len\"" --force
t_expect "an impossible token count is refused with the file and the row" 1 "damaged or foreign file" "prepared.h5" \
    "/questions/tokens: row 3 has 1000000 tokens, expected 1..20"
copy prep-cut
truncate -s 5000 "$TMP/prep-cut/prepared.h5"
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/prep-cut\"" --force
[ "$RC" = 1 ] && grep -q "prepared.h5" <<<"$OUT" && t_ok "a truncated prepared.h5 is refused by name" ||
    t_fail "a truncated prepared.h5" "exit $RC"

# ---- weights: the pretrained backbone, a run's best.h5 ------------------------------------------------------
copy bb-flip
flip "$TMP/bb-flip/runs/pretrain/backbone.h5" shared.weight
rm -r "$TMP/bb-flip/runs/$RUN" # retrain the run: it starts from the damaged backbone
t_run "$MIXPHM" train "$CFG" --set "run.dir=\"$TMP/bb-flip\""
t_expect "a flipped byte in the pretrained backbone is found before a run trains on it" 1 "damaged or foreign file" \
    "backbone.h5" "shared.weight"
copy best-flip
flip "$TMP/best-flip/runs/$RUN/best.h5" shared.weight
rm "$TMP/best-flip/runs/$RUN/stamps/eval.json" # evaluate again: it reads best.h5
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/best-flip\"" --force
t_expect "a flipped byte in best.h5 is found" 1 "damaged or foreign file" "best.h5"
copy best-cut
truncate -s 3000 "$TMP/best-cut/runs/$RUN/best.h5"
rm "$TMP/best-cut/runs/$RUN/stamps/eval.json"
t_run "$MIXPHM" eval "$CFG" --set "run.dir=\"$TMP/best-cut\"" --force
[ "$RC" = 1 ] && grep -q "best.h5" <<<"$OUT" && t_ok "a truncated best.h5 is refused by name" || t_fail "a truncated best.h5" "exit $RC"

# ---- checkpoints ------------------------------------------------------------------------------------------
# A run stopped by SIGUSR1 leaves a checkpoint; each case damages a copy of it and resumes.
LONG=(--set train.epochs=60 --set train.checkpoint_steps=7)
"$MIXPHM" run "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/ck\"" --until features >/dev/null 2>&1
"$MIXPHM" train "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/ck\"" >"$TMP/ck.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "$RUN: step: 40/" "$TMP/ck.log" 2>/dev/null && break; sleep 0.02; done
kill -USR1 $pid
wait $pid
CK=runs/$RUN/checkpoint.h5
[ -f "$TMP/ck/$CK" ] && t_ok "a stopped run leaves a checkpoint" || t_fail "a stopped run leaves a checkpoint" "$(cat "$TMP/ck.log")"
ckcase() {
    local name=$1
    rm -rf "$TMP/ck-$name" && cp -r "$TMP/ck" "$TMP/ck-$name"
}
ckcase flip
flip "$TMP/ck-flip/$CK" params/shared.weight
t_run "$MIXPHM" train "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/ck-flip\""
t_expect "a flipped byte in the checkpoint is found, not resumed from" 1 "damaged or foreign file" "checkpoint.h5"
for step in -7 1000000000000; do
    ckcase "step$step"
    edit "$TMP/ck-step$step/$CK" "f.attrs['step'] = np.int64($step)"
    t_run "$MIXPHM" train "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/ck-step$step\""
    t_expect "a checkpoint at step $step is refused (no crash, no run that 'finishes' untrained)" 1 \
        "damaged or foreign file" "checkpoint.h5"
    [ ! -e "$TMP/ck-step$step/runs/$RUN/last.h5" ] && t_ok "step $step: no weights written" || t_fail "step $step: no weights" "last.h5 exists"
done
ckcase cut
truncate -s 4000 "$TMP/ck-cut/$CK"
t_run "$MIXPHM" train "$CFG" "${LONG[@]}" --set "run.dir=\"$TMP/ck-cut\""
[ "$RC" = 1 ] && grep -q "checkpoint.h5" <<<"$OUT" && t_ok "a truncated checkpoint is refused by name" ||
    t_fail "a truncated checkpoint" "exit $RC"

# ---- NaN in a detector file --------------------------------------------------------------------------------
"$MIXPHM" run "$CFG" --set "run.dir=\"$TMP/nan\"" --until prepare >/dev/null 2>&1
img=$("$PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r"); print(sorted(f.keys())[3])' "$TMP/nan/synthetic/detector.h5")
edit "$TMP/nan/synthetic/detector.h5" "x = f['$img/features'][...]; x[5, 2] = np.nan; del f['$img/features']; f['$img/features'] = x"
t_run "$MIXPHM" features "$CFG" --set "run.dir=\"$TMP/nan\""
t_expect "a NaN detector feature is refused by image and region" 1 "detector.h5: image $img, region 5: feature 2 is nan" \
    "features.nonfinite: zero"
[ ! -e "$TMP/nan/features.h5" ] && t_ok "and no features.h5 is left" || t_fail "no features.h5 left" "$(ls "$TMP/nan")"
t_run "$MIXPHM" features "$CFG" --set "run.dir=\"$TMP/nan\"" --set features.nonfinite=zero
t_expect "features.nonfinite: zero replaces it and says so" 0 "1 NaN or infinite detector values replaced by 0"
t_finish
