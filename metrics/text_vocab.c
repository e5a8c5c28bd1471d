/* text_vocab — string interning with open addressing. See text_vocab.h. */
#include "metrics/text_vocab.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

#define CHUNK_BYTES (64u * 1024u)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

typedef struct entry_info {
    const char *str;
    uint32_t len;
    uint32_t hash_lo; /* low bits of the hash, to skip most string compares */
} entry_info;

struct text_vocab {
    int32_t *slots; /* id + 1, 0 = empty */
    size_t mask;    /* slot count - 1 */
    entry_info *info;
    size_t count, info_cap;
    chunk *chunks;
};

static inline uint64_t load32(const char *s) {
    uint32_t k;
    memcpy(&k, s, 4);
    return k;
}

static inline uint64_t load64(const char *s) {
    uint64_t k;
    memcpy(&k, s, 8);
    return k;
}

static uint64_t hash_long(const char *s, size_t len) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xC2B2AE3D27D4EB4Full);
    size_t n = len;
    while (n > 8) {
        h = (h ^ load64(s)) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    h = (h ^ load64(s + n - 8)) * 0x94D049BB133111EBull; /* the last 8 bytes, overlapping */
    return h ^ (h >> 32);
}

/* Tokens are short: up to 16 bytes are read as two (overlapping) words a, b, which together
 * with the length identify the string exactly (wyhash's tail trick; under 4 bytes a holds
 * bytes 0, len/2 and len-1, which are all of them). */
typedef struct short_key {
    uint64_t a, b;
} short_key;

static inline short_key key_words(const char *s, size_t len) {
    short_key k;
    if (len >= 8) {
        k.a = load64(s);
        k.b = load64(s + len - 8);
    } else if (len >= 4) {
        k.a = load32(s);
        k.b = load32(s + len - 4);
    } else if (len > 0) {
        const unsigned char *u = (const unsigned char *)s;
        k.a = ((uint64_t)u[0] << 16) | ((uint64_t)u[len >> 1] << 8) | u[len - 1];
        k.b = 0;
    } else {
        k.a = k.b = 0;
    }
    return k;
}

