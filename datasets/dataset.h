/* dataset — the XRec-format dataset directory (DESIGN §2).
 *
 *   DIR/train.csv valid.csv test.csv   header "user,item", integer ids from 0
 *   DIR/explanations.csv               uid,iid,title,user_summary,item_summary,explanation
 *
 * bb_dataset_load reads the three interaction files; n_users / n_items are one more than
 * the largest id seen in any split. Errors name FILE:LINE and the field.
 * Ownership: the dataset owns every array; bb_dataset_free releases them.
 */
#ifndef BB_DATASET_H
#define BB_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"

typedef struct bb_interactions {
    int32_t *user; /* n entries */
    int32_t *item; /* n entries */
    size_t n;
} bb_interactions;

typedef struct bb_dataset {
    int32_t n_users, n_items;
    bb_interactions train, valid, test;
    size_t duplicates_dropped; /* duplicate (user,item) rows within a split, see loader */
} bb_dataset;

int bb_dataset_load(const char *dir, bb_dataset *ds, bb_error *err);
void bb_dataset_free(bb_dataset *ds);

/* One row of explanations.csv; every string is owned by the table. */
typedef struct bb_explanation {
    int32_t uid, iid;
    char *title, *user_summary, *item_summary, *explanation;
} bb_explanation;

typedef struct bb_explanations {
    bb_explanation *rows;
    size_t n;
} bb_explanations;

int bb_explanations_load(const char *path, bb_explanations *ex, bb_error *err);
void bb_explanations_free(bb_explanations *ex);

#endif
