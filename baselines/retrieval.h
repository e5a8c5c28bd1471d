/* retrieval — the retrieval explanation baseline (DESIGN §7): answer a test pair (u, i)
 * with an explanation copied verbatim from a TRAIN row of the split.
 *
 * Similarities are cosines of rows of the binary train interaction matrix (data->train):
 *     item-item  sim(i, j) = |U(i) ∩ U(j)| / sqrt(|U(i)| |U(j)|)   (co-interacting users)
 *     user-user  sim(u, v) = |I(u) ∩ I(v)| / sqrt(|I(u)| |I(v)|)   (shared items)
 * computed sparsely per query. This is the simplest honest choice: no learned model, no
 * text, and the interactions of zero-shot test users are allowed inputs (only their
 * explanation text is held out); LightGCN embeddings would add a training run and seeds
 * to a baseline meant to be a floor.
 *
 * Variant "item" (default): j* = the item with a train explanation most similar to i (i
 * itself, similarity 1, when it has one); among j*'s train rows, the row whose user is
 * most similar to u. Variant "user": v* = the user with a train explanation most similar
 * to u (a zero-shot user has none of their own, so this is the nearest training
 * neighbour); among v*'s train rows, the row whose item is most similar to i.
 * Ties (equal similarity, compared exactly) go to the lowest id, then the lowest row.
 * Candidates need a positive similarity. When the chosen variant finds none, the other
 * variant is tried; when neither does (e.g. i and u have no train interactions), the
 * answer is the most frequent train explanation (exact string; ties to the earliest row).
 * The choice is deterministic and ignores the seed and thread count.
 *
 * Ownership: like every explanation method, bb_retrieval_explain fills a bb_explain_output
 * that the caller frees with bb_explain_output_free.
 */
#ifndef BB_RETRIEVAL_H
#define BB_RETRIEVAL_H

#include <stddef.h>

#include "datasets/explain_task.h"
#include "models/base/bb_error.h"

typedef struct bb_retrieval_config {
    char variant[8]; /* "item" | "user" */
} bb_retrieval_config;

void bb_retrieval_default_config(bb_retrieval_config *cfg);
int bb_retrieval_check_config(const bb_retrieval_config *cfg, bb_error *err);
/* The `run --config` schema is bb_retrieval_config_keys in baselines/explain_schema.h. */

/* Where each answer came from (optional detail for tests and reports). */
typedef enum {
    BB_RETRIEVAL_BY_ITEM = 0,  /* most similar item's row */
    BB_RETRIEVAL_BY_USER = 1,  /* nearest user's row */
    BB_RETRIEVAL_BY_COMMON = 2 /* most frequent train explanation */
} bb_retrieval_source;

typedef struct bb_retrieval_trace {
    size_t *source_row;   /* [n_test] explanations row copied */
    uint8_t *source;      /* [n_test] bb_retrieval_source */
    double *similarity;   /* [n_test] similarity of the chosen item/user (0 for COMMON) */
    size_t n;
} bb_retrieval_trace;

/* Fills out with one copied train explanation per test row, in order. trace may be NULL;
 * otherwise it is allocated here (bb_retrieval_trace_free). */
int bb_retrieval_explain_traced(const bb_explain_task *task, const bb_retrieval_config *cfg,
                                bb_explain_output *out, bb_retrieval_trace *trace, bb_error *err);
int bb_retrieval_explain(const bb_explain_task *task, const bb_retrieval_config *cfg,
                         bb_explain_output *out, bb_error *err);
void bb_retrieval_trace_free(bb_retrieval_trace *t);

#endif
