#!/usr/bin/env bash
# make bench: the SGEMM peak of this machine, then one VL-T5 training step and one greedy decoding batch
# in C (bench_vlt5) and in PyTorch (bench_vlt5.py), printed as JSON lines and as one Markdown table row
# for docs/benchmarks.md.
#   BENCH_SIZE=t5-base BENCH_ARGS="16 20 10 5" (batch, text, answer, repeats) BENCH_THREADS=$(nproc)
# PyTorch runs twice: with torch.set_num_threads(BENCH_THREADS) and with 1 (Debian's torch calls the
# same OpenBLAS, whose own thread pool then does the parallel work); the ratio uses the faster one.
set -euo pipefail
BUILD=${BUILD:-build/release}
SIZE=${BENCH_SIZE:-t5-base}
ARGS=${BENCH_ARGS:-16 20 10 5}
THREADS=${BENCH_THREADS:-$(nproc)}
PY=${MIXPHM_TORCH_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=$THREADS
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BUILD/bench/sgemm_peak" | tee -a "$out"
# shellcheck disable=SC2086
"$BUILD/bench/bench_vlt5" "$SIZE" $ARGS | tee -a "$out"
if "$PY" -c 'import torch' 2>/dev/null; then
    # shellcheck disable=SC2086
    "$PY" bench/bench_vlt5.py "$SIZE" $ARGS "$THREADS" | tee -a "$out"
    if [ "$THREADS" != 1 ]; then
        # shellcheck disable=SC2086
        "$PY" bench/bench_vlt5.py "$SIZE" $ARGS 1 | tee -a "$out"
    fi
else
    echo "# $PY has no torch: no PyTorch comparison" >&2
fi
"$PY" - "$out" "$(git describe --always --dirty 2>/dev/null || echo unknown)" <<'PYEOF'
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peak = next(r for r in rows if "peak_gflops" in r)
c = next(r for r in rows if r.get("impl") == "c")
pt = [r for r in rows if r.get("impl") == "pytorch"]
best_t = min(pt, key=lambda r: r["train_step_s"]) if pt else None
best_d = min(pt, key=lambda r: r["decode_s"]) if pt else None
def ratio(a, b):
    return f"{b / a:.2f}x" if b else "-"
print("| date | commit | size, batch, text+regions, answer | threads | SGEMM peak GF/s | C train step s (GF/s, % peak) "
      "| PyTorch train step s (torch threads) | C speed-up | C decode s (GF/s) | PyTorch decode s | C speed-up |")
print(f"| {time.strftime('%Y-%m-%d')} | {sys.argv[2]} | {c['size']}, {c['batch']}, {c['text']}+36, {c['answer']} "
      f"| {c['threads']} ({c['blas_core']}) | {peak['peak_gflops']:.0f} "
      f"| {c['train_step_s']:.3g} ({c['train_gflops']:.0f}, {100 * c['train_gflops'] / peak['peak_gflops']:.0f} %) "
      f"| {best_t['train_step_s']:.3g} ({best_t['threads']}) | {ratio(c['train_step_s'], best_t['train_step_s'])} "
      f"| {c['decode_s']:.3g} ({c['decode_gflops']:.0f}) | {best_d['decode_s']:.3g} ({best_d['threads']}) "
      f"| {ratio(c['decode_s'], best_d['decode_s'])} |" if pt else
      f"| {time.strftime('%Y-%m-%d')} | {sys.argv[2]} | {c['size']} | {c['threads']} | {peak['peak_gflops']:.0f} "
      f"| {c['train_step_s']:.3g} | - | - | {c['decode_s']:.3g} | - | - |")
PYEOF
