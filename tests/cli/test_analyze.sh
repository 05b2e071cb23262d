#!/usr/bin/env bash
# The analyze stage through the binary (tests/data/train_tiny.yaml: 60 test questions, MixPHM and
# Pfeiffer trained briefly, LoRA and BitFit for the skips):
#   - the statistics equal a plain serial double computation (tests/probes/analyze_check, with
#     tests/redundancy_ref.h) from the representations the stage saved, on 1, 2 and 4 ranks, with
#     N = 50 and 60 and blocks of 7 and 16 (neither N a multiple of either);
#   - the values are the same on 1, 2 and 4 ranks and with another block size (float tolerance: the
#     forward runs other batch compositions on other rank counts);
#   - the outputs: redundancy.h5 with its attributes, redundancy.md, the plots;
#   - stamps: nothing changed -> skipped; an analyze key -> only analyze reruns; a new trained run ->
#     analyze reruns; `mixphm run` runs it only with analyze.enabled;
#   - errors: no trained run with an adapter, train not done, bad keys.
. "$(dirname "$0")/lib.sh"
CHECK=$BUILD/tests/probes/analyze_check
CFG=tests/data/train_tiny.yaml
SETS=(--set "run.dir=\"$TMP/run\"" --set "peft.method=[mixphm, pfeiffer, lora, bitfit]" --set train.epochs=4
    --set analyze.save_representations=true)
A=$TMP/run/analysis

t_run "$MIXPHM" analyze "$CFG" "${SETS[@]}"
t_expect "analyze before training is refused" 1 "analyze needs the" "first"
t_run "$MIXPHM" run "$CFG" "${SETS[@]}"
t_expect "mixphm run leaves analyze out by default" 0 "aggregate: done"
[ ! -e "$A/redundancy.h5" ] && t_ok "no analysis without analyze.enabled" || t_fail "no analysis without analyze.enabled" "$(ls "$A")"

for np in 1 2 4; do
    for n_block in "50 16" "60 7"; do
        set -- $n_block
        t_run env "$MPIRUN" -np $np "$MIXPHM" analyze "$CFG" "${SETS[@]}" --set analyze.examples=$1 --set analyze.block=$2
        t_expect "np $np, N $1, block $2: analyses mixphm and pfeiffer, skips lora and bitfit" 0 \
            "mixphm-k16-s13: analysed" "pfeiffer-k16-s13: analysed" "lora-k16-s13: lora changes the attention" \
            "bitfit-k16-s13: bitfit has no adapter"
        t_run "$CHECK" serial "$A/representations.h5" "$A/redundancy.h5" 2e-6
        t_expect "np $np, N $1, block $2: equal to the serial computation from the representations" 0 "0 beyond"
        cp "$A/redundancy.h5" "$TMP/red-$np-$1-$2.h5"
    done
done
# A stop signal ends the stage between runs with 75 and leaves no partial outputs.
rm -rf "$A"
"$MIXPHM" analyze "$CFG" "${SETS[@]}" >"$TMP/stop.log" 2>&1 &
pid=$!
for _ in $(seq 1 500); do grep -q "analyze: running" "$TMP/stop.log" 2>/dev/null && break; sleep 0.01; done
kill -USR1 $pid
wait $pid
RC=$?
OUT=$(cat "$TMP/stop.log")
t_expect "analyze stops at the next run boundary on SIGUSR1 and exits 75" 75 "analyze: SIGUSR1: stopping before the next run"
[ ! -e "$A/redundancy.h5" ] && [ ! -e "$A/representations.h5" ] && t_ok "and leaves no partial outputs" ||
    t_fail "analyze leaves no partial outputs" "$(ls "$A")"
t_run "$MPIRUN" -np 1 "$MIXPHM" analyze "$CFG" "${SETS[@]}" --set analyze.examples=1000 --set analyze.block=7
t_expect "analyze.examples beyond the split is capped, and said" 0 "analyze.examples 1000 is more than the test split has: using all 60"
for np in 2 4; do
    for n in 50 60; do
        blk=$([ $n = 50 ] && echo 16 || echo 7)
        t_run "$CHECK" same "$TMP/red-$np-$n-$blk.h5" "$TMP/red-1-$n-$blk.h5" 2e-5
        t_expect "N $n: np $np gives the values of np 1" 0 "0 beyond"
    done
done
t_run "$CHECK" same "$TMP/red-4-60-7.h5" "$A/redundancy.h5" 2e-5
t_expect "another block size and rank count give the same values" 0 "0 beyond"
t_run "$CHECK" same "$TMP/red-1-50-16.h5" "$TMP/red-1-60-7.h5" 2e-5
[ "$RC" = 1 ] && t_ok "the comparison finds a difference where there is one (N 50 vs 60)" ||
    t_fail "the comparison detects a difference" "exit $RC"