static inline uint64_t hash_key(short_key k, size_t len) {
    uint64_t h = ((k.a ^ 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull) ^
                 ((k.b ^ (uint64_t)len) * 0x94D049BB133111EBull);
    return h ^ (h >> 32);
}

/* Two independent multiplies and a fold instead of a byte loop or a chain of multiplies. */
static inline uint64_t hash_bytes(const char *s, size_t len) {
    if (len > 16) return hash_long(s, len);
    return hash_key(key_words(s, len), len);
}

uint64_t text_vocab_hash(const char *s, size_t len) { return hash_bytes(s, len); }

text_vocab *text_vocab_create(void) {
    text_vocab *v = bb_calloc(1, sizeof *v);
    v->mask = 1023;
    v->slots = bb_calloc(v->mask + 1, sizeof *v->slots);
    return v;
}

void text_vocab_free(text_vocab *v) {
    if (!v) return;
    for (chunk *c = v->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(v->slots);
    free(v->info);
    free(v);
}

static const char *store_string(text_vocab *v, const char *s, size_t len) {
    chunk *c = v->chunks;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > CHUNK_BYTES ? len + 1 : CHUNK_BYTES;
        chunk *fresh = bb_malloc(sizeof *fresh + cap);
        fresh->used = 0;
        fresh->cap = cap;
        fresh->next = v->chunks;
        v->chunks = fresh;
        c = fresh;
    }
    char *dst = c->data + c->used;
    memcpy(dst, s, len);
    dst[len] = '\0';
    c->used += len + 1;
    return dst;
}

static void grow(text_vocab *v) {
    size_t cap = 2 * (v->mask + 1);
    int32_t *slots = bb_calloc(cap, sizeof *slots);
    for (size_t id = 0; id < v->count; id++) {
        uint64_t h = hash_bytes(v->info[id].str, v->info[id].len);
        size_t i = (size_t)h & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = (int32_t)id + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->mask = cap - 1;
}

static int same_bytes(const char *a, const char *b, size_t len);

static int32_t lookup(const text_vocab *v, const char *s, size_t len, uint64_t h, size_t *slot) {
    size_t i = (size_t)h & v->mask;
    for (;;) {
        int32_t id1 = v->slots[i];
        if (!id1) {
            *slot = i;
            return -1;
        }
        const entry_info *e = &v->info[id1 - 1];
        if (e->hash_lo == (uint32_t)h && e->len == len && same_bytes(e->str, s, len))
            return id1 - 1;
        i = (i + 1) & v->mask;
    }
}

int32_t text_vocab_find(const text_vocab *v, const char *s, size_t len) {
    size_t slot;
    return lookup(v, s, len, hash_bytes(s, len), &slot);
}

int32_t text_vocab_intern(text_vocab *v, const char *s, size_t len) {
    uint64_t h = hash_bytes(s, len);
    size_t slot;
    int32_t id = lookup(v, s, len, h, &slot);
    if (id >= 0) return id;
    BB_ASSERT(len < UINT32_MAX && v->count < INT32_MAX - 1, "token or vocabulary too large");
    if (v->count == v->info_cap) {
        v->info_cap = v->info_cap ? 2 * v->info_cap : 1024;
        v->info = bb_realloc(v->info, v->info_cap * sizeof *v->info);
    }
    id = (int32_t)v->count++;
    v->info[id].str = store_string(v, s, len);
    v->info[id].len = (uint32_t)len;
    v->info[id].hash_lo = (uint32_t)h;
    v->slots[slot] = id + 1;
    if (2 * v->count > v->mask + 1) grow(v); /* keep the load at most one half */
    return id;
}

const char *text_vocab_str(const text_vocab *v, int32_t id, size_t *len) {
    BB_ASSERT(id >= 0 && (size_t)id < v->count, "id %d out of range (vocabulary of %zu)", (int)id,
              v->count);
    if (len) *len = v->info[id].len;
    return v->info[id].str;
}

size_t text_vocab_size(const text_vocab *v) { return v->count; }

/* ------------------------------------------------------------------------------------ */
/* Pair-local span ids                                                                  */

typedef struct span_slot {
    short_key key; /* the string itself when len <= 16 */
    const char *ptr;
    uint32_t len;
    uint32_t gen; /* live when equal to the table's generation */
    int32_t id;
} span_slot;

struct text_span_ids {
    span_slot *slots;
    size_t mask;
    uint32_t gen;
    int32_t count;
};

text_span_ids *text_span_ids_create(void) {
    text_span_ids *t = bb_calloc(1, sizeof *t);
    t->mask = 511;
    t->slots = bb_calloc(t->mask + 1, sizeof *t->slots);
    t->gen = 1;
    return t;
}

void text_span_ids_free(text_span_ids *t) {
    if (!t) return;
    free(t->slots);
    free(t);
}

void text_span_ids_reset(text_span_ids *t) {
    t->count = 0;
    if (++t->gen == 0) {
        memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
        t->gen = 1;
    }
}

static int same_bytes(const char *a, const char *b, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void span_ids_grow(text_span_ids *t) {
    size_t cap = 2 * (t->mask + 1);
    span_slot *slots = bb_calloc(cap, sizeof *slots);
    for (size_t i = 0; i <= t->mask; i++) {
        span_slot *s = &t->slots[i];
        if (s->gen != t->gen) continue;
        size_t j = (size_t)hash_bytes(s->ptr, s->len) & (cap - 1);
        while (slots[j].gen == t->gen) j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = cap - 1;
}

int32_t text_span_ids_get(text_span_ids *t, const char *s, size_t len) {
    short_key k = key_words(s, len);
    uint64_t h = len > 16 ? hash_long(s, len) : hash_key(k, len);
    size_t i = (size_t)h & t->mask;
    for (;;) {
        span_slot *slot = &t->slots[i];
        if (slot->gen != t->gen) {
            slot->gen = t->gen;
            slot->key = k;
            slot->ptr = s;
            slot->len = (uint32_t)len;
            slot->id = t->count++;
            int32_t id = slot->id;
            if (2 * (size_t)t->count > t->mask + 1) span_ids_grow(t);
            return id;
        }
        /* for len <= 16 equal key words mean equal strings; longer ones compare bytes */
        if (slot->len == len && slot->key.a == k.a && slot->key.b == k.b &&
            (len <= 16 || same_bytes(slot->ptr, s, len)))
            return slot->id;
        i = (i + 1) & t->mask;
    }
}

size_t text_span_ids_count(const text_span_ids *t) { return (size_t)t->count; }
