#!/usr/bin/env bash
# make bench: the SGEMM peak of this machine, then one VL-T5 training step and one greedy decoding batch
# in C (bench_vlt5) and in PyTorch (bench_vlt5.py, in fp32 and under torch.autocast bf16), for the bare
# backbone and with each method attached, printed as JSON lines and as Markdown table rows for
# docs/benchmarks.md.
#   BENCH_SIZE=t5-base  BENCH_ARGS="16 20 10 3" (batch, text, answer, repeats)  BENCH_THREADS=$(nproc)
#   BENCH_METHODS="none mixphm lora"  BENCH_PRECISION=fp32 (the C side's model.precision; "fp32 bf16"
#   runs both)
#   BENCH_ROUNDS=2: the programs run in turn this many times, so that a busy spell on a shared machine
#   hits them alike; the summary takes each one's fastest repeat and the highest SGEMM rate.
# PyTorch runs with torch.set_num_threads(BENCH_THREADS) and with 1 (Debian's torch calls the same
# OpenBLAS, whose own thread pool then does the parallel work); the ratios use the faster of the two.
# OMP_NUM_THREADS is set to BENCH_THREADS too: oneDNN's pool (bf16) and PyTorch's use it, both waiting
# passively (OMP_WAIT_POLICY, unless set).
set -euo pipefail
BUILD=${BUILD:-build/release}
SIZE=${BENCH_SIZE:-t5-base}
ARGS=${BENCH_ARGS:-16 20 10 3}
CORES=$(nproc) # before OMP_NUM_THREADS is set: nproc honours it
THREADS=${BENCH_THREADS:-$CORES}
ROUNDS=${BENCH_ROUNDS:-2}
METHODS=${BENCH_METHODS:-none mixphm lora}
PRECISIONS=${BENCH_PRECISION:-fp32}
PY=${MIXPHM_TORCH_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
# OpenMP threads that spin while they wait (libgomp's default) fight OpenBLAS's pool and any other
# load for the cores: on a loaded machine 2 threads then ran several times slower than 1, so both sides
# wait passively unless told otherwise; OMP_WAIT_POLICY= (set, empty) keeps libgomp's default, which on
# an idle machine is the faster at 2 threads for both (docs/benchmarks.md).
if [ -z "${OMP_WAIT_POLICY+set}" ]; then
    export OMP_WAIT_POLICY=PASSIVE
elif [ -z "$OMP_WAIT_POLICY" ]; then
    unset OMP_WAIT_POLICY
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
torch=0
"$PY" -c 'import torch' 2>/dev/null && torch=1 || echo "# $PY has no torch: no PyTorch comparison" >&2
for round in $(seq "$ROUNDS"); do
    echo "# round $round: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg), OMP_WAIT_POLICY ${OMP_WAIT_POLICY:-unset (the libgomp default)}${OPENBLAS_THREAD_TIMEOUT:+, OPENBLAS_THREAD_TIMEOUT $OPENBLAS_THREAD_TIMEOUT}" >&2
    "$BUILD/bench/sgemm_peak" | tee -a "$out"
    for method in $METHODS; do
        for precision in $PRECISIONS; do
            # shellcheck disable=SC2086
            "$BUILD/bench/bench_vlt5" "$SIZE" $ARGS "$method" "$precision" | tee -a "$out"
        done
        if [ "$torch" = 1 ]; then
            for th in $(printf '%s\n' "$THREADS" 1 | sort -u); do
                for precision in fp32 bf16; do
                    # shellcheck disable=SC2086
                    "$PY" bench/bench_vlt5.py "$SIZE" $ARGS "$th" "$method" "$precision" | tee -a "$out"
                done
            done
        fi
    done
done
"$PY" - "$out" "$(git describe --always --dirty 2>/dev/null || echo unknown)" <<'PYEOF'
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peak = max(r["peak_gflops"] for r in rows if "peak_gflops" in r)
cs = [r for r in rows if r.get("impl") == "c"]
pt = [r for r in rows if r.get("impl") == "pytorch"]
c0 = cs[0]
print(f"# {c0['size']}, batch {c0['batch']}, {c0['text']}+36 tokens, answer {c0['answer']}; C threads {c0['threads']} "
      f"({c0['blas_core']}, oneDNN ISA {c0['isa']}); SGEMM peak {peak:.0f} GF/s; {time.strftime('%Y-%m-%d')}, "
      f"commit {sys.argv[2]}")
print("| method | C precision | C train step s (GF/s) | PyTorch fp32 / bf16 train s (torch threads) | C speed-up vs fp32 / bf16 "
      "| C decode s (GF/s) | PyTorch fp32 / bf16 decode s | C speed-up vs fp32 / bf16 |")
print("|---|---|---:|---:|---:|---:|---:|---:|")


def best(rs, key):
    return min(rs, key=lambda r: r[key]) if rs else None


def cell(r, key):
    return f"{r[key]:.3g} ({r['threads']})" if r else "-"


def ratio(r, key, c):
    return f"{r[key] / c:.2f}x" if r else "-"


for method in dict.fromkeys(r["method"] for r in cs):
    for precision in dict.fromkeys(r["precision"] for r in cs if r["method"] == method):
        mine = [r for r in cs if r["method"] == method and r["precision"] == precision]
        c_train = min(r["train_step_min_s"] for r in mine)
        c_dec = min(r["decode_min_s"] for r in mine)
        gf_train, gf_dec = mine[0]["train_gflop"] / c_train, mine[0]["decode_gflop"] / c_dec
        theirs = {p: [r for r in pt if r["method"] == method and r["precision"] == p] for p in ("fp32", "bf16")}
        t32, t16 = best(theirs["fp32"], "train_step_min_s"), best(theirs["bf16"], "train_step_min_s")
        d32, d16 = best(theirs["fp32"], "decode_min_s"), best(theirs["bf16"], "decode_min_s")
        print(f"| {method} | {precision} | {c_train:.3g} ({gf_train:.0f}) "
              f"| {cell(t32, 'train_step_min_s')} / {cell(t16, 'train_step_min_s')} "
              f"| {ratio(t32, 'train_step_min_s', c_train)} / {ratio(t16, 'train_step_min_s', c_train)} "
              f"| {c_dec:.3g} ({gf_dec:.0f}) | {cell(d32, 'decode_min_s')} / {cell(d16, 'decode_min_s')} "
              f"| {ratio(d32, 'decode_min_s', c_dec)} / {ratio(d16, 'decode_min_s', c_dec)} |")
PYEOF
