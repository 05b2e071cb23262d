#!/usr/bin/env bash
# model.precision bf16 through the binary and on each CPU level oneDNN can dispatch to here:
#   - the start-up line names oneDNN's ISA; full fine-tuning in bf16 is refused by name;
#   - oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA) has no bf16 matmul: refused, naming the CPU flags;
#   - limited to AVX-512 without bf16 (emulated) and to AVX-512 BF16 without AMX, the products pass
#     tests/unit/test_nn_bf16 as on the full CPU (levels this CPU lacks are skipped, saying so);
#   - a build without oneDNN (make DNNL=0) refuses bf16 by name instead of all of the above, and so
#     does a CPU without AVX-512 (naming the flags it needs).
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
BF=(--set peft.method=mixphm --set model.precision=bf16 --set "run.dir=\"$TMP/run\"" --until prepare)
UNIT=$BUILD/tests/unit/test_nn_bf16

t_run "$MIXPHM" run "$CFG" "${BF[@]}"
if grep -qF "make DNNL=0" <<<"$OUT"; then
    t_expect "without oneDNN, bf16 is refused by name before any stage" 1 "model.precision bf16 needs oneDNN" \
        "model.precision fp32"
    t_finish
fi
if grep -qF "has no bf16 matmul for this CPU" <<<"$OUT"; then
    # A CPU without AVX-512 (AMD EPYC with AVX2 has been seen): refused before any stage, naming the flags.
    t_expect "on a CPU without AVX-512, bf16 is refused naming the CPU flags" 1 "avx512_bf16 or amx_bf16" \
        "model.precision fp32"
    t_run "$UNIT"
    t_expect "the bf16 unit test skips the products, saying why" 0 "oneDNN has no bf16 matmul on this CPU" "0 failed"
    t_finish
fi
t_expect "the start-up line names oneDNN's ISA and kernel" 0 "model.precision bf16: oneDNN" "ISA " "matmul "
t_run "$MIXPHM" run "$CFG" "${BF[@]}" --set peft.method=full
t_expect "full fine-tuning in bf16 is refused by name" 1 "model.precision: bf16 runs the frozen backbone" \
    "use model.precision fp32 for peft.method full"

t_run env ONEDNN_MAX_CPU_ISA=AVX2 "$MIXPHM" run "$CFG" "${BF[@]}"
t_expect "oneDNN limited to AVX2: refused, naming the CPU flags" 1 "has no bf16 matmul for this CPU" \
    "it dispatches to avx2" "avx512_bf16 or amx_bf16" "model.precision fp32"

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { grep -qw "$1" <<<"$flags"; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
    t_run env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$MIXPHM" run "$CFG" "${BF[@]}"
    t_expect "AVX-512 without bf16: runs, and warns that bf16 is emulated" 0 "ISA avx512_core (no bf16 instructions" \
        "oneDNN emulates them"
    t_run env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$UNIT"
    t_expect "AVX-512 without bf16: the products are right (emulated)" 0 "0 failed"
else
    t_ok "skipped AVX-512 without bf16: this CPU has no AVX-512"
fi
if has avx512_bf16; then
    t_run env ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 "$UNIT"
    t_expect "AVX-512 BF16 without AMX: the products are right" 0 "0 failed"
else
    t_ok "skipped AVX-512 BF16: this CPU does not have it"
fi
if has amx_bf16; then
    t_run "$UNIT"
    t_expect "AMX: the products are right" 0 "0 failed"
else
    t_ok "skipped AMX: this CPU does not have it"
fi
t_finish
