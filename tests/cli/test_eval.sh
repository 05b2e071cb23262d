#!/usr/bin/env bash
# The eval and aggregate stages through the binary (tests/data/train_tiny.yaml, trained long enough to
# answer more than one word):
#   - evaluation under 1, 2 and 4 ranks gives byte-identical predictions and the same scores, every test
#     question answered once;
#   - the stage's scores (from prepared.h5) equal `mixphm score` on the official-format files the
#     synthetic benchmark wrote, for the variants vlt5 and official;
#   - evaluated runs are skipped; a new metric variant re-evaluates without retraining; the last
#     weights are decoded only when they differ from the best ones;
#   - the backbone's zero-shot answers, the baselines and every run's answer shares;
#   - aggregate writes the table (with the reference rows), the CSV and the plot.
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
SETS=(--set "run.dir=\"$TMP/run\"" --set "peft.method=[full, bitfit]" --set train.epochs=60 --set train.batch_size=8
    --set train.val_interval=20)
RUN=$TMP/run/runs/full-k16-s13

t_run "$MIXPHM" run "$CFG" "${SETS[@]}" --until eval
t_expect "train and evaluate two runs" 0 "full-k16-s13: test accuracy" "bitfit-k16-s13: test accuracy"
n=$(grep -c '"question_id"' "$RUN/predictions.json")
u=$(grep '"question_id"' "$RUN/predictions.json" | sort -u | wc -l)
[ "$n" = 60 ] && [ "$u" = 60 ] && t_ok "every one of the 60 test questions is answered once" ||
    t_fail "every test question answered once" "$n answers, $u distinct ids"
[ "$(grep '"answer"' "$RUN/predictions.json" | sort -u | wc -l)" -gt 2 ] && t_ok "the answers vary (the test is not trivial)" ||
    t_fail "the answers vary" "$(grep '"answer"' "$RUN/predictions.json" | sort | uniq -c)"
cp "$RUN/predictions.json" "$TMP/pred1.json"
t_run "$MIXPHM" run "$CFG" --set "run.dir=\"$TMP/once\"" --set peft.method=bitfit --set train.epochs=20 \
    --set train.batch_size=8 --set train.val_interval=20 --until eval
D=$TMP/once/runs/bitfit-k16-s13
t_expect "one validation, at the end: the best weights are the last ones, decoded once" 0 \
    "bitfit-k16-s13: the last weights are the best ones: their answers are the best weights' (decoded once)"
cmp -s "$D/predictions_best.json" "$D/predictions_last.json" && t_ok "predictions_last.json is predictions_best.json" ||
    t_fail "predictions_last.json is predictions_best.json" "$(ls -la "$D")"
/usr/bin/env python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["test"]; sys.exit(t["best"] != t["last"])' \
    "$D/result.json" && t_ok "result.json: the last weights' report is the best weights'" ||
    t_fail "result.json: the last report" "$(cat "$D/result.json")"
ZS=$TMP/run/runs/zero-shot
grep -q '"k": 0' "$ZS/result.json" && grep -q '"trainable_params": 0' "$ZS/result.json" && [ -s "$ZS/predictions.json" ] &&
    t_ok "the backbone answers without training (runs/zero-shot, k 0, nothing trained)" || t_fail "zero-shot result" "$(ls -la "$ZS")"
cp "$ZS/predictions.json" "$TMP/zs1.json"
for key in empty_answers_percent top_answer top_answer_percent; do
    grep -q "\"$key\"" "$RUN/result.json" && grep -q "\"$key\"" "$ZS/result.json" && t_ok "result.json has $key" ||
        t_fail "result.json has $key" "$(cat "$RUN/result.json")"
done
B=$TMP/run/baselines.json
grep -q '"constant"' "$B" && [ "$(grep -c '"seed"' "$B")" = 1 ] && grep -q '"k": 16' "$B" &&
    t_ok "baselines.json: the constant answer and the prior of the one k-shot sample" || t_fail "baselines.json" "$(cat "$B")"
