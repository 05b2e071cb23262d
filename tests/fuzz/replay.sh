#!/usr/bin/env bash
# Replays every input of the fuzz corpus through the sanitised loader: each must end in an error
# message or a valid config, without a crash, a leak (LeakSanitizer) or a hang (10 s).
set -u
bin=$1
corpus=$2
passed=0
failed=0
for f in "$corpus"/*; do
    [ -f "$f" ] || continue
    out=$(ASAN_OPTIONS=detect_leaks=1 timeout 10 "$bin" "$f" 2>&1)
    rc=$?
    if [ $rc = 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL - $(basename "$f") (exit $rc$([ $rc = 124 ] && echo ', hung'))"
        printf '%s\n' "$out" | head -20 | sed 's/^/    /'
    fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
