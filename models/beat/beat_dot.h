/* beat_dot — internal: float dot products with eight running sums, for the row kernels of
 * models/beat. Eight independent partial sums let the compiler keep them in one vector
 * register without -ffast-math (the summation order is fixed by this code, so results are
 * reproducible); the final reduction runs in a fixed order too.
 *
 * And the element-wise row loops of those kernels, written with 8-float vectors
 * (models/base/bb_simd.h): at -O2, GCC 12 vectorises a loop only when its trip count is
 * known, so `for (c = 0; c < d; c++) y[c] += a * x[c]` over a runtime width ran one float
 * at a time. Each lane does the scalar loop's operations in the same order, so the bits are
 * those of the scalar loops. Include from .c files only. */
#ifndef BEAT_DOT_H
#define BEAT_DOT_H

#include <stdint.h>

#include "models/base/bb_simd.h"

/* y += a x */
static inline void beat_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    const bb_vec8f av = bb_splat8(a);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) bb_store8(y + c, bb_load8(y + c) + av * bb_load8(x + c));
    for (; c < n; c++) y[c] += a * x[c];
}

/* y = a x */
static inline void beat_scale_to(float *restrict y, float a, const float *restrict x, int64_t n) {
    const bb_vec8f av = bb_splat8(a);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) bb_store8(y + c, av * bb_load8(x + c));
    for (; c < n; c++) y[c] = a * x[c];
}

/* x *= a (in place) */
static inline void beat_scale(float *x, float a, int64_t n) {
    const bb_vec8f av = bb_splat8(a);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) bb_store8(x + c, bb_load8(x + c) * av);
    for (; c < n; c++) x[c] *= a;
}

/* y += x */
static inline void beat_add(float *restrict y, const float *restrict x, int64_t n) {
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) bb_store8(y + c, bb_load8(y + c) + bb_load8(x + c));
    for (; c < n; c++) y[c] += x[c];
}

static inline float beat_dot(const float *a, const float *b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) +
           tail;
}

/* sum of (a - b)^2 */
static inline float beat_sqdist(const float *a, const float *b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            float e = a[i + k] - b[i + k];
            acc[k] += e * e;
        }
    float tail = 0.0f;
    for (; i < n; i++) tail += (a[i] - b[i]) * (a[i] - b[i]);
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) +
           tail;
}

#endif
