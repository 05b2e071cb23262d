# Sourced by tests/cli/test_*.sh: run a command, then assert on its exit status and output.
#   t_run CMD...                      runs it, keeps $RC and $OUT (stdout and stderr together)
#   t_expect NAME RC [TEXT...]        the last run exited with RC and printed every TEXT (fixed strings)
#   t_expect_count NAME N TEXT        TEXT appears on exactly N lines of the output
#   t_ok NAME / t_fail NAME WHY       record a result directly
#   t_finish                          prints "N passed, N failed" and exits non-zero on a failure
# $MIXPHM is the binary under test, $TMP a scratch folder removed when everything passed (unless
# KEEP_TMP=1).
set -u
MIXPHM=${MIXPHM:-./mixphm}
BUILD=${BUILD:-build/release}
MPIRUN=${MPIRUN:-mpirun}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mixphm-cli-XXXXXX")
T_PASSED=0
T_FAILED=0
RC=0
OUT=""

t_run() {
    OUT=$("$@" 2>&1)
    RC=$?
}

t_ok() {
    echo "ok - $1"
    T_PASSED=$((T_PASSED + 1))
}

t_fail() {
    echo "FAIL - $1"
    echo "    $2" >&2
    echo "    output of the last command (exit $RC):" >&2
    printf '%s\n' "$OUT" | head -60 | sed 's/^/      | /' >&2
    T_FAILED=$((T_FAILED + 1))
}

t_expect() {
    local name=$1 rc=$2
    shift 2
    if [ "$RC" != "$rc" ]; then
        t_fail "$name" "expected exit status $rc, got $RC"
        return
    fi
    local text
    for text in "$@"; do
        if ! grep -qF -- "$text" <<<"$OUT"; then
            t_fail "$name" "expected to see: $text"
            return
        fi
    done
    t_ok "$name"
}

t_expect_count() {
    local name=$1 n=$2 text=$3 got
    got=$(grep -cF -- "$text" <<<"$OUT")
    if [ "$got" != "$n" ]; then
        t_fail "$name" "expected '$text' on $n line(s), found $got"
    else
        t_ok "$name"
    fi
}

t_finish() {
    echo "$T_PASSED passed, $T_FAILED failed"
    if [ "$T_FAILED" = 0 ]; then
        [ "${KEEP_TMP:-0}" = 1 ] && echo "    (KEEP_TMP: files kept in $TMP)" >&2 || rm -rf "$TMP"
        exit 0
    fi
    echo "    (files kept in $TMP)" >&2
    exit 1
}
