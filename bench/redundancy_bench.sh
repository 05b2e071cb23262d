#!/usr/bin/env bash
# Runs the redundancy-statistics benchmark for every N and rank count (make bench-analysis), then a
# summary table with the fastest and slowest of the repetitions.
#   bench/redundancy_bench.sh BINARY
#   BENCH_N="4000 8000 16000"  BENCH_NP="1 2 4"  BENCH_D=768  BENCH_BLOCK=64  BENCH_REPEAT=1  (defaults)
# The caller's environment is used as is (the Makefile sets OPENBLAS_CORETYPE, one BLAS thread per
# rank, and lets mpirun run as root and oversubscribe).
set -euo pipefail
bin=$1
MPIRUN=${MPIRUN:-mpirun}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "load average $(cut -d' ' -f1-3 /proc/loadavg), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}," \
     "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
for rep in $(seq "${BENCH_REPEAT:-1}"); do
    for n in ${BENCH_N:-4000 8000 16000}; do
        for np in ${BENCH_NP:-1 2 4}; do
            "$MPIRUN" -np "$np" "$bin" "$n" "${BENCH_D:-768}" "${BENCH_BLOCK:-64}" | tee -a "$log"
        done
    done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| N | ranks | grid | Gram (layout + SYRK) s | prepare X s | prepare Y s | pair s | total s | CPU s per rank | peak RSS per rank MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# fastest-slowest over the repetitions; RSS is the largest seen.
# A result line: result N ranks grid gram prepare_x prepare_y pair total cpu_max peak_rss_mib
awk '$1 == "result" {
    k = sprintf("%08d %03d %s", $2, $3, $4)
    for (i = 5; i <= 10; i++) {
        if (!((k, i) in lo) || $i + 0 < lo[k, i]) lo[k, i] = $i + 0
        if ($i + 0 > hi[k, i]) hi[k, i] = $i + 0
    }
    if ($11 + 0 > rss[k]) rss[k] = $11 + 0
    keys[k] = 1
} END {
    for (k in keys) {
        split(k, f, " ")
        line = sprintf("| %d | %d | %s |", f[1], f[2], f[3])
        for (i = 5; i <= 10; i++)
            line = line (lo[k, i] == hi[k, i] ? sprintf(" %.2f |", lo[k, i]) : sprintf(" %.2f-%.2f |", lo[k, i], hi[k, i]))
        print k "\t" line sprintf(" %d |", rss[k])
    }
}' "$log" | sort | cut -f2
