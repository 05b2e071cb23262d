#!/usr/bin/env bash
# Runs the redundancy-statistics benchmark for every N and rank count (make bench-analysis).
#   bench/redundancy_bench.sh BINARY
#   BENCH_N="4000 8000 16000"  BENCH_NP="1 2 4"  BENCH_D=768  BENCH_BLOCK=64   (defaults)
# The caller's environment is used as is (the Makefile sets OPENBLAS_CORETYPE, one BLAS thread per
# rank, and lets mpirun run as root and oversubscribe).
set -euo pipefail
bin=$1
MPIRUN=${MPIRUN:-mpirun}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "load average $(cut -d' ' -f1-3 /proc/loadavg), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}," \
     "OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
for n in ${BENCH_N:-4000 8000 16000}; do
    for np in ${BENCH_NP:-1 2 4}; do
        "$MPIRUN" -np "$np" "$bin" "$n" "${BENCH_D:-768}" "${BENCH_BLOCK:-64}"
    done
done
