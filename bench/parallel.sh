#!/usr/bin/env bash
# The train and eval stages' inner loops on 1 and 2 ranks (bench/bench_parallel.c): a data-parallel
# optimizer step of a PEFT method on a frozen random backbone, with the gradient allreduce's share,
# and greedy decoding of the ranks' shares of the questions.  Run by `make bench-parallel`; record the
# table it prints, with the command, in docs/benchmarks.md ("## Data-parallel training and evaluation").
#   BENCH_SIZE=t5-base        backbone preset
#   BENCH_METHODS="mixphm"    PEFT methods (one row each per rank count)
#   BENCH_ARGS="16 20 10 3"   global batch, text tokens, answer tokens, repeats
#   BENCH_NPS="1 2"           rank counts (one BLAS thread per rank)
#   MPIRUN=mpirun             with the environment of the Makefile's MPIRUN_ENV
set -euo pipefail
BIN=${1:?usage: bench/parallel.sh BUILD/bench/bench_parallel}
SIZE=${BENCH_SIZE:-t5-base}
METHODS=${BENCH_METHODS:-mixphm}
read -r -a ARGS <<<"${BENCH_ARGS:-16 20 10 3}"
NPS=${BENCH_NPS:-1 2}
MPIRUN=${MPIRUN:-mpirun}
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"; }
printf '| size, method, global batch, text+regions, answer | ranks | trainable | step s | steps/s | allreduce s (share) | decode s | questions/s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for method in $METHODS; do
    for np in $NPS; do
        json=$(OPENBLAS_NUM_THREADS=1 "$MPIRUN" -np "$np" "$BIN" "$SIZE" "$method" "${ARGS[@]}")
        echo "$json" >&2
        printf '| %s, %s, %s, %s+36, %s | %s | %s | %s | %s | %s (%.1f %%) | %s | %s |\n' "$SIZE" "$method" "${ARGS[0]}" \
            "${ARGS[1]}" "${ARGS[2]}" "$np" "$(field trainable "$json")" "$(field step_min_s "$json")" \
            "$(field steps_per_s "$json")" "$(field allreduce_min_s "$json")" \
            "$(awk -v s="$(field allreduce_share "$json")" 'BEGIN {print 100 * s}')" \
            "$(field decode_min_s "$json")" "$(field questions_per_s "$json")"
    done
done
