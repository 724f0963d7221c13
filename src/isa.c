/*
 * isa.c - which copy of the row kernel's vector loops runs: the best the
 * processor supports, or the one the configuration asks for (nb_config.isa;
 * the program takes it from NB_ISA).  Chosen once, at set-up.
 *
 * Every copy computes the same terms in the same order; the copies for
 * x86-64-v3 and v4 fuse multiply-adds where the compiler finds them (the
 * loops are compiled with -ffp-contract=fast), the baseline has no fused
 * multiply-add.  See docs/deviations.md for what that changes.
 */
#include "row_loops.h"

#if defined(NB_ISA_VARIANTS) && (defined(__GNUC__) || defined(__clang__))
/* The features the compiler may use under -march=x86-64-v3 / -v4 that
   __builtin_cpu_supports can test in both gcc and clang. */
static int cpu_has_v3(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
           && __builtin_cpu_supports("bmi2");
}

static int cpu_has_v4(void)
{
    return cpu_has_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx512vl");
}
#endif

const nbi_row_loops *nbi_row_loops_for(nb_isa isa)
{
#if defined(NB_ISA_VARIANTS) && (defined(__GNUC__) || defined(__clang__))
    switch (isa) {
    case NB_ISA_AUTO:
        return cpu_has_v4() ? &nbi_row_loops_v4 : cpu_has_v3() ? &nbi_row_loops_v3 : &nbi_row_loops_baseline;
    case NB_ISA_AVX512:
        return cpu_has_v4() ? &nbi_row_loops_v4 : NULL;
    case NB_ISA_AVX2:
        return cpu_has_v3() ? &nbi_row_loops_v3 : NULL;
    case NB_ISA_BASELINE:
        return &nbi_row_loops_baseline;
    }
    return NULL;
#else
    return isa == NB_ISA_AUTO || isa == NB_ISA_BASELINE ? &nbi_row_loops_baseline : NULL;
#endif
}

/* Contract in nanobragg.h. */
const char *nb_kernel_isa(void)
{
    return nbi_row_loops_for(NB_ISA_AUTO)->isa;
}

/* Contract in nanobragg.h. */
int nb_isa_available(nb_isa isa)
{
    return nbi_row_loops_for(isa) != NULL;
}

/* Contract in nanobragg.h. */
const char *nb_isa_name(nb_isa isa)
{
    static const char *const names[] = {"auto", "baseline", "avx2", "avx512"};
    return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : NULL;
}
