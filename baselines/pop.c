/* pop — popularity scores from training counts. See pop.h. */
#include "baselines/pop.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

void bb_pop_fit(bb_pop *pop, int32_t n_items, const int32_t *items, size_t n) {
    pop->n_items = n_items;
    pop->score = bb_calloc((size_t)n_items + 1, sizeof *pop->score);
    for (size_t p = 0; p < n; p++) {
        BB_ASSERT(items[p] >= 0 && items[p] < n_items, "pop: item %d outside [0, %d)",
                  (int)items[p], (int)n_items);
        pop->score[items[p]] += 1.0f;
    }
}

void bb_pop_free(bb_pop *pop) {
    if (!pop) return;
    free(pop->score);
    memset(pop, 0, sizeof *pop);
}

static void pop_score(void *ctx, const int32_t *users, int n_users_chunk, float *scores) {
    (void)users;
    const bb_pop *pop = ctx;
    for (int r = 0; r < n_users_chunk; r++)
        memcpy(scores + (size_t)r * pop->n_items, pop->score, (size_t)pop->n_items * sizeof(float));
}

void bb_pop_scorer(const bb_pop *pop, bb_rank_scorer *scorer) {
    memset(scorer, 0, sizeof *scorer);
    scorer->n_items = pop->n_items;
    scorer->score = pop_score;
    scorer->ctx = (void *)pop;
}
