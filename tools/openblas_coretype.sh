#!/bin/sh
# Prints the OPENBLAS_CORETYPE that suits this CPU (SkylakeX with AVX-512, Haswell with AVX2), or
# nothing.  Debian's OpenBLAS 0.3.21 misdetects some recent CPUs as Prescott and runs its SSE3 kernels
# about 5x slower; OpenBLAS reads the variable only at load time, so launchers set it beforehand:
#   [ -n "${OPENBLAS_CORETYPE+set}" ] || export OPENBLAS_CORETYPE="$(tools/openblas_coretype.sh)"
# (a value that is already set, even empty, is never replaced).
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
case " $flags " in
  *" avx512f "*) echo SkylakeX ;;
  *" avx2 "*) echo Haswell ;;
esac
