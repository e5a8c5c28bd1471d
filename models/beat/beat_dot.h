/* beat_dot — internal: float dot products with eight running sums, for the row kernels of
 * models/beat. Eight independent partial sums let the compiler keep them in one vector
 * register without -ffast-math (the summation order is fixed by this code, so results are
 * reproducible); the final reduction runs in a fixed order too. */
#ifndef BEAT_DOT_H
#define BEAT_DOT_H

#include <stdint.h>

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
