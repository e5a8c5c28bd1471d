/* beat_dot — internal: float dot products with eight running sums, for the row kernels of
 * models/beat. Thirty-two independent partial sums (four 8-float vectors) keep the adds
 * pipelined without -ffast-math (the summation order is fixed by this code, so results are
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

/* Four vectors of eight running sums: independent add chains (one vector's chain would
 * wait on the add latency every 8 floats); lanes and vectors are reduced in a fixed order. */
static inline float beat_hsum8(bb_vec8f v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

static inline float beat_dot(const float *a, const float *b, int64_t n) {
    bb_vec8f s0 = bb_splat8(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 += bb_load8(a + i) * bb_load8(b + i);
        s1 += bb_load8(a + i + 8) * bb_load8(b + i + 8);
        s2 += bb_load8(a + i + 16) * bb_load8(b + i + 16);
        s3 += bb_load8(a + i + 24) * bb_load8(b + i + 24);
    }
    for (; i + 8 <= n; i += 8) s0 += bb_load8(a + i) * bb_load8(b + i);
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * b[i];
    return beat_hsum8((s0 + s1) + (s2 + s3)) + tail;
}

/* sum of (a - b)^2 */
static inline float beat_sqdist(const float *a, const float *b, int64_t n) {
    bb_vec8f s0 = bb_splat8(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const bb_vec8f e0 = bb_load8(a + i) - bb_load8(b + i);
        const bb_vec8f e1 = bb_load8(a + i + 8) - bb_load8(b + i + 8);
        const bb_vec8f e2 = bb_load8(a + i + 16) - bb_load8(b + i + 16);
        const bb_vec8f e3 = bb_load8(a + i + 24) - bb_load8(b + i + 24);
        s0 += e0 * e0, s1 += e1 * e1, s2 += e2 * e2, s3 += e3 * e3;
    }
    for (; i + 8 <= n; i += 8) {
        const bb_vec8f e = bb_load8(a + i) - bb_load8(b + i);
        s0 += e * e;
    }
    float tail = 0.0f;
    for (; i < n; i++) tail += (a[i] - b[i]) * (a[i] - b[i]);
    return beat_hsum8((s0 + s1) + (s2 + s3)) + tail;
}

#endif
