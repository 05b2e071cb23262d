#!/usr/bin/env bash
# Regenerates kshot_fixture.json: k-shot train/dev positions from the project's reference
# (tests/reference/kshot_split_reference.py, which first checks itself against CPython's
# random.shuffle).
#   tests/data/make_kshot_fixture.sh
set -euo pipefail
cd "$(dirname "$0")"
REF=../reference/kshot_split_reference.py
PY=${PYTHON:-/usr/bin/python3}
"$PY" "$REF" --selftest >&2
{
    echo '['
    first=1
    for n in 10 33 1000 9009 65537 443757; do
        for seed in 13 21 42 87 100 0 1 4294967301; do
            for k in 3 16 100 1000; do
                [ $((2 * k)) -le "$n" ] || continue
                # the big pools: k = 16 for every seed, k = 1000 for one
                [ "$n" -lt 65537 ] || [ "$k" -eq 16 ] || { [ "$k" -eq 1000 ] && [ "$seed" -eq 13 ]; } || continue
                [ "$first" = 1 ] || echo ','
                first=0
                "$PY" "$REF" --n "$n" --k "$k" --seed "$seed"
            done
        done
    done
    echo ']'
} >kshot_fixture.json
echo "wrote $(pwd)/kshot_fixture.json" >&2
