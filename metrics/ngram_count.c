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

struct ngram_table {
    slot *slots;
    size_t mask;
    uint32_t gen;
    int max_order;
    int refs;
};

ngram_table *ngram_table_create(void) {
    ngram_table *t = bb_calloc(1, sizeof *t);
    t->mask = 255;
    t->slots = bb_calloc(t->mask + 1, sizeof *t->slots);
    t->gen = 1;
    return t;
}

void ngram_table_free(ngram_table *t) {
    if (!t) return;
    free(t->slots);
    free(t);
}

void ngram_table_reset(ngram_table *t, int max_order, size_t expected) {
    BB_ASSERT(max_order >= 1 && max_order <= NGRAM_MAX_ORDER, "n-gram order %d out of 1..%d",
              max_order, NGRAM_MAX_ORDER);
    t->max_order = max_order;
    t->refs = 0;
    size_t want = 4 * (expected + 1); /* load at most 1/4: short probe sequences */
    if (want > t->mask + 1) {
        size_t cap = t->mask + 1;
        while (cap < want) cap *= 2;
        free(t->slots);
        t->slots = bb_calloc(cap, sizeof *t->slots);
        t->mask = cap - 1;
        t->gen = 1;
        return;
    }
    if (++t->gen == 0) { /* wrapped: clear once every 2^32 resets */
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
        t->gen = 1;
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

static slot *find(ngram_table *t, const int32_t *ids, int order, uint64_t h, int insert) {
    size_t i = (size_t)(h >> 7) & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (s->gen != t->gen) {
            if (!insert) return NULL;
            s->gen = t->gen;
            s->hash = h;
            s->ids = ids;
            s->order = order;
            s->ref = -1;
            s->current = 0;
            s->avail = 0;
            return s;
        }
        if (s->hash == h && s->order == order &&
            memcmp(s->ids, ids, (size_t)order * sizeof *ids) == 0)
            return s;
        i = (i + 1) & t->mask;
    }
}

void ngram_table_add_ref(ngram_table *t, const int32_t *ids, size_t len) {
    int ref = t->refs++;
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
