/* ngram_count — open-addressing table of reference n-grams with max counts.
 * See ngram_count.h. */
#include "metrics/ngram_count.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

typedef struct slot {
    uint64_t hash;
    const int32_t *ids; /* first token of the n-gram inside a reference */
    uint32_t gen;       /* slot is live when gen == table gen */
    int32_t order;
    int32_t ref;   /* reference that `current` counts */
    int32_t current; /* count in that reference */
    int32_t avail;   /* max count over references, then what the hypothesis may still use */
} slot;

/* Packed mode: the n-gram itself is the key. */
typedef struct packed_slot {
    uint64_t key;
    uint32_t gen;
    int32_t ref, current, avail;
} packed_slot;

/* Small-id mode: the hypothesis' bigrams, packed (a + 1) << 16 | (b + 1). */
typedef struct bigram_slot {
    uint32_t key;
    uint32_t gen;
} bigram_slot;

struct ngram_table {
    slot *slots;
    size_t mask;
    packed_slot *packed;
    size_t packed_mask;
    bigram_slot *bigrams;
    size_t bigram_mask;
    int32_t *uni_max, *uni_cur, *uni_ref; /* per id: max count, count in uni_ref's reference */
    size_t uni_cap;
    uint32_t gen;
    int max_order;
    int refs;
    size_t live; /* slots in use in the current mode's table */
    int bits; /* packed mode: bits per token; 0 = hashed mode */
};

ngram_table *ngram_table_create(void) {
    ngram_table *t = bb_calloc(1, sizeof *t);
    t->mask = 255;
    t->slots = bb_calloc(t->mask + 1, sizeof *t->slots);
    t->packed_mask = 255;
    t->packed = bb_calloc(t->packed_mask + 1, sizeof *t->packed);
    t->gen = 1;
    return t;
}

void ngram_table_free(ngram_table *t) {
    if (!t) return;
    free(t->slots);
    free(t->packed);
    free(t->bigrams);
    free(t->uni_max);
    free(t->uni_cur);
    free(t->uni_ref);
    free(t);
}

void ngram_table_reset(ngram_table *t, int max_order, size_t expected, uint64_t id_bound) {
    BB_ASSERT(max_order >= 1 && max_order <= NGRAM_MAX_ORDER, "n-gram order %d out of 1..%d",
              max_order, NGRAM_MAX_ORDER);
    t->max_order = max_order;
    t->refs = 0;
    t->live = 0;
    int bits = 64 / max_order;
    /* ids are stored as id + 1, which must fit in `bits` bits */
    t->bits = id_bound > 0 && (bits >= 33 || id_bound < ((uint64_t)1 << bits)) ? bits : 0;
    if (t->bits > 32) t->bits = 32;
    size_t want = 2 * (expected + 1); /* load at most 1/2 */
    int grown = 0;
    if (t->bits && want > t->packed_mask + 1) {
        size_t cap = t->packed_mask + 1;
        while (cap < want) cap *= 2;
        free(t->packed);
        t->packed = bb_calloc(cap, sizeof *t->packed);
        t->packed_mask = cap - 1;
        grown = 1;
    }
    if (!t->bits && want > t->mask + 1) {
        size_t cap = t->mask + 1;
        while (cap < want) cap *= 2;
        free(t->slots);
        t->slots = bb_calloc(cap, sizeof *t->slots);
        t->mask = cap - 1;
        grown = 1;
    }
    if (++t->gen == 0 || grown) { /* wrapped (once every 2^32 resets) or fresh: clear */
        /* every array stamped with gen must be cleared, or stale slots would look live */
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
        memset(t->packed, 0, (t->packed_mask + 1) * sizeof *t->packed);
        if (t->bigrams) memset(t->bigrams, 0, (t->bigram_mask + 1) * sizeof *t->bigrams);
        t->gen = 1;
    }
}

static inline size_t packed_index(uint64_t key, size_t mask) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & mask;
}

/* Doubles a table whose load passed one half (`expected` at reset is only a hint). Live
 * slots are re-inserted with their stamps; the other stamped arrays are untouched. */
