/* explain_task — what every explanation method (BEAT and the baselines, DESIGN §5/§7) is
 * given, and what it returns, so that all of them run on one protocol.
 *
 * A method trains on the TRAIN rows of the zero-shot split (explanations of those rows are
 * its only supervision text), may early-stop on VALID rows, and generates one explanation
 * for every TEST row, in explanations-row order. It must never read the explanation text of
 * a valid/test row for training, nor a summary/title that only test rows carry (use
 * datasets/train_text.h for the allowed texts).
 *
 * Ownership: the task borrows everything; bb_explain_output owns its strings
 * (bb_explain_output_free).
 */
#ifndef BB_EXPLAIN_TASK_H
#define BB_EXPLAIN_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "models/base/bb_error.h"

typedef struct bb_explain_task {
    const bb_dataset *data;       /* interactions (train/valid/test) */
    const bb_explanations *ex;    /* explained pairs */
    const bb_split *split;        /* zero-shot split of ex's rows */
    const char *domain;           /* "book" or "business": prompt wording (DESIGN §5) */
    uint64_t seed;
    int threads;
    const char *work_dir;         /* scratch/artifact directory owned by the run; may be NULL */
} bb_explain_task;

typedef struct bb_explain_output {
    size_t n;          /* = split->n_test */
    size_t *row;       /* explanations row index of each generation */
    char **generated;  /* owned, NUL-terminated UTF-8 */
    double train_seconds, generate_seconds;
    int epochs_run, best_epoch;
    double best_valid_loss;
} bb_explain_output;

/* Allocates n_test slots with row[] filled from the split's test rows, in order. */
void bb_explain_output_init(bb_explain_output *out, const bb_split *split);
void bb_explain_output_free(bb_explain_output *out);

#endif
