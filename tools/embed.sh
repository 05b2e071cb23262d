#!/bin/sh
# Writes a C file defining `const char SYMBOL[]` (the bytes of FILE plus a NUL) and
# `const size_t SYMBOL_len`: how configs/defaults.yaml and the job templates get into the binary.
# usage: tools/embed.sh SYMBOL FILE > out.c
set -e
sym=$1
file=$2
echo '#include <stddef.h>'
echo "extern const char ${sym}[];"
echo "extern const size_t ${sym}_len;"
echo "const char ${sym}[] = {"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo '0x00};'
echo "const size_t ${sym}_len = sizeof ${sym} - 1;"
