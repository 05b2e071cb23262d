#include "nn/blas_env.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

const char *blas_core_name(void)
{
    return openblas_get_corename();
}

int blas_threads(void)
{
    return openblas_get_num_threads();
}

void blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}

int blas_core_warning(char *out, size_t n)
{
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0)
        return 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : NULL;
    if (!want)
        return 0;
    snprintf(out, n,
             "OpenBLAS is using its generic Prescott kernels on a CPU with %s (about 5x slower); "
             "start mixphm with OPENBLAS_CORETYPE=%s in the environment (the Makefile targets and job "
             "templates do this when it is unset)",
             strcmp(want, "SkylakeX") == 0 ? "AVX-512" : "AVX2", want);
    return 1;
#else
    (void)out;
    (void)n;
    return 0;
#endif
}