acc1=$(grep -o '"accuracy": [0-9.]*' "$RUN/result.json")
for np in 2 4; do
    rm "$TMP"/run/runs/*/stamps/eval.json # evaluate again (a finished run is otherwise skipped)
    t_run env "$MPIRUN" -np $np "$MIXPHM" eval "$CFG" "${SETS[@]}" --force
    t_expect "eval on $np ranks" 0 "full-k16-s13: test accuracy"
    cmp -s "$TMP/pred1.json" "$RUN/predictions.json" && t_ok "eval on $np ranks: byte-identical predictions" ||
        t_fail "eval on $np ranks: byte-identical predictions" "$(diff "$TMP/pred1.json" "$RUN/predictions.json" | head)"
    [ "$(grep -o '"accuracy": [0-9.]*' "$RUN/result.json")" = "$acc1" ] && t_ok "eval on $np ranks: the same score" ||
        t_fail "eval on $np ranks: the same score" "$acc1 vs $(grep -o '"accuracy": [0-9.]*' "$RUN/result.json")"
    cmp -s "$TMP/zs1.json" "$ZS/predictions.json" && t_ok "eval on $np ranks: byte-identical zero-shot answers" ||
        t_fail "eval on $np ranks: zero-shot answers" "$(diff "$TMP/zs1.json" "$ZS/predictions.json" | head)"
done
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}" --force
t_expect_count "a rerun skips evaluated runs (and the zero-shot answers)" 3 "evaluated already, skipped"

# A stop signal ends eval between runs with 75; a rerun evaluates the rest.
rm "$TMP"/run/runs/*/stamps/eval.json
"$MIXPHM" eval "$CFG" "${SETS[@]}" --force >"$TMP/stop.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do grep -q "eval: running" "$TMP/stop.log" 2>/dev/null && break; sleep 0.01; done
kill -USR1 $pid
wait $pid
RC=$?
OUT=$(cat "$TMP/stop.log")
t_expect "eval stops at the next run boundary on SIGUSR1 and exits 75" 75 "eval: SIGUSR1: stopping before the next run" \
    "stopped by SIGUSR1"
t_run "$MIXPHM" eval "$CFG" "${SETS[@]}"
t_expect "and a rerun finishes it" 0 "bitfit-k16-s13: test accuracy"

# The stage scores from prepared.h5; `mixphm score` from the synthetic benchmark's official-format files.
S=$TMP/run/synthetic
overall() { grep -o '"overall": [0-9.]*' | head -1 | grep -o '[0-9.]*$'; }
t_run "$MIXPHM" score --questions "$S/questions_test.json" --annotations "$S/annotations_test.json" \
    --results "$RUN/predictions.json" --variant vlt5
stage=$(sed -n '/"best"/,/}/p' "$RUN/result.json" | overall)
[ "$RC" = 0 ] && [ -n "$stage" ] && [ "$(overall <<<"$OUT")" = "$stage" ] &&
    t_ok "vlt5: the stage's accuracy ($stage) equals mixphm score's" || t_fail "vlt5: stage and mixphm score agree" "stage $stage"
for type in yes/no number other; do
    a=$(grep -o "\"$type\": [0-9.]*" <<<"$OUT" | head -1)
    b=$(grep -o "\"$type\": [0-9.]*" "$RUN/result.json" | head -1)
    [ -n "$a" ] && [ "$a" = "$b" ] && t_ok "vlt5: per answer type '$type' agrees ($a)" || t_fail "per answer type $type" "'$a' vs '$b'"
done
t_run "$MIXPHM" run "$CFG" "${SETS[@]}" --set eval.vqa_metric=official --until eval
t_expect "a new metric re-evaluates without retraining" 0 "train: up to date, skipped" "eval: running (config changed: eval.vqa_metric vlt5 -> official)"
t_run "$MIXPHM" score --questions "$S/questions_test.json" --annotations "$S/annotations_test.json" \
    --results "$RUN/predictions.json" --variant official
stage=$(sed -n '/"best"/,/}/p' "$RUN/result.json" | overall)
[ "$RC" = 0 ] && [ "$(overall <<<"$OUT")" = "$stage" ] && grep -q '"metric": "official"' "$RUN/result.json" &&
    t_ok "official: the stage's accuracy ($stage) equals mixphm score's" || t_fail "official: stage and mixphm score agree" "stage $stage"

