#!/usr/bin/env bash
# Trained adapters in and out of the authors' naming (docs/interop.md), on a tiny MixPHM run
# (tests/data/train_tiny.yaml):
#   - `mixphm eval CONFIG --weights FILE` scores a weights file without training: the run's own best.h5
#     gives its best-weights predictions byte for byte (1 and 2 ranks), into RUN/imported/NAME, with no
#     stamp; a file of another method, a sweep of two methods, a missing prepare stage and misused options
#     are refused;
#   - with /usr/bin/python3's torch and h5py (else "skip - ..." and those checks are not run):
#     tests/reference/interop_reference.py check (every method through export, the authors' class,
#     its module outputs, the committed logits, import); the run's best.h5 exported, loaded into the
#     authors' class (no unexpected key, no missing key of the method), imported back bit for bit and
#     evaluated; a checkpoint as the authors' class saves it (backbone, module. prefix, the rule under
#     every projection, expert scores) imported and evaluated to the same predictions; broken ones
#     refused by name, with nothing written.
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
SETS=(--set "run.dir=\"$TMP/run\"" --set peft.method=mixphm --set peft.mixphm.bottleneck=32
    --set peft.mixphm.dropout=0 --set peft.mixphm.alpha=8 --set train.lr=0.003 --set train.epochs=10
    --set train.val_interval=5 --set pretrain.epochs=3 --set pretrain.lr=0 --set eval.zero_shot=false
    --set eval.baselines=false)
# (An untrained backbone and a short run: a tiny MixPHM trained to the end answers "no" to everything,
# and the byte comparisons below want answers that vary.)
RUN=$TMP/run/runs/mixphm-k16-s13
IMP=$TMP/run/imported

t_run "$MIXPHM" run "$CFG" "${SETS[@]}" --until eval
t_expect "train and evaluate a MixPHM run" 0 "mixphm-k16-s13: test accuracy"
[ "$(grep '"answer"' "$RUN/predictions_best.json" | sort -u | wc -l)" -gt 1 ] &&
    t_ok "its answers vary (the comparisons below are not trivial)" || t_fail "the answers vary" "one answer only"
best_acc=$(sed -n '/"best"/,/}/p' "$RUN/result.json" | grep -o '"overall": [0-9.]*' | head -1)

# ---- eval --weights ---------------------------------------------------------------------------------
stamp_before=$(cat "$RUN/stamps/eval.json")
for np in 1 2; do
    rm -rf "$IMP"
    t_run env "$MPIRUN" -np $np "$MIXPHM" eval "$CFG" "${SETS[@]}" --weights "$RUN/best.h5"
    t_expect "eval --weights the run's best.h5 on $np rank(s)" 0 "imported/best: test accuracy" "(mixphm)"
    cmp -s "$IMP/best/predictions.json" "$RUN/predictions_best.json" &&
        t_ok "$np rank(s): the predictions are the run's best-weights predictions, byte for byte" ||
        t_fail "$np rank(s): the same predictions" "$(diff "$IMP/best/predictions.json" "$RUN/predictions_best.json" | head)"
done
[ -n "$best_acc" ] && grep -q "\"overall\": ${best_acc#*: }" "$IMP/best/result.json" &&
    grep -q '"weights": "file"' "$IMP/best/result.json" && grep -q "\"weights_file\": \"$RUN/best.h5\"" "$IMP/best/result.json" &&
    t_ok "result.json: the run's best accuracy, weights \"file\" and the file's path" ||
    t_fail "result.json of the file" "$(head -20 "$IMP/best/result.json")"
[ ! -e "$IMP/best/stamps" ] && [ "$(cat "$RUN/stamps/eval.json")" = "$stamp_before" ] &&
    t_ok "no stamp written, the run's own evaluation untouched" || t_fail "no stamp" "$(ls -R "$IMP")"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --set peft.method=lora --weights "$RUN/best.h5"
t_expect "a file of another method is refused, naming the tensors" 1 "$RUN/best.h5: does not match the model" \
    "missing tensors: encoder.block.0.layer.0.SelfAttention.q.lora_A" \
    "tensors the model does not have: decoder.block.0.layer.2.phm_adapter_moe.MoA_A.deepspeed_experts.0.W_left"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --set "peft.method=[mixphm, lora]" --weights "$RUN/best.h5"
t_expect "a sweep of two methods is refused" 1 "a weights file is evaluated with one method"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --weights "$TMP/none.h5"
t_expect "a missing file is refused" 1 "$TMP/none.h5"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --set "run.dir=\"$TMP/fresh\"" --weights "$RUN/best.h5"
t_expect "a run folder without prepare is refused" 1 "eval --weights needs the prepare stage first"
t_run "$MIXPHM" train "$CFG" --weights "$RUN/best.h5"
t_expect "--weights belongs to eval" 2 "--weights is an option of the eval stage only"
t_run "$MIXPHM" eval "$CFG" --weights "$RUN/best.h5" --force
t_expect "--weights with --force is refused" 2 "--force does not apply"

