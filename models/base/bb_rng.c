/* bb_rng — xoshiro256** streams keyed by (seed, purpose, index). See bb_rng.h. */
#include "models/base/bb_rng.h"

#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_hash.h"

/* 64x64->128 multiply for Lemire's method; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef unsigned __int128 u128;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bb_hash64(const char *text) {
    return bb_hash_bytes(text, text ? strlen(text) : 0, BB_HASH_INIT);
}

void bb_rng_seed_indexed(bb_rng *r, uint64_t seed, const char *purpose, uint64_t index) {
    /* Each component passes through SplitMix64 before mixing, so nearby seeds or
     * indices do not give correlated states. */
    uint64_t x = seed;
    uint64_t mix = splitmix64(&x);
    x = bb_hash64(purpose) ^ mix;
    mix = splitmix64(&x);
    x = index ^ mix;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* all-zero state is a fixed point */
    r->has_spare = 0;
    r->spare_normal = 0.0;
}

void bb_rng_seed(bb_rng *r, uint64_t seed, const char *purpose) {
    bb_rng_seed_indexed(r, seed, purpose, 0);
}

uint64_t bb_rng_next(bb_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bb_rng_uniform(bb_rng *r) { return (double)(bb_rng_next(r) >> 11) * 0x1.0p-53; }

float bb_rng_uniformf(bb_rng *r) { return (float)(bb_rng_next(r) >> 40) * 0x1.0p-24f; }

uint64_t bb_rng_below(bb_rng *r, uint64_t n) {
    BB_ASSERT(n > 0, "bb_rng_below needs n > 0");
    /* Lemire's nearly-divisionless method with rejection: exact uniformity. */
    u128 m = (u128)bb_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (u128)bb_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double bb_rng_normal(bb_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare_normal;
    }
    double u1 = bb_rng_uniform(r);
    double u2 = bb_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * M_PI * u2;
    r->spare_normal = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

void bb_rng_shuffle_i32(bb_rng *r, int32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)bb_rng_below(r, i);
        int32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
