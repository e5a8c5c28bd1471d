/* split — the zero-shot split of explained pairs (DESIGN §2; format in datasets/FORMAT.md).
 *
 * Only the explained pairs (explanations.csv rows) are split. bb_split_make picks
 * round(F x #explained users) test users with bb_rng stream (seed, "split/zero-shot"); every
 * row of a test user goes to test, so test users are unseen in explanation training
 * (zero-shot). The other rows are shuffled with (seed, "split/train-valid") and
 * round(0.1 x #rows) of them go to valid, the rest to train.
 *
 * The split file is CSV "uid,iid,split" with split in train|valid|test, one row per
 * explanations.csv row in the same order, written atomically. bb_split_load checks it
 * against the explanations: same row count, same (uid,iid) on every row, and a test user
 * has no row outside test.
 *
 * Ownership: bb_split owns its arrays; bb_split_free releases them.
 */
#ifndef BB_SPLIT_H
#define BB_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "models/base/bb_error.h"

#define BB_SPLIT_DEFAULT_ZERO_SHOT 0.1 /* share of explained users held out as test users */
#define BB_SPLIT_VALID_SHARE 0.1       /* share of the non-test rows that go to valid */

typedef enum bb_split_part { BB_SPLIT_TRAIN = 0, BB_SPLIT_VALID = 1, BB_SPLIT_TEST = 2 } bb_split_part;

typedef struct bb_split {
    size_t n;          /* rows, = the explanations' row count */
    uint8_t *part;     /* bb_split_part of each explanations row */
    int32_t *uid, *iid;
    size_t n_train, n_valid, n_test;
    size_t n_users;      /* distinct explained users */
    size_t n_test_users; /* zero-shot test users */
} bb_split;

/* zero_shot_users in [0, 1]. */
int bb_split_make(const bb_explanations *ex, double zero_shot_users, uint64_t seed,
                  bb_split *out, bb_error *err);
int bb_split_write(const bb_split *s, const char *path, bb_error *err);
int bb_split_load(const char *path, const bb_explanations *ex, bb_split *out, bb_error *err);
void bb_split_free(bb_split *s);

/* "train", "valid", "test". */
const char *bb_split_part_name(int part);

#endif