# ---- import and export (PyTorch) ---------------------------------------------------------------------
PY=${MIXPHM_TORCH_PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, h5py, yaml' >/dev/null 2>&1; then
    echo "skip - import and export tests: $PY cannot import torch, h5py and yaml"
    t_finish
fi
REF=tests/reference/interop_reference.py
BACKBONE=$TMP/run/runs/pretrain/backbone.h5
# Relays the "ok - " and "FAIL - " lines of a Python check.
relay() {
    local line
    while IFS= read -r line; do
        case $line in
            "ok - "*) t_ok "${line#ok - }" ;;
            "FAIL - "*) t_fail "${line#FAIL - }" "(see above)" ;;
        esac
    done <<<"$OUT"
}
mkdir -p "$TMP/ref"
t_run "$PY" "$REF" check "$TMP/ref"
relay
[ "$RC" = 0 ] && grep -q " passed, 0 failed" <<<"$OUT" && t_ok "the reference check ends cleanly" ||
    t_fail "the reference check" "exit $RC"

same_weights() { # A.h5 B.h5: the same names, dtypes and bits
    "$PY" - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert sorted(a) == sorted(b), sorted(set(a) ^ set(b))[:5]
for k in a:
    assert a[k].dtype == b[k].dtype == np.float32 and np.array_equal(a[k][()], b[k][()]), k
print(f"the same {len(a)} tensors")
PYEOF
}

t_run "$PY" tools/export_peft.py "$RUN/best.h5" "$TMP/x.pth"
t_expect "export the run's best.h5" 0 "mixphm, 61 trained tensors" "89 keys in the authors' naming"
grep -q '"apply_phm_moe": true' "$TMP/x.json" && grep -q '"ada_alpha": 8.0' "$TMP/x.json" &&
    grep -q '"sharing_down": 1' "$TMP/x.json" && grep -q '"peft.mixphm.alpha": 8.0' "$TMP/x.json" &&
    t_ok "the JSON has the run's settings (from its stamp) and the authors' flags" || t_fail "x.json" "$(cat "$TMP/x.json")"
t_run "$PY" "$REF" load-check "$TMP/x.pth" "$TMP/x.json" "$BACKBONE"
t_expect "it loads into the authors' class: no unexpected key, no missing key of the method" 0 "no unexpected key"
t_run "$PY" tools/import_peft.py "$TMP/x.pth" "$TMP/imp" --settings "$TMP/x.json"
t_expect "import it back (no backbone in it)" 0 "mixphm, 61 tensors"
[ ! -e "$TMP/imp/backbone.h5" ] && grep -q 'alpha: 8.0' "$TMP/imp/peft.yaml" && t_ok "peft.yaml has the settings' alpha" ||
    t_fail "peft.yaml" "$(cat "$TMP/imp/peft.yaml")"
t_run same_weights "$RUN/best.h5" "$TMP/imp/weights.h5"
t_expect "export then import: best.h5's tensors, bit for bit" 0 "the same 61 tensors"
rm -rf "$IMP"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --weights "$TMP/imp/weights.h5"
t_expect "eval --weights the imported file" 0 "imported/weights: test accuracy"
cmp -s "$IMP/weights/predictions.json" "$RUN/predictions_best.json" && t_ok "the imported weights answer as the run did" ||
    t_fail "the imported weights answer as the run did" "$(diff "$IMP/weights/predictions.json" "$RUN/predictions_best.json" | head)"

# A checkpoint as the authors' class saves it: backbone and adapters, under DDP's "module.".
t_run "$PY" "$REF" make-pth "$RUN/best.h5" "$BACKBONE" "$TMP/x.json" "$TMP/authors.pth"
t_expect "a checkpoint of the authors' class" 0 "145 keys"
t_run "$PY" tools/convert_vlt5.py "$TMP/authors.pth" "$TMP/conv.h5"
t_expect "convert_vlt5.py refuses it, pointing to the importer" 1 "89 of them are PEFT tensors: tools/import_peft.py"
t_run "$PY" tools/import_peft.py "$TMP/authors.pth" "$TMP/imp2"
t_expect "import_peft.py takes it, and says what it cannot know" 0 "mixphm, 61 tensors" "the backbone, 52 tensors" \
    "peft.mixphm.alpha is not in the tensors: the default 1.0 is assumed"
t_run "$PY" tools/import_peft.py "$TMP/authors.pth" "$TMP/imp2" --method mixphm --set peft.mixphm.alpha=8
t_expect "again with the alpha" 0 "mixphm, 61 tensors"
grep -q 'size: tiny' "$TMP/imp2/peft.yaml" && grep -q "checkpoint: \"$TMP/imp2/backbone.h5\"" "$TMP/imp2/peft.yaml" &&
    grep -q 'experts: 4' "$TMP/imp2/peft.yaml" && grep -q 'share_down: true' "$TMP/imp2/peft.yaml" &&
    t_ok "peft.yaml: the model size, the backbone and the settings the shapes give" || t_fail "peft.yaml" "$(cat "$TMP/imp2/peft.yaml")"
