/* Which instruction set the running CPU offers, for choosing the kernel build at run time.
   Header only: compiler builtins (cpuid.h), no library behind it. */
#ifndef LSTM_CCPU_H
#define LSTM_CCPU_H

#if defined(__x86_64__)
#include <cpuid.h>

/* 1 when the CPU and the operating system support everything `-target-cpu haswell` may emit:
   AVX2, FMA, F16C, BMI1, BMI2, LZCNT, MOVBE, POPCNT, and the OS saving YMM registers (XCR0). */
static inline int lstm_cpu_has_haswell_features(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned leaf1 = (1u << 12) /* FMA */ | (1u << 22) /* MOVBE */ | (1u << 23) /* POPCNT */ |
                           (1u << 27) /* OSXSAVE */ | (1u << 28) /* AVX */ | (1u << 29) /* F16C */;
    if ((c & leaf1) != leaf1) return 0;
    unsigned xcr0lo, xcr0hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0lo), "=d"(xcr0hi) : "c"(0));
    (void)xcr0hi;
    if ((xcr0lo & 6u) != 6u) return 0; /* XMM and YMM state enabled */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned leaf7 = (1u << 3) /* BMI1 */ | (1u << 5) /* AVX2 */ | (1u << 8) /* BMI2 */;
    if ((b & leaf7) != leaf7) return 0;
    if (!__get_cpuid(0x80000001u, &a, &b, &c, &d)) return 0;
    return (c & (1u << 5)) != 0; /* LZCNT (ABM) */
}

/* 1 when the CPU and the operating system support everything `-target-cpu skylake-avx512` may
   emit: the Haswell set above, AVX-512 F, DQ, CD, BW and VL (and the CLWB, CLFLUSHOPT and ADX
   that CPU has), and the OS saving the opmask and all 32 ZMM registers (XCR0 bits 5-7). */
static inline int lstm_cpu_has_avx512_features(void) {
    if (!lstm_cpu_has_haswell_features()) return 0;
    unsigned a, b, c, d;
    unsigned xcr0lo, xcr0hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0lo), "=d"(xcr0hi) : "c"(0));
    (void)xcr0hi;
    if ((xcr0lo & 0xE6u) != 0xE6u) return 0; /* XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned leaf7 = (1u << 16) /* AVX512F */ | (1u << 17) /* DQ */ | (1u << 19) /* ADX */ |
                           (1u << 23) /* CLFLUSHOPT */ | (1u << 24) /* CLWB */ | (1u << 28) /* CD */ |
                           (1u << 30) /* BW */ | (1u << 31) /* VL */;
    return (b & leaf7) == leaf7;
}
#else
static inline int lstm_cpu_has_haswell_features(void) { return 0; }
static inline int lstm_cpu_has_avx512_features(void) { return 0; }
#endif

#endif
