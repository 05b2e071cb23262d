/* What the BLAS library is doing: its thread count and the CPU kernels it picked.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) misdetects some recent CPUs as "Prescott" and then runs SSE3
 * kernels about 5x slower than it could.  The environment variable OPENBLAS_CORETYPE fixes that, but
 * only when it is set before the process starts (OpenBLAS reads it in its load-time constructor): the
 * launchers set it, and the binary warns when it still sees Prescott on a CPU with AVX2 or AVX-512. */
#ifndef MIXPHM_NN_BLAS_ENV_H
#define MIXPHM_NN_BLAS_ENV_H

#include <stddef.h>

const char *blas_core_name(void);
int blas_threads(void);
void blas_set_threads(int n);
/* Writes a warning and returns 1 when OpenBLAS uses the Prescott kernels on a CPU that has AVX2 or
 * AVX-512F; returns 0 otherwise. */
int blas_core_warning(char *out, size_t n);

#endif