static void grow_packed(ngram_table *t) {
    size_t cap = 2 * (t->packed_mask + 1);
    packed_slot *fresh = bb_calloc(cap, sizeof *fresh);
    for (size_t i = 0; i <= t->packed_mask; i++) {
        const packed_slot *s = &t->packed[i];
        if (s->gen != t->gen) continue;
        size_t j = packed_index(s->key, cap - 1);
        while (fresh[j].gen == t->gen) j = (j + 1) & (cap - 1);
        fresh[j] = *s;
    }
    free(t->packed);
    t->packed = fresh;
    t->packed_mask = cap - 1;
}

static packed_slot *packed_find(ngram_table *t, uint64_t key, int insert) {
    if (insert && 2 * (t->live + 1) > t->packed_mask + 1) grow_packed(t);
    size_t i = packed_index(key, t->packed_mask);
    for (;;) {
        packed_slot *s = &t->packed[i];
        if (s->gen != t->gen) {
            if (!insert) return NULL;
            t->live++;
            s->gen = t->gen;
            s->key = key;
            s->ref = -1;
            s->current = 0;
            s->avail = 0;
            return s;
        }
        if (s->key == key) return s;
        i = (i + 1) & t->packed_mask;
    }
}

static inline uint64_t mix_token(uint64_t h, int32_t id) {
    h = (h ^ (uint32_t)id) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

static inline uint64_t finish(uint64_t h, int order) {
    h = (h + (uint64_t)order) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
}

static void grow_slots(ngram_table *t) {
    size_t cap = 2 * (t->mask + 1);
    slot *fresh = bb_calloc(cap, sizeof *fresh);
    for (size_t i = 0; i <= t->mask; i++) {
        const slot *s = &t->slots[i];
        if (s->gen != t->gen) continue;
        size_t j = (size_t)(s->hash >> 7) & (cap - 1);
        while (fresh[j].gen == t->gen) j = (j + 1) & (cap - 1);
        fresh[j] = *s;
    }
    free(t->slots);
    t->slots = fresh;
    t->mask = cap - 1;
}

static slot *find(ngram_table *t, const int32_t *ids, int order, uint64_t h, int insert) {
    if (insert && 2 * (t->live + 1) > t->mask + 1) grow_slots(t);
    size_t i = (size_t)(h >> 7) & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (s->gen != t->gen) {
            if (!insert) return NULL;
            t->live++;
            s->gen = t->gen;
            s->hash = h;
            s->ids = ids;
            s->order = order;
            s->ref = -1;
            s->current = 0;
            s->avail = 0;
            return s;
        }
        if (s->hash == h && s->order == order) {
            int same = 1;
            for (int k = 0; k < order && same; k++) same = s->ids[k] == ids[k];
            if (same) return s;
        }
        i = (i + 1) & t->mask;
    }
}

void ngram_table_add_ref(ngram_table *t, const int32_t *ids, size_t len) {
    int ref = t->refs++;
    if (t->bits) {
        for (size_t i = 0; i < len; i++) {
            uint64_t key = 0;
            for (int k = 0; k < t->max_order && i + (size_t)k < len; k++) {
                uint64_t id1 = (uint64_t)(uint32_t)ids[i + (size_t)k] + 1;
                BB_ASSERT(id1 < ((uint64_t)1 << t->bits), "n-gram id %llu beyond the bound given "
                          "to ngram_table_reset", (unsigned long long)id1 - 1);
                key = (key << t->bits) | id1;
                packed_slot *s = packed_find(t, key, 1);
                if (s->ref != ref) {
                    s->ref = ref;
                    s->current = 0;
                }
                if (++s->current > s->avail) s->avail = s->current;
            }
        }
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (int k = 0; k < t->max_order && i + (size_t)k < len; k++) {
            h = mix_token(h, ids[i + (size_t)k]);
            slot *s = find(t, ids + i, k + 1, finish(h, k + 1), 1);
            if (s->ref != ref) {
                s->ref = ref;
                s->current = 0;
            }
            if (++s->current > s->avail) s->avail = s->current;
        }
    }
}

