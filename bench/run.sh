#!/usr/bin/env bash
# make bench: the SGEMM peak of this machine, then one VL-T5 training step and one greedy decoding batch
# in C (bench_vlt5) and in PyTorch (bench_vlt5.py), printed as JSON lines and as one Markdown table row
# for docs/benchmarks.md.
#   BENCH_SIZE=t5-base  BENCH_ARGS="16 20 10 3" (batch, text, answer, repeats)  BENCH_THREADS=$(nproc)
#   BENCH_ROUNDS=2: the programs run in turn this many times, so that a busy spell on a shared machine
#   hits them alike; the summary takes each one's fastest repeat and the highest SGEMM rate.
# PyTorch runs with torch.set_num_threads(BENCH_THREADS) and with 1 (Debian's torch calls the same
# OpenBLAS, whose own thread pool then does the parallel work); the ratio uses the faster of the two.
set -euo pipefail
BUILD=${BUILD:-build/release}
SIZE=${BENCH_SIZE:-t5-base}
ARGS=${BENCH_ARGS:-16 20 10 3}
THREADS=${BENCH_THREADS:-$(nproc)}
ROUNDS=${BENCH_ROUNDS:-2}
PY=${MIXPHM_TORCH_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=$THREADS
out=$(mktemp)
trap 'rm -f "$out"' EXIT
torch=0
"$PY" -c 'import torch' 2>/dev/null && torch=1 || echo "# $PY has no torch: no PyTorch comparison" >&2
for round in $(seq "$ROUNDS"); do
    echo "# round $round: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$BUILD/bench/sgemm_peak" | tee -a "$out"
    # shellcheck disable=SC2086
    "$BUILD/bench/bench_vlt5" "$SIZE" $ARGS | tee -a "$out"
    if [ "$torch" = 1 ]; then
        for th in $(printf '%s\n' "$THREADS" 1 | sort -u); do
            # shellcheck disable=SC2086
            "$PY" bench/bench_vlt5.py "$SIZE" $ARGS "$th" | tee -a "$out"
        done
    fi
done
"$PY" - "$out" "$(git describe --always --dirty 2>/dev/null || echo unknown)" <<'PYEOF'
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peak = max(r["peak_gflops"] for r in rows if "peak_gflops" in r)
cs = [r for r in rows if r.get("impl") == "c"]
pt = [r for r in rows if r.get("impl") == "pytorch"]
c_train = min(r["train_step_min_s"] for r in cs)
c_dec = min(r["decode_min_s"] for r in cs)
c = cs[0]
gf_train, gf_dec = c["train_gflop"] / c_train, c["decode_gflop"] / c_dec
head = (f"| {time.strftime('%Y-%m-%d')} | {sys.argv[2]} | {c['size']}, {c['batch']}, {c['text']}+36, {c['answer']} "
        f"| {c['threads']} ({c['blas_core']}) | {peak:.0f} "
        f"| {c_train:.3g} ({gf_train:.0f}, {100 * gf_train / peak:.0f} %) ")
print("| date | commit | size, batch, text+regions, answer | threads | SGEMM peak GF/s | C train step s (GF/s, % peak) "
      "| PyTorch train step s (torch threads) | C speed-up | C decode s (GF/s, % peak) | PyTorch decode s (torch threads) "
      "| C speed-up |")
if pt:
    bt = min(pt, key=lambda r: r["train_step_min_s"])
    bd = min(pt, key=lambda r: r["decode_min_s"])
    print(head + f"| {bt['train_step_min_s']:.3g} ({bt['threads']}) | {bt['train_step_min_s'] / c_train:.2f}x "
          f"| {c_dec:.3g} ({gf_dec:.0f}, {100 * gf_dec / peak:.0f} %) | {bd['decode_min_s']:.3g} ({bd['threads']}) "
          f"| {bd['decode_min_s'] / c_dec:.2f}x |")
else:
    print(head + f"| - | - | {c_dec:.3g} ({gf_dec:.0f}, {100 * gf_dec / peak:.0f} %) | - | - |")
PYEOF
