#!/usr/bin/env bash
# The C benchmarks run and say what they measured: bench_vlt5's parts (the training step and decoding,
# or decoding alone) and bench_parallel's train.chunk_examples in its JSON line; bad arguments get the
# usage.  Timings are never asserted.
. "$(dirname "$0")/lib.sh"
VLT5=$BUILD/bench/bench_vlt5
t_run env OPENBLAS_NUM_THREADS=1 "$VLT5" tiny 4 6 3 1 mixphm fp32 both
t_expect "bench_vlt5 times a training step and a decoding batch" 0 '"method": "mixphm"' '"precision": "fp32"' \
    '"batch": 4' '"decode_steps": '
grep -q '"train_step_s": 0.0000,' <<<"$OUT" && t_fail "the training step was timed" "train_step_s is 0" ||
    t_ok "the training step was timed"
t_run env OPENBLAS_NUM_THREADS=1 "$VLT5" tiny 4 6 3 1 mixphm fp32 decode
t_expect "bench_vlt5 decode: the decoding batch alone, the training figures 0" 0 '"train_step_s": 0.0000,' \
    '"train_gflops": 0.0,' '"decode_steps": '
t_run "$VLT5" tiny 4 6 3 1 mixphm fp32 sideways
t_expect "bench_vlt5: an unknown PARTS gets the usage" 2 "usage: bench_vlt5" "[both|decode]"
t_run env OPENBLAS_NUM_THREADS=1 "$MPIRUN" -np 2 "$BUILD/bench/bench_parallel" "model.size=tiny,train.chunk_examples=2" \
    mixphm 8 6 3 1
t_expect "bench_parallel in chunks names them in its JSON line" 0 '"chunk_examples": 2' '"ranks": 2' '"global_batch": 8'
t_finish
