/* stats — what `beatbench data stats DIR` reports about a dataset (DESIGN §2).
 *
 * Degrees are counted on train interactions only, over every id 0..n-1 (an id without a
 * train interaction has degree 0, so a minimum of 0 shows cold-start entities). Quantiles
 * interpolate linearly between order statistics (numpy's default, "type 7").
 * Cold-start: an id that occurs in valid or test but never in train.
 *
 *   bb_data_stats st; bb_data_stats_compute(&ds, have_ex ? &ex : NULL, &st);
 *
 * Ownership: plain values; nothing to free.
 */
#ifndef BB_DATA_STATS_H
#define BB_DATA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"

typedef struct bb_degree_summary {
    double min, median, p90, max, mean;
} bb_degree_summary;

typedef struct bb_data_stats {
    int32_t n_users, n_items;
    size_t n_train, n_valid, n_test;
    double density;       /* (train + valid + test) / (users * items) */
    double train_density; /* train / (users * items) */
    bb_degree_summary user_degree, item_degree; /* train degrees */
    size_t duplicates_dropped, duplicates_within_split, duplicates_across_splits;
    int32_t cold_users, cold_items; /* in valid/test, never in train */
    int32_t users_without_rows, items_without_rows; /* ids below the count seen nowhere */
    size_t cold_test_rows; /* test rows whose user or item is cold */

    int has_explanations;
    size_t explained_pairs; /* rows of explanations.csv */
    size_t explained_users, explained_items, explained_duplicate_pairs;
    size_t explained_in_train, explained_in_valid, explained_in_test, explained_in_none;
    size_t explained_cold_users, explained_cold_items; /* explained ids without train rows */
} bb_data_stats;

/* ex may be NULL. The explanations' ids must be below ds's counts
 * (bb_explanations_check_ids) — asserted. */
void bb_data_stats_compute(const bb_dataset *ds, const bb_explanations *ex, bb_data_stats *st);

/* q-quantile (0 <= q <= 1) of n >= 1 ascending values, linear interpolation. */
double bb_data_quantile(const int32_t *sorted, size_t n, double q);

#endif
