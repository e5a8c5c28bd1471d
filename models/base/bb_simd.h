/* bb_simd — 8-float vectors for the hot loops (LightGCN propagation, BPR loss, Adam, top-K).
 *
 *     bb_vec8f acc = bb_splat8(0.0f);
 *     for (; c + 8 <= d; c += 8) acc += bb_load8(a + c) * bb_load8(b + c);
 *     bb_store8(out, acc);
 *
 * Why the GCC/Clang vector extension and not intrinsics: the same source compiles for every
 * target the Makefile builds (release -march=native, the AVX2 valgrind build, the sanitizer
 * builds with no AVX at all); 8 floats are one AVX register and half an AVX-512 one (Zen 4
 * runs 512-bit operations as two 256-bit halves, so nothing is lost).
 *
 * Why the bits equal the scalar code's: every lane does the IEEE operation the scalar loop
 * does (mul, add, div, sqrt, each rounded once) and nothing is contracted into an FMA — GCC
 * keeps contraction off in ISO C mode (-std=c11, see the Makefile); Clang contracts within
 * an expression by default, so the pragma below turns it off there. A vector path and its
 * scalar tail therefore give the same bits, and so do thread splits that move the boundary
 * between them.
 *
 * Why -Wpsabi is silenced: builds without AVX warn that passing a 32-byte vector by value
 * changes the ABI. Every function that does so — the helpers here and those of the files
 * that include this header — is static and inlined, so no call crosses a translation unit
 * with another convention. The pragma stays in effect for the including file on purpose.
 *
 * Loads and stores go through memcpy: no alignment is assumed (the compiler emits one
 * unaligned vector move). Include this header only from .c files.
 */
#ifndef BB_SIMD_H
#define BB_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef float bb_vec8f __attribute__((vector_size(32)));
typedef int32_t bb_vec8i __attribute__((vector_size(32))); /* lane masks of comparisons */

static inline bb_vec8f bb_load8(const float *p) {
    bb_vec8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void bb_store8(float *p, bb_vec8f v) { memcpy(p, &v, sizeof v); }

static inline bb_vec8f bb_splat8(float x) { return (bb_vec8f){x, x, x, x, x, x, x, x}; }

/* Lane-wise correctly rounded sqrt (IEEE, as sqrtf). */
static inline bb_vec8f bb_sqrt8(bb_vec8f x) {
#if defined(__AVX__)
    return (bb_vec8f)_mm256_sqrt_ps((__m256)x);
#else
    float lanes[8];
    memcpy(lanes, &x, sizeof lanes);
    for (int k = 0; k < 8; k++) lanes[k] = sqrtf(lanes[k]);
    memcpy(&x, lanes, sizeof lanes);
    return x;
#endif
}

#endif
