#!/usr/bin/env bash
# After `make fuzz`: lists what afl-fuzz found and how to keep it.
dir=$1
crashes=$(find "$dir" -path '*/crashes/id*' 2>/dev/null | wc -l)
hangs=$(find "$dir" -path '*/hangs/id*' 2>/dev/null | wc -l)
echo "fuzz: $crashes crashing and $hangs hanging inputs under $dir"
if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    echo "fix them, then copy each into tests/fuzz/corpus/ (with a name saying what it is) so make test replays it"
    exit 1
fi
