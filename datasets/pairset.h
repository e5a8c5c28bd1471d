/* pairset — a hash map from a (user, item) pair to a 32-bit value.
 *
 * Open addressing with linear probing over a power-of-two table kept at most half full;
 * used to find duplicate pairs, to tell which split a pair lies in, and by the synthetic
 * generator to keep pairs unique. Keys are (uint32 user << 32 | uint32 item).
 *
 *   bb_pairset s; bb_pairset_init(&s, expected_n);
 *   uint32_t *v; if (bb_pairset_insert(&s, u, i, 7, &v)) { ... was new ... } else { *v is old }
 *   bb_pairset_free(&s);
 *
 * Ownership: the set owns its table; bb_pairset_free releases it.
 */
#ifndef BB_PAIRSET_H
#define BB_PAIRSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct bb_pairset {
    uint64_t *keys;
    uint32_t *values;
    size_t cap, n; /* cap is a power of two */
} bb_pairset;

void bb_pairset_init(bb_pairset *s, size_t expected_n);
void bb_pairset_free(bb_pairset *s);
/* Inserts (user, item) -> value when absent and returns 1; returns 0 when present. Either
 * way *slot (if not NULL) points at the stored value, valid until the next insert. */
int bb_pairset_insert(bb_pairset *s, int32_t user, int32_t item, uint32_t value,
                      uint32_t **slot);
/* Returns the value's address, or NULL when the pair is absent. */
uint32_t *bb_pairset_find(const bb_pairset *s, int32_t user, int32_t item);

#endif