# ---- the outputs -------------------------------------------------------------------------------------
t_run h5dump -A "$A/redundancy.h5"
if [ "$RC" = 0 ]; then
    grep -q '"mixphm-redundancy"' <<<"$OUT" && grep -q 'ATTRIBUTE "statistic"' <<<"$OUT" &&
        grep -q 'ATTRIBUTE "stack"' <<<"$OUT" && grep -q 'ATTRIBUTE "pair"' <<<"$OUT" && grep -q '"cka_rbf"' <<<"$OUT" &&
        t_ok "redundancy.h5 names run, stack, pair, statistic and N" || t_fail "redundancy.h5 attributes" "see output"
fi
grep -q '^## mixphm-k16-s13' "$A/redundancy.md" && grep -q '^## pfeiffer-k16-s13' "$A/redundancy.md" &&
    grep -q '^| decoder | 1 |' "$A/redundancy.md" && ! grep -q 'lora-k16' "$A/redundancy.md" &&
    t_ok "redundancy.md has a table per analysed run" || t_fail "redundancy.md" "$(cat "$A/redundancy.md")"
if command -v gnuplot >/dev/null; then
    [ -s "$A/redundancy_rsa.png" ] && [ -s "$A/redundancy_cka_rbf.svg" ] && grep -q 'redundancy_cka_linear.png' "$A/redundancy.md" &&
        ! ls "$A"/*.tmp >/dev/null 2>&1 && t_ok "the plots are rendered and linked" || t_fail "the plots" "$(ls -la "$A")"
fi

# ---- stamps ------------------------------------------------------------------------------------------
RUNSET=("${SETS[@]}" --set analyze.examples=1000 --set analyze.block=7)
t_run "$MIXPHM" analyze "$CFG" "${RUNSET[@]}"
t_expect "nothing changed: skipped" 0 "analyze: up to date, skipped"
t_run "$MIXPHM" run "$CFG" "${RUNSET[@]}" --set analyze.enabled=true
t_expect "enabling the analysis rewrites only the report" 0 "train: up to date, skipped" "analyze: up to date, skipped" \
    "aggregate: running (config changed: analyze.enabled false -> true)"
grep -q '(../analysis/redundancy.md)' "$TMP/run/report/results.md" && t_ok "the report links the analysis" ||
    t_fail "the report links the analysis" "$(cat "$TMP/run/report/results.md")"
t_run "$MIXPHM" run "$CFG" "${RUNSET[@]}" --set analyze.block=9 --set analyze.enabled=true
t_expect "an analyze key reruns analyze only" 0 "train: up to date, skipped" "aggregate: up to date, skipped" \
    "analyze: running (config changed: analyze.block 7 -> 9)"
t_run "$MIXPHM" run "$CFG" "${RUNSET[@]}" --set analyze.block=9 --set analyze.enabled=true
t_expect "mixphm run with analyze.enabled: up to date" 0 "analyze: up to date, skipped"
t_run "$MIXPHM" run "$CFG" "${RUNSET[@]}" --set analyze.block=9 --set analyze.enabled=true --set "data.seeds=[13, 21]"
t_expect "a new trained run reruns analyze" 0 "mixphm-k16-s21: analysed" "pfeiffer-k16-s21: analysed"
grep -q '^## pfeiffer-k16-s21' "$A/redundancy.md" && t_ok "the new run is in the report" ||
    t_fail "the new run is in the report" "$(grep '^##' "$A/redundancy.md")"

# ---- errors ------------------------------------------------------------------------------------------
NOADAPTER=("${SETS[@]}" --set "data.seeds=[13, 21]" --set "peft.method=[lora, bitfit]")
t_run "$MIXPHM" run "$CFG" "${NOADAPTER[@]}" --until train
t_run "$MIXPHM" analyze "$CFG" "${NOADAPTER[@]}"
t_expect "no trained run with an adapter" 1 "no trained run of the sweep has an adapter to analyse"
t_run "$MIXPHM" analyze "$CFG" "${SETS[@]}" --set analyze.block=0
t_expect "a block of 0 is refused" 1 "analyze.block: 0 is out of range"
t_run "$MIXPHM" analyze "$CFG" "${SETS[@]}" --set analyze.weight=last
t_expect "a misspelt key is refused" 1 "unknown key 'analyze.weight'" "analyze.weights"
t_run "$MIXPHM" analyze "$CFG" "${SETS[@]}" --set analyze.examples=1
t_expect "N = 1 is refused" 1 "analyze.examples: 1 is out of range"
t_finish