t_run same_weights "$RUN/best.h5" "$TMP/imp2/weights.h5"
t_expect "its adapters are best.h5's, bit for bit" 0 "the same 61 tensors"
t_run same_weights "$BACKBONE" "$TMP/imp2/backbone.h5"
t_expect "its backbone is the run's, bit for bit" 0 "the same 52 tensors"
rm -rf "$IMP"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --set "model.checkpoint=\"$TMP/imp2/backbone.h5\"" --weights "$TMP/imp2/weights.h5"
t_expect "eval it with its own backbone" 0 "imported/weights: test accuracy"
cmp -s "$IMP/weights/predictions.json" "$RUN/predictions_best.json" && t_ok "the authors' checkpoint answers as the run did" ||
    t_fail "the authors' checkpoint answers as the run did" "$(diff "$IMP/weights/predictions.json" "$RUN/predictions_best.json" | head)"

# Broken checkpoints: refused by name, nothing written.
P=module.encoder.block.0.layer.1.phm_adapter_moe
U=$P.MoA_B.deepspeed_experts.1
for kind in unknown shape missing rule scores twomethods gpt2; do
    "$PY" - "$TMP/authors.pth" "$TMP/$kind.pth" "$kind" "$P" "$U" <<'PYEOF'
import sys, torch
sd, kind, P, U = torch.load(sys.argv[1]), sys.argv[3], sys.argv[4], sys.argv[5]
if kind == "unknown":
    sd[P + ".gate.weight"] = torch.zeros(4, 64)
elif kind == "shape":
    sd[U + ".W_left"] = torch.zeros(4, 16, 7)
elif kind == "missing":
    del sd[U + ".W_right"]
elif kind == "rule":
    sd[U + ".phm_rule"] = sd[U + ".phm_rule"] + 1
elif kind == "scores":
    sd[P + ".MoA_B.expert_score_weight"] = torch.tensor([0.0, 1.0, 0.0, 0.0])
elif kind == "twomethods":
    sd["module.encoder.block.0.layer.0.SelfAttention.q.lora_A"] = torch.zeros(2, 64)
elif kind == "gpt2":
    sd = {"transformer.h.0.attn.c_attn.lora_A": torch.zeros(8, 768), "transformer.h.0.attn.c_attn.lora_B": torch.zeros(1536, 4)}
torch.save(sd, sys.argv[2])
PYEOF
    t_run "$PY" tools/import_peft.py "$TMP/$kind.pth" "$TMP/out-$kind"
    case $kind in
        unknown) want="unexpected: encoder.block.0.layer.1.phm_adapter_moe.gate.weight [4, 64] (a learned gate" ;;
        shape) want="wrong shape: ${U#module.}.W_left is [4, 16, 7], expected [4, 8, 8]" ;;
        missing) want="missing: ${U#module.}.W_right [4, 8, 16]" ;;
        rule) want="${U#module.}.phm_rule differs from phm_rule" ;;
        scores) want="${P#module.}.MoA_B.expert_score_weight is [0.0, 1.0, 0.0, 0.0]" ;;
        twomethods) want="tensors of more than one method: lora (encoder.block.0.layer.0.SelfAttention.q.lora_A), mixphm" ;;
        gpt2) want="unexpected: transformer.h.0.attn.c_attn.lora_A [8, 768] (GPT-2, RoBERTa or ViT" ;;
    esac
    t_expect "import refuses a broken checkpoint ($kind), naming the tensor" 1 "$want"
    [ ! -e "$TMP/out-$kind" ] && t_ok "$kind: nothing written" || t_fail "$kind: nothing written" "$(ls "$TMP/out-$kind")"
done
t_run "$PY" tools/import_peft.py "$TMP/authors.pth" "$TMP/out-x" --method lora
t_expect "--method checks what the checkpoint holds" 1 "holds mixphm tensors, not lora"
t_run "$PY" tools/import_peft.py "$TMP/x.pth" "$TMP/out-x" --set peft.mixphm.rank=4
t_expect "a setting the shapes contradict is refused" 1 "peft.mixphm.rank: the settings say 4, the tensors 8"

# Export refusals: the tensors must be the run's settings' layout.
t_run "$PY" tools/export_peft.py "$RUN/best.h5" "$TMP/y.pth" --set peft.mixphm.experts=3
t_expect "export refuses tensors that are not the settings' layout, by name" 1 \
    "unexpected: decoder.block.0.layer.2.phm_adapter_moe.MoA_B.deepspeed_experts.3.W_left"
t_run "$PY" tools/export_peft.py "$RUN/best.h5" "$TMP/y.pth" --method lora
t_expect "export refuses another method's file" 1 "cannot tell LoRA's rank"
[ ! -e "$TMP/y.pth" ] && t_ok "export wrote nothing" || t_fail "export wrote nothing" "y.pth exists"
t_finish