# ---- aggregate ---------------------------------------------------------------------------------------
t_run "$MIXPHM" run "$CFG" "${SETS[@]}" --set eval.vqa_metric=official
t_expect "aggregate prints the table" 0 "synthetic: test accuracy (official, best weights)" "full" "bitfit" "k = 16"
R=$TMP/run/report
grep -q '| full | ' "$R/results.md" && grep -q '| bitfit | ' "$R/results.md" && grep -q '^synthetic,official,best,full,' "$R/results.csv" &&
    t_ok "results.md and results.csv hold both methods" || t_fail "results.md and results.csv" "$(cat "$R/results.md")"
grep -q '| \*zero-shot (no training)\* | - | - |' "$R/results.md" && grep -q '| \*constant answer "' "$R/results.md" &&
    grep -q '| \*answer-type prior\* |' "$R/results.md" && t_ok "results.md has the reference rows" ||
    t_fail "results.md has the reference rows" "$(cat "$R/results.md")"
if command -v gnuplot >/dev/null; then
    [ -s "$R/accuracy_vs_k.png" ] && [ -s "$R/accuracy_vs_k.svg" ] && [ -s "$R/accuracy_vs_k.pdf" ] &&
        grep -q 'accuracy_vs_k.png' "$R/results.md" && t_ok "the plot is rendered (PNG, SVG, PDF) and linked" ||
        t_fail "the plot" "$(ls -la "$R")"
    [ "$(grep -c 'dt [0-9]* lc rgb "#555555" noenhanced title "\(zero-shot\|constant\|answer-type\)' "$R/accuracy_vs_k.gp")" = 9 ] && # 3 rows x PNG, SVG, PDF
        t_ok "the plot draws its three reference rows dashed, in gray" || t_fail "the plot's reference rows" "$(cat "$R/accuracy_vs_k.gp")"
fi
grep -q '\\toprule' "$R/results.tex" && grep -q '^full & ' "$R/results.tex" && t_ok "results.tex holds the table" ||
    t_fail "results.tex holds the table" "$(cat "$R/results.tex")"
if command -v pdflatex >/dev/null && kpsewhich booktabs.sty >/dev/null 2>&1; then
    mkdir -p "$TMP/tex" && cp "$R/results.tex" "$R"/accuracy_vs_k.pdf "$TMP/tex/" 2>/dev/null
    printf '%s\n' '\documentclass{article}' '\usepackage{booktabs}' '\usepackage{graphicx}' '\begin{document}' \
        '\begin{table}\centering\input{results.tex}\end{table}' \
        '\IfFileExists{accuracy_vs_k.pdf}{\includegraphics[width=\linewidth]{accuracy_vs_k.pdf}}{}' '\end{document}' >"$TMP/tex/paper.tex"
    (cd "$TMP/tex" && pdflatex -interaction=nonstopmode -halt-on-error paper.tex >pdflatex.log 2>&1)
    [ -s "$TMP/tex/paper.pdf" ] && t_ok "results.tex and the PDF plot compile in a LaTeX document (pdflatex)" ||
        t_fail "results.tex compiles" "$(tail -20 "$TMP/tex/pdflatex.log")"
else
    echo "ok - results.tex compiles (SKIPPED: no pdflatex with booktabs; the unit test checks its syntax)"
fi
t_run "$MIXPHM" run "$CFG" "${SETS[@]}" --set eval.vqa_metric=official
t_expect "a rerun finds everything done" 0 "aggregate: up to date, skipped"

# ---- a learning-rate grid chosen on dev (eval.select_lr) -----------------------------------------------
LR=(--set "run.dir=\"$TMP/lr\"" --set peft.method=full --set "train.lr=[5.0e-3, 2.0e-2]" --set train.epochs=60
    --set train.batch_size=8 --set train.val_interval=20 --set "data.seeds=[13, 21]")
t_run "$MIXPHM" run "$CFG" "${LR[@]}" --set eval.select_lr=false
t_expect "a row per learning rate without eval.select_lr" 0 "full-k16-s13-lr=0.005: test accuracy" \
    "full-k16-s21-lr=0.02: test accuracy"
# The last weights are decoded only when they differ from the best ones (else their answers are the
# best weights' answers): said in the log exactly for the runs whose best.h5 and last.h5 hold the
# same values (here two runs of each kind: best at the last validation, or before it).
kinds=""
for D in "$TMP"/lr/runs/full-*; do
    r=$(basename "$D")
    same=$(/usr/bin/python3 - "$D" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(d + "/best.h5", "r") as b, h5py.File(d + "/last.h5", "r") as l:
    names = []
    b.visit(lambda n: names.append(n) if isinstance(b[n], h5py.Dataset) else None)
    print(int(len(names) > 0 and all(np.array_equal(b[n][()], l[n][()]) for n in names)))
PY
)
    said=$(printf '%s\n' "$OUT" | grep -c "$r: the last weights are the best ones")
    kinds="$kinds$same"
    [ "$same" = "$said" ] && t_ok "$r: decoded once exactly when last == best (same: $same)" ||
        t_fail "$r: decoded once exactly when last == best" "same values: '$same', said: $said"
done
case $kinds in *0*1* | *1*0*) t_ok "both kinds of run were evaluated" ;; *) t_fail "both kinds of run" "$kinds" ;; esac
grep -q '| full lr=0.005 | ' "$TMP/lr/report/results.md" && grep -q '| full lr=0.02 | ' "$TMP/lr/report/results.md" &&
    t_ok "results.md: one row per learning rate" || t_fail "one row per learning rate" "$(cat "$TMP/lr/report/results.md")"
