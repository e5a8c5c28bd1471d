/* pop — the popularity baseline: every user gets the same scores, the number of training
 * interactions of each item (DESIGN §7). Items unseen in training score 0; ties go to the
 * lower item id (ranking.h), so the ranking is fully determined by the training counts.
 *
 * Ownership: bb_pop owns its score array; bb_pop_free releases it. The scorer filled by
 * bb_pop_scorer borrows the model, which must outlive it.
 */
#ifndef BB_POP_H
#define BB_POP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/ranking.h"

typedef struct bb_pop {
    int32_t n_items;
    float *score; /* n_items: training count of each item (exact below 2^24) */
} bb_pop;

/* items: the item column of the n training pairs, each in [0, n_items). */
void bb_pop_fit(bb_pop *pop, int32_t n_items, const int32_t *items, size_t n);
void bb_pop_free(bb_pop *pop);
/* A callback scorer over the popularity counts. */
void bb_pop_scorer(const bb_pop *pop, bb_rank_scorer *scorer);

#endif
