/* dataset — the XRec-format dataset directory (DESIGN §2).
 *
 *   DIR/train.csv valid.csv test.csv   header "user,item", integer ids from 0
 *   DIR/explanations.csv               uid,iid,title,user_summary,item_summary,explanation
 *
 * bb_dataset_load reads the three interaction files; n_users / n_items are one more than
 * the largest id seen in any split. Errors name FILE:LINE and the field.
 * Ownership: the dataset owns every array; bb_dataset_free releases them.
 *
 * Validation (datasets/FORMAT.md): exact header, exactly 2 fields per row, ids are decimal
 * integers in [0, 2^31 - 1), no empty file, train.csv has at least one row (valid/test may be
 * header-only).
 * Duplicate policy: a (user,item) pair seen again, within a split or in a later split
 * (order train, valid, test), is dropped and counted; the first occurrence stays.
 * bb_dataset_load_opts with reject_duplicates = 1 makes a duplicate an error instead.
 * Ids beyond a known user/item count: bb_dataset_check_ids / bb_explanations_check_ids.
 *
 * Additions to the first declarations (appended fields, compatible with old code):
 * bb_interactions.line, bb_dataset.duplicates_within_split / duplicates_across_splits / dir,
 * bb_explanation.line, bb_explanations.path / duplicate_pairs.
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
    uint32_t *line; /* physical line of each row in its file; NULL when built in memory */
} bb_interactions;

typedef struct bb_dataset {
    int32_t n_users, n_items;
    bb_interactions train, valid, test;
    size_t duplicates_dropped; /* duplicate (user,item) rows within a split, see loader */
    /* duplicates_dropped = duplicates_within_split + duplicates_across_splits */
    size_t duplicates_within_split;  /* pair repeated inside one file */
    size_t duplicates_across_splits; /* pair already present in an earlier split */
    char *dir;                       /* owned copy of the directory; NULL when in memory */
} bb_dataset;

int bb_dataset_load(const char *dir, bb_dataset *ds, bb_error *err);
void bb_dataset_free(bb_dataset *ds);

typedef struct bb_dataset_options {
    int reject_duplicates; /* 1: a duplicate pair is an error naming both places */
} bb_dataset_options;

/* bb_dataset_load with options; opts may be NULL (defaults: drop and count duplicates). */
int bb_dataset_load_opts(const char *dir, const bb_dataset_options *opts, bb_dataset *ds,
                         bb_error *err);

/* Fails when an id in any split is >= the stated count, naming the row:
 * "DIR/test.csv:9: field 'item': id 1500 is beyond the item count 1500". */
int bb_dataset_check_ids(const bb_dataset *ds, int32_t n_users, int32_t n_items,
                         bb_error *err);

/* Name of split file k (0 train, 1 valid, 2 test) and its interactions. */
const char *bb_dataset_split_file(int k);
const bb_interactions *bb_dataset_split(const bb_dataset *ds, int k);

/* One row of explanations.csv; every string is owned by the table. */
typedef struct bb_explanation {
    int32_t uid, iid;
    char *title, *user_summary, *item_summary, *explanation;
    uint32_t line; /* physical line where the row starts */
} bb_explanation;

typedef struct bb_explanations {
    bb_explanation *rows;
    size_t n;
    char *path;             /* owned copy of the file path (for messages) */
    size_t duplicate_pairs; /* rows whose (uid,iid) appeared on an earlier row; kept */
} bb_explanations;

/* Header must be exactly uid,iid,title,user_summary,item_summary,explanation; 6 fields a
 * row; uid/iid non-negative integers; text fields are kept verbatim (RFC 4180 unquoted).
 * A header-only file gives n = 0. Duplicate (uid,iid) rows are kept and counted. */
int bb_explanations_load(const char *path, bb_explanations *ex, bb_error *err);
void bb_explanations_free(bb_explanations *ex);

/* Fails when a uid >= n_users or an iid >= n_items, naming the row. */
int bb_explanations_check_ids(const bb_explanations *ex, int32_t n_users, int32_t n_items,
                              bb_error *err);

#endif