t_run "$MIXPHM" run "$CFG" "${LR[@]}" --set eval.select_lr=true
t_expect "eval.select_lr redoes only the report" 0 "train: up to date, skipped" "aggregate: running"
t_run /usr/bin/env python3 - "$TMP/lr" <<'PY'
import csv, json, sys
run = sys.argv[1]
rows = list(csv.DictReader(open(f"{run}/report/results.csv")))
full = [r for r in rows if r["method"] == "full"]
assert len(full) == 1, rows
got = dict(v.split(":") for v in full[0]["values"].split())
for seed in ("13", "21"):
    runs = [f"{run}/runs/full-k16-s{seed}-lr={lr}" for lr in ("0.005", "0.02")]
    dev = [json.load(open(f"{r}/train.json"))["best_dev"] for r in runs]
    pick = runs[1] if dev[1] > dev[0] else runs[0]  # a tie goes to the first value
    want = json.load(open(f"{pick}/result.json"))["accuracy"]
    assert abs(float(got[seed]) - want) < 0.006, (seed, dev, got[seed], want)
    print(f"seed {seed}: dev {dev}, picked {pick.rsplit('=', 1)[1]}, test {want}")
print("the best-dev learning rate stands for each seed")
PY
t_expect "each seed's value is its best-dev learning rate's run" 0 "the best-dev learning rate stands for each seed"
grep -q 'Learning rates chosen on dev' "$TMP/lr/report/results.md" && grep -q '^| full | 0.0' "$TMP/lr/report/results.md" &&
    ! grep -q '| full lr=' "$TMP/lr/report/results.md" && t_ok "results.md: one row, and the chosen learning rates" ||
    t_fail "the chosen learning rates" "$(cat "$TMP/lr/report/results.md")"
# A rank that fails alone (here rank 1 is given a run folder without prepared.h5, as a node-local path
# would) stops every rank with its error: the others must not carry on into the next collective call
# and wait there forever.
OTHER=("${SETS[@]}")
OTHER[1]="run.dir=\"$TMP/elsewhere\""
mkdir -p "$TMP/elsewhere"
for stage in eval analyze train; do
    t_run timeout 120 "$MPIRUN" -np 1 "$MIXPHM" $stage "$CFG" "${SETS[@]}" --force : -np 1 "$MIXPHM" $stage "$CFG" \
        "${OTHER[@]}" --force
    t_expect "$stage: an error on rank 1 alone ends both ranks with it" 1 \
        "error: $stage: rank 1: cannot open '$TMP/elsewhere/prepared.h5'"
done
t_finish
