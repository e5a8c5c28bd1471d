/* pairset — see pairset.h. */
#include "datasets/pairset.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

#define EMPTY_KEY UINT64_MAX /* (user, item) = (-1, -1) never occurs */

static uint64_t pair_key(int32_t user, int32_t item) {
    return ((uint64_t)(uint32_t)user << 32) | (uint32_t)item;
}

/* SplitMix64's finaliser: spreads consecutive ids over the whole table. */
static uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void alloc_table(bb_pairset *s, size_t cap) {
    s->cap = cap;
    s->keys = bb_malloc(cap * sizeof *s->keys);
    s->values = bb_malloc(cap * sizeof *s->values);
    memset(s->keys, 0xff, cap * sizeof *s->keys);
}

void bb_pairset_init(bb_pairset *s, size_t expected_n) {
    size_t cap = 16;
    while (cap < 2 * expected_n) cap *= 2;
    s->n = 0;
    alloc_table(s, cap);
}

void bb_pairset_free(bb_pairset *s) {
    free(s->keys);
    free(s->values);
    memset(s, 0, sizeof *s);
}

static size_t probe(const bb_pairset *s, uint64_t key) {
    size_t mask = s->cap - 1, h = (size_t)mix(key) & mask;
    while (s->keys[h] != EMPTY_KEY && s->keys[h] != key) h = (h + 1) & mask;
    return h;
}

static void grow(bb_pairset *s) {
    uint64_t *old_keys = s->keys;
    uint32_t *old_values = s->values;
    size_t old_cap = s->cap;
    alloc_table(s, 2 * old_cap);
    for (size_t k = 0; k < old_cap; k++) {
        if (old_keys[k] == EMPTY_KEY) continue;
        size_t h = probe(s, old_keys[k]);
        s->keys[h] = old_keys[k];
        s->values[h] = old_values[k];
    }
    free(old_keys);
    free(old_values);
}

int bb_pairset_insert(bb_pairset *s, int32_t user, int32_t item, uint32_t value,
                      uint32_t **slot) {
    if (2 * (s->n + 1) > s->cap) grow(s);
    uint64_t key = pair_key(user, item);
    size_t h = probe(s, key);
    int fresh = s->keys[h] == EMPTY_KEY;
    if (fresh) {
        s->keys[h] = key;
        s->values[h] = value;
        s->n++;
    }
    if (slot) *slot = &s->values[h];
    return fresh;
}

uint32_t *bb_pairset_find(const bb_pairset *s, int32_t user, int32_t item) {
    size_t h = probe(s, pair_key(user, item));
    return s->keys[h] == EMPTY_KEY ? NULL : &s->values[h];
}
