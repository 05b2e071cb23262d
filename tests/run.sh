#!/usr/bin/env bash
# Runs every test of mixphm: C unit tests, MPI tests under mpirun -np 1, 2 and 4, command-line tests,
# the fuzz corpus replay and the structural checks (tools/lint.py).  Each part ends with "N passed,
# N failed"; this script adds them up and ends with the same line for the whole suite, exiting non-zero
# on any failure.
#   BUILD=build/release   where the test binaries are
#   MIXPHM_TEST_NPS="1 2 4"   rank counts for the MPI tests
#   VERBOSE=1             print every test line, not only the failures
#   tests/run.sh [FILTER]  only the parts whose label contains FILTER
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/release}
MPIRUN=${MPIRUN:-mpirun}
NPS=${MIXPHM_TEST_NPS:-1 2 4}
FILTER=${1:-}
export BUILD MPIRUN
# The MPI tests run more ranks than cores: OpenMP threads (oneDNN's, in bf16) that spin while they wait
# would take the cores from the ranks that have work.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# Debug builds (make test DEBUG=1) run under AddressSanitizer without leak reports: Open MPI's plugins
# are unloaded before exit, so what they keep cannot be told from ours.  The fuzz replay, which has no
# MPI, checks for leaks.
case "$BUILD" in *debug*) export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;; esac
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_part LABEL CMD...: runs a program that ends with "N passed, N failed".
run_part() {
    local label=$1
    shift
    [ -z "$FILTER" ] || [[ "$label" == *"$FILTER"* ]] || return 0
    local t0=$SECONDS rc summary p f
    "$@" >"$log" 2>&1
    rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    if [ -z "$summary" ]; then
        failed=$((failed + 1))
        echo "FAIL  $label: ended without a summary (exit $rc)"
        tail -40 "$log" | sed 's/^/      /'
        return
    fi
    p=${summary%% passed*}
    f=${summary#*, }
    f=${f%% failed}
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
        [ "$f" -gt 0 ] || failed=$((failed + 1))
        echo "FAIL  $label: $summary (exit $rc)"
        grep -vE '^ok - |^\[[0-9-]+ [0-9:]+\] ' "$log" | sed 's/^/      /' | tail -80
    else
        echo "ok    $label: $p passed ($((SECONDS - t0)) s)"
        [ "${VERBOSE:-0}" = 1 ] && grep -E '^ok - ' "$log" | sed 's/^/      /'
    fi
}

for bin in "$BUILD"/tests/unit/*; do
    [ -x "$bin" ] && run_part "unit/$(basename "$bin")" "$bin"
done
for bin in "$BUILD"/tests/mpi/*; do
    [ -x "$bin" ] || continue
    for np in $NPS; do
        run_part "mpi/$(basename "$bin") -np $np" timeout 900 "$MPIRUN" -np "$np" "$bin"
    done
done
for script in tests/cli/test_*.sh; do
    run_part "cli/$(basename "$script" .sh)" bash "$script"
done
run_part "fuzz corpus replay" tests/fuzz/replay.sh "$BUILD/tests/fuzz_replay" tests/fuzz/corpus
run_part "lint" python3 tools/lint.py
run_part "lint self-test" python3 tools/lint.py --self-test

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
