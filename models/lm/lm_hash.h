/* lm_hash — two small open-addressing hash tables used by the BPE tokenizer.
 *
 *   lm_u64map   uint64 key -> int64 value (pair ids (a << 32 | b) -> merge rank, ...)
 *   lm_strmap   byte string -> int64 value; keys are copied into the map's own blob
 *
 * Linear probing, power-of-two capacity, grown at 50% load; no deletion (the tokenizer
 * never needs it). Lookups never allocate. Iteration order is never used for decisions,
 * so results do not depend on the table layout.
 *
 * Ownership: each map owns its slots (and, for lm_strmap, the key bytes); *_free releases
 * them. Pointers returned into a map are valid until the next insertion.
 */
#ifndef LM_HASH_H
#define LM_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct lm_u64map {
    uint64_t *keys; /* cap entries */
    int64_t *vals;  /* cap entries */
    uint8_t *used;  /* cap entries, 0/1 */
    size_t cap, n;
} lm_u64map;

void lm_u64map_init(lm_u64map *m, size_t expected);
void lm_u64map_free(lm_u64map *m);
/* Returns 1 and sets *val when key is present, else 0. */
int lm_u64map_get(const lm_u64map *m, uint64_t key, int64_t *val);
/* Pointer to the value of key, inserted with init when absent (*added says which). */
int64_t *lm_u64map_upsert(lm_u64map *m, uint64_t key, int64_t init, int *added);

typedef struct lm_strmap {
    uint64_t *hashes; /* cap entries; 0 marks an empty slot (real hashes are made non-zero) */
    size_t *key_off;  /* cap entries: key bytes at blob + key_off */
    uint32_t *key_len;
    int64_t *vals;
    size_t cap, n;
    char *blob; /* owned key bytes */
    size_t blob_len, blob_cap;
} lm_strmap;

void lm_strmap_init(lm_strmap *m, size_t expected);
void lm_strmap_free(lm_strmap *m);
int lm_strmap_get(const lm_strmap *m, const void *key, size_t len, int64_t *val);
int64_t *lm_strmap_upsert(lm_strmap *m, const void *key, size_t len, int64_t init, int *added);
/* The key bytes of slot i (for walking all entries of a map in slot order). */
const char *lm_strmap_key(const lm_strmap *m, size_t slot, size_t *len);

/* 64-bit hash of bytes (FNV-1a with a final avalanche); never returns 0. */
uint64_t lm_hash_bytes(const void *data, size_t len);

#endif
