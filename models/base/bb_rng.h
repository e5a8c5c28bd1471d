/* bb_rng — the one random number generator of beatbench.
 *
 * Generator: xoshiro256** (Blackman & Vigna, 2018), 256-bit state, period 2^256-1.
 * Streams: every random stream is derived from (seed, purpose[, index]): the purpose
 * string is hashed with FNV-1a 64, mixed with the seed and the index, and expanded into
 * the state with SplitMix64. Distinct purposes give statistically independent streams, so
 * e.g. the split ("split"), the negatives ("negatives/epoch") and the LM init ("lm/init")
 * never share numbers, and every method sees the same split for a given seed.
 *
 * Never use rand(). The state is passed by pointer; there is no global state.
 *
 * API
 *   bb_rng_seed(r, seed, purpose)               stream for (seed, purpose)
 *   bb_rng_seed_indexed(r, seed, purpose, idx)  per-thread / per-epoch sub-stream
 *   bb_rng_next(r)         uniform uint64
 *   bb_rng_uniform(r)      double in [0, 1) with 53 random bits
 *   bb_rng_uniformf(r)     float in [0, 1) with 24 random bits
 *   bb_rng_below(r, n)     uniform integer in [0, n), unbiased (Lemire's method); n > 0
 *   bb_rng_normal(r)       standard normal (Box–Muller, both values used in turn)
 *   bb_rng_shuffle_i32(r, a, n)  Fisher–Yates
 */
#ifndef BB_RNG_H
#define BB_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bb_rng {
    uint64_t s[4];
    double spare_normal;
    int has_spare;
} bb_rng;

uint64_t bb_hash64(const char *text);
void bb_rng_seed(bb_rng *r, uint64_t seed, const char *purpose);
void bb_rng_seed_indexed(bb_rng *r, uint64_t seed, const char *purpose, uint64_t index);
uint64_t bb_rng_next(bb_rng *r);
double bb_rng_uniform(bb_rng *r);
float bb_rng_uniformf(bb_rng *r);
uint64_t bb_rng_below(bb_rng *r, uint64_t n);
double bb_rng_normal(bb_rng *r);
void bb_rng_shuffle_i32(bb_rng *r, int32_t *a, size_t n);

#endif
