/* lm_hash — open-addressing hash tables for the BPE tokenizer (see lm_hash.h). */
#include "models/lm/lm_hash.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

/* SplitMix64 finaliser: spreads the bits of pair keys, whose halves are small ids. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t lm_hash_bytes(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    /* Eight bytes at a time keeps the per-chunk cost low in the encoder's cache lookups. */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    h = mix64(h ^ (uint64_t)len);
    return h ? h : 1;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* ---- uint64 -> int64 ------------------------------------------------------------------- */

void lm_u64map_init(lm_u64map *m, size_t expected) {
    m->cap = pow2_at_least(expected * 2 + 1);
    m->n = 0;
    m->keys = bb_malloc(m->cap * sizeof *m->keys);
    m->vals = bb_malloc(m->cap * sizeof *m->vals);
    m->used = bb_calloc(m->cap, 1);
}

void lm_u64map_free(lm_u64map *m) {
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

static size_t u64_find(const lm_u64map *m, uint64_t key) {
    size_t mask = m->cap - 1, i = (size_t)mix64(key) & mask;
    while (m->used[i] && m->keys[i] != key) i = (i + 1) & mask;
    return i;
}

int lm_u64map_get(const lm_u64map *m, uint64_t key, int64_t *val) {
    if (!m->cap) return 0;
    size_t i = u64_find(m, key);
    if (!m->used[i]) return 0;
    if (val) *val = m->vals[i];
    return 1;
}

static void u64_grow(lm_u64map *m) {
    lm_u64map bigger;
    bigger.cap = m->cap * 2;
    bigger.n = 0;
    bigger.keys = bb_malloc(bigger.cap * sizeof *bigger.keys);
    bigger.vals = bb_malloc(bigger.cap * sizeof *bigger.vals);
    bigger.used = bb_calloc(bigger.cap, 1);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i]) continue;
        size_t j = u64_find(&bigger, m->keys[i]);
        bigger.used[j] = 1;
        bigger.keys[j] = m->keys[i];
        bigger.vals[j] = m->vals[i];
        bigger.n++;
    }
    lm_u64map_free(m);
    *m = bigger;
}

int64_t *lm_u64map_upsert(lm_u64map *m, uint64_t key, int64_t init, int *added) {
    if (!m->cap) lm_u64map_init(m, 16);
    size_t i = u64_find(m, key);
    if (m->used[i]) {
        if (added) *added = 0;
        return &m->vals[i];
    }
    if ((m->n + 1) * 2 > m->cap) {
        u64_grow(m);
        i = u64_find(m, key);
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = init;
    m->n++;
    if (added) *added = 1;
    return &m->vals[i];
}

/* ---- bytes -> int64 --------------------------------------------------------------------- */

void lm_strmap_init(lm_strmap *m, size_t expected) {
    m->cap = pow2_at_least(expected * 2 + 1);
    m->n = 0;
    m->hashes = bb_calloc(m->cap, sizeof *m->hashes);
    m->key_off = bb_malloc(m->cap * sizeof *m->key_off);
    m->key_len = bb_malloc(m->cap * sizeof *m->key_len);
    m->vals = bb_malloc(m->cap * sizeof *m->vals);
    m->blob_cap = 4096;
    m->blob_len = 0;
    m->blob = bb_malloc(m->blob_cap);
}

void lm_strmap_free(lm_strmap *m) {
    free(m->hashes);
    free(m->key_off);
    free(m->key_len);
    free(m->vals);
    free(m->blob);
    memset(m, 0, sizeof *m);
}

static size_t str_find(const lm_strmap *m, uint64_t h, const void *key, size_t len) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->hashes[i]) {
        if (m->hashes[i] == h && m->key_len[i] == len &&
            memcmp(m->blob + m->key_off[i], key, len) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

int lm_strmap_get(const lm_strmap *m, const void *key, size_t len, int64_t *val) {
    if (!m->cap) return 0;
    size_t i = str_find(m, lm_hash_bytes(key, len), key, len);
    if (!m->hashes[i]) return 0;
    if (val) *val = m->vals[i];
    return 1;
}

static void str_grow(lm_strmap *m) {
    size_t cap = m->cap * 2, mask = cap - 1;
    uint64_t *hashes = bb_calloc(cap, sizeof *hashes);
    size_t *key_off = bb_malloc(cap * sizeof *key_off);
    uint32_t *key_len = bb_malloc(cap * sizeof *key_len);
    int64_t *vals = bb_malloc(cap * sizeof *vals);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->hashes[i]) continue;
        size_t j = (size_t)m->hashes[i] & mask;
        while (hashes[j]) j = (j + 1) & mask;
        hashes[j] = m->hashes[i];
        key_off[j] = m->key_off[i];
        key_len[j] = m->key_len[i];
        vals[j] = m->vals[i];
    }
    free(m->hashes);
    free(m->key_off);
    free(m->key_len);
    free(m->vals);
    m->hashes = hashes;
    m->key_off = key_off;
    m->key_len = key_len;
    m->vals = vals;
    m->cap = cap;
}

int64_t *lm_strmap_upsert(lm_strmap *m, const void *key, size_t len, int64_t init, int *added) {
    BB_ASSERT(len <= UINT32_MAX, "lm_strmap keys are limited to 4 GiB, got %zu bytes", len);
    if (!m->cap) lm_strmap_init(m, 16);
    uint64_t h = lm_hash_bytes(key, len);
    size_t i = str_find(m, h, key, len);
    if (m->hashes[i]) {
        if (added) *added = 0;
        return &m->vals[i];
    }
    if ((m->n + 1) * 2 > m->cap) {
        str_grow(m);
        i = str_find(m, h, key, len);
    }
    if (m->blob_len + len > m->blob_cap) {
        while (m->blob_len + len > m->blob_cap) m->blob_cap *= 2;
        m->blob = bb_realloc(m->blob, m->blob_cap);
    }
    memcpy(m->blob + m->blob_len, key, len);
    m->hashes[i] = h;
    m->key_off[i] = m->blob_len;
    m->key_len[i] = (uint32_t)len;
    m->vals[i] = init;
    m->blob_len += len;
    m->n++;
    if (added) *added = 1;
    return &m->vals[i];
}

const char *lm_strmap_key(const lm_strmap *m, size_t slot, size_t *len) {
    if (slot >= m->cap || !m->hashes[slot]) return NULL;
    *len = m->key_len[slot];
    return m->blob + m->key_off[slot];
}