void ngram_table_match(ngram_table *t, const int32_t *ids, size_t len, int64_t *matches) {
    for (int k = 0; k < t->max_order; k++) matches[k] = 0;
    if (t->bits) {
        uint64_t limit = ((uint64_t)1 << t->bits) - 1; /* larger ids are in no reference */
        for (size_t i = 0; i < len; i++) {
            uint64_t key = 0;
            for (int k = 0; k < t->max_order && i + (size_t)k < len; k++) {
                uint64_t id1 = (uint64_t)(uint32_t)ids[i + (size_t)k] + 1;
                if (id1 > limit) break;
                key = (key << t->bits) | id1;
                packed_slot *s = packed_find(t, key, 0);
                if (!s) break;
                if (s->avail > 0) {
                    s->avail--;
                    matches[k]++;
                }
            }
        }
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (int k = 0; k < t->max_order && i + (size_t)k < len; k++) {
            h = mix_token(h, ids[i + (size_t)k]);
            slot *s = find(t, ids + i, k + 1, finish(h, k + 1), 0);
            /* an n-gram absent from the references has no longer extension there either */
            if (!s) break;
            if (s->avail > 0) {
                s->avail--;
                matches[k]++;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Small ids                                                                            */

static inline uint32_t bigram_key(int32_t a, int32_t b) {
    return ((uint32_t)(a + 1) << 16) | (uint32_t)(b + 1);
}

static inline size_t bigram_index(uint32_t key, size_t mask) {
    return (size_t)((key * 0x9E3779B1u) >> 8) & mask;
}

static int bigram_has(const ngram_table *t, uint32_t key) {
    size_t i = bigram_index(key, t->bigram_mask);
    for (;;) {
        const bigram_slot *s = &t->bigrams[i];
        if (s->gen != t->gen) return 0;
        if (s->key == key) return 1;
        i = (i + 1) & t->bigram_mask;
    }
}

static void bigram_add(ngram_table *t, uint32_t key) {
    size_t i = bigram_index(key, t->bigram_mask);
    for (;;) {
        bigram_slot *s = &t->bigrams[i];
        if (s->gen != t->gen) {
            s->gen = t->gen;
            s->key = key;
            return;
        }
        if (s->key == key) return;
        i = (i + 1) & t->bigram_mask;
    }
}

/* Pairs of ids below this bound use bitmaps of id x id bits for the bigram tests. */
#define BITMAP_IDS 128

static inline int bit_get(const uint64_t *bits, size_t k) { return (int)((bits[k >> 6] >> (k & 63)) & 1); }
static inline void bit_set(uint64_t *bits, size_t k) { bits[k >> 6] |= (uint64_t)1 << (k & 63); }

void ngram_clip_small(ngram_table *t, int max_order, const int32_t *hyp, size_t hyp_len,
                      const int32_t *const *refs, const size_t *ref_lens, size_t n_refs,
                      uint32_t id_bound, int64_t *matches) {
    BB_ASSERT(id_bound <= NGRAM_SMALL_IDS && max_order <= 4, "ngram_clip_small: ids below %u "
              "and orders up to 4 only (got %u, %d)", NGRAM_SMALL_IDS, id_bound, max_order);
    size_t ref_total = 0;
    for (size_t r = 0; r < n_refs; r++) ref_total += ref_lens[r];
    ngram_table_reset(t, max_order, ref_total * (size_t)max_order, id_bound);
    for (int k = 0; k < max_order; k++) matches[k] = 0;

    /* unigrams: arrays indexed by id */
    if (id_bound > t->uni_cap) {
        t->uni_cap = 2 * (size_t)id_bound;
        t->uni_max = bb_realloc(t->uni_max, t->uni_cap * sizeof *t->uni_max);
        t->uni_cur = bb_realloc(t->uni_cur, t->uni_cap * sizeof *t->uni_cur);
        t->uni_ref = bb_realloc(t->uni_ref, t->uni_cap * sizeof *t->uni_ref);
    }
    for (uint32_t id = 0; id < id_bound; id++) t->uni_max[id] = 0, t->uni_ref[id] = -1;
    for (size_t r = 0; r < n_refs; r++)
        for (size_t i = 0; i < ref_lens[r]; i++) {
            int32_t id = refs[r][i];
            if (t->uni_ref[id] != (int32_t)r) t->uni_ref[id] = (int32_t)r, t->uni_cur[id] = 0;
            if (++t->uni_cur[id] > t->uni_max[id]) t->uni_max[id] = t->uni_cur[id];
        }
    for (size_t i = 0; i < hyp_len; i++)
        if (t->uni_max[hyp[i]] > 0) {
            t->uni_max[hyp[i]]--;
            matches[0]++;
        }
    if (max_order < 2 || hyp_len < 2) return;

    /* Which bigrams the hypothesis has (in_hyp), and which of those a reference has too
     * (shared): bitmaps for few ids, else the hash set (shared is then not needed: the
     * n-gram table answers it). */
    int bitmap = id_bound <= BITMAP_IDS;
    size_t words = ((size_t)id_bound * id_bound + 63) / 64;
    uint64_t in_hyp[BITMAP_IDS * BITMAP_IDS / 64], shared[BITMAP_IDS * BITMAP_IDS / 64];
    if (bitmap) {
        memset(in_hyp, 0, words * sizeof *in_hyp);
        memset(shared, 0, words * sizeof *shared);
        for (size_t i = 0; i + 1 < hyp_len; i++)
            bit_set(in_hyp, (size_t)hyp[i] * id_bound + (size_t)hyp[i + 1]);
    } else {
        size_t want = 2 * hyp_len + 2;
        if (!t->bigrams || want > t->bigram_mask + 1) {
            size_t cap = 64;
            while (cap < want) cap *= 2;
            free(t->bigrams);
            t->bigrams = bb_calloc(cap, sizeof *t->bigrams); /* zero stamps: all empty */
            t->bigram_mask = cap - 1;
        }
        for (size_t i = 0; i + 1 < hyp_len; i++) bigram_add(t, bigram_key(hyp[i], hyp[i + 1]));
    }

    /* reference n-grams of order >= 2 whose bigrams all occur in the hypothesis */
    for (size_t r = 0; r < n_refs; r++) {
        const int32_t *ids = refs[r];
        size_t len = ref_lens[r];
        for (size_t i = 0; i + 1 < len; i++) {
            uint64_t key = (uint64_t)(uint32_t)ids[i] + 1;
            for (int k = 1; k < max_order && i + (size_t)k < len; k++) {
                int32_t a = ids[i + (size_t)k - 1], b = ids[i + (size_t)k];
                if (bitmap) {
                    size_t bit = (size_t)a * id_bound + (size_t)b;
                    if (!bit_get(in_hyp, bit)) break;
                    bit_set(shared, bit);
                } else if (!bigram_has(t, bigram_key(a, b))) {
                    break;
                }
                key = (key << t->bits) | ((uint64_t)(uint32_t)b + 1);
                packed_slot *s = packed_find(t, key, 1);
                if (s->ref != (int32_t)r) {
                    s->ref = (int32_t)r;
                    s->current = 0;
                }
                if (++s->current > s->avail) s->avail = s->current;
            }
        }
    }
    for (size_t i = 0; i + 1 < hyp_len; i++) {
        if (bitmap && !bit_get(shared, (size_t)hyp[i] * id_bound + (size_t)hyp[i + 1])) continue;
        uint64_t key = (uint64_t)(uint32_t)hyp[i] + 1;
        for (int k = 1; k < max_order && i + (size_t)k < hyp_len; k++) {
            key = (key << t->bits) | ((uint64_t)(uint32_t)hyp[i + (size_t)k] + 1);
            packed_slot *s = packed_find(t, key, 0);
            if (!s) break;
            if (s->avail > 0) {
                s->avail--;
                matches[k]++;
            }
        }
    }
}
