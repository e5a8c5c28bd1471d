/* lightgcn — LightGCN propagation (He et al., SIGIR 2020, eq. 7-9; DESIGN §4.1, §7):
 *
 *     E_0 = ego embeddings (users then items), E_{l+1} = Â E_l,
 *     F   = (E_0 + E_1 + ... + E_L) / (L + 1)           (mean of layers 0..L)
 *
 * Backward. F = P E_0 with P = (I + Â + ... + Â^L)/(L+1), and Â is symmetric, so P is too:
 * the gradient of a loss with respect to E_0 is P applied to its gradient with respect to
 * F. lgcn_propagate therefore serves both directions (accumulate = 1 adds into an
 * existing gradient).
 *
 * Two entry points:
 *   - lgcn_forward: the autograd op on nn's tape, built from nn_spmm/nn_add/nn_scale (nn's
 *     tape has no hook for ops defined outside models/nn); it is what the gradient check and
 *     BEAT's graph encoder use.
 *   - lgcn_plan + lgcn_propagate: the fused kernel the BPR trainer uses: one pass per layer
 *     over the rows of Â, each output row summed by one thread in CSR order with the layer
 *     sum and the final mean folded into the last layer (no extra passes over N x d
 *     buffers, no allocation per call). Rows go to the pool's threads in fixed blocks,
 *     taken as threads come free; a row's result does not depend on which thread computes
 *     it, so results are bit-identical across runs and thread counts.
 *
 * Ownership: a plan owns its buffers (lgcn_plan_free) and borrows the graph and the pool,
 * which must outlive it.
 */
#ifndef LIGHTGCN_H
#define LIGHTGCN_H

#include <stdint.h>

#include "models/graph/graph_adj.h"
#include "models/base/bb_pool.h"
#include "models/nn/nn_sparse.h"
#include "models/nn/nn_tape.h"

typedef struct lgcn_plan {
    const graph_adj *g;   /* borrowed */
    bb_pool *pool;     /* borrowed; NULL = single thread */
    int d, layers;
    float *layer_buf[2];  /* (n_nodes, d) ping-pong for E_l, l < L */
    float *sum_buf;       /* (n_nodes, d) running E_0 + ... + E_l (L >= 3 only) */
    int32_t *row_start;   /* n_threads + 1 row boundaries */
    int n_threads;
    /* lgcn_propagate_sparse scratch */
    int32_t max_degree;
    int64_t *hit_buf;     /* n_threads x (max_degree + 1): a row's entries on listed rows */
    float *sink_buf;      /* n_threads x d: a row handed to a sink (generic width) */
    uint8_t *row_flag;    /* n_nodes: the rows listed to lgcn_propagate_sparse */
} lgcn_plan;

void lgcn_plan_init(lgcn_plan *p, const graph_adj *g, int d, int layers, bb_pool *pool);
void lgcn_plan_free(lgcn_plan *p);

/* out (n_nodes, d) = P x (accumulate = 0) or out += P x (accumulate = 1). x and out must
 * not overlap. */
void lgcn_propagate(lgcn_plan *p, const float *x, float *out, int accumulate);

/* Only rows[0..n_rows) (sorted, distinct) of out = P x are written; the others are left
 * as they are. The layers before the last still run over all rows (the last one needs
 * E_{L-1} at every neighbour), the last one only over the listed rows. The BPR trainer
 * uses this for the batch's users and items: the loss is exactly that of full propagation. */
void lgcn_propagate_rows(lgcn_plan *p, const float *x, float *out, const int32_t *rows,
                         int32_t n_rows);

/* out = P x for an x that is zero outside rows[0..n_rows) (sorted, distinct): the first
 * layer reads the listed rows only; every row of out is written, bit-identical to
 * lgcn_propagate(p, x, out, 0). The backward pass of a batch loss. */
void lgcn_propagate_sparse(lgcn_plan *p, const float *x, const int32_t *rows, int32_t n_rows,
                           float *out);

/* A consumer of output rows: called once per row, from the thread that computed it, with
 * the row's d values (valid during the call only). Rows of different threads arrive
 * concurrently, so a sink may only touch data of its own row. */
typedef void (*lgcn_row_sink)(void *ctx, int32_t row, const float *values);

/* lgcn_propagate_sparse, but each row of P x goes to sink instead of memory: the BPR
 * trainer applies Adam to the row right there, sparing a pass over a gradient block. */
void lgcn_propagate_sparse_to(lgcn_plan *p, const float *x, const int32_t *rows,
                              int32_t n_rows, lgcn_row_sink sink, void *sink_ctx);

/* Autograd op: ego (n_nodes, d) -> F (n_nodes, d); adj must stay alive until backward. */
nn_tensor *lgcn_forward(nn_tape *tp, const nn_csr *adj, nn_tensor *ego, int layers);

#endif
