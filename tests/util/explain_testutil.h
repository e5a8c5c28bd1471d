/* explain_testutil — hand-made explanation tasks for the tests of the explanation
 * baselines (tests/test_explain_baselines*.c).
 *
 *   xtest_row rows[] = {{0, 1, BB_SPLIT_TRAIN, "great coffee."}, ...};
 *   xtest_fix f; xtest_fix_init(&f, n_users, n_items, train_u, train_i, n_train, rows, n_rows);
 *   bb_peter_explain(&f.task, &cfg, &out, &err); ...
 *   xtest_fix_free(&f);
 *
 * The fixture owns an in-memory dataset (train interactions only), an explanations table
 * (titles/summaries empty) and a split built from the rows' parts; f.task borrows them.
 * xtest_fix_synth builds the same from the synthetic generator at a small size.
 */
#ifndef EXPLAIN_TESTUTIL_H
#define EXPLAIN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/explain_task.h"
#include "datasets/split.h"
#include "datasets/synth.h"

typedef struct xtest_row {
    int32_t uid, iid;
    int part; /* bb_split_part */
    const char *text;
} xtest_row;

typedef struct xtest_fix {
    bb_dataset data;
    bb_explanations ex;
    bb_split split;
    bb_synth synth;
    int is_synth;
    bb_explain_task task;
} xtest_fix;

void xtest_fix_init(xtest_fix *f, int32_t n_users, int32_t n_items, const int32_t *train_u,
                    const int32_t *train_i, size_t n_train, const xtest_row *rows, size_t n_rows);
/* Synthetic data (users, items, explained pairs; 8 groups, 24 aspects, seed 3) with the
 * default zero-shot split (seed 1). Returns 0 on failure (message printed). */
int xtest_fix_synth(xtest_fix *f, int users, int items, int interactions, int explained);
void xtest_fix_free(xtest_fix *f);

#endif
