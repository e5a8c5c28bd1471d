/* graph_adj — the normalised bipartite user-item adjacency of LightGCN (He et al., SIGIR
 * 2020, eq. 7-8) and DESIGN §4.1.
 *
 * Nodes are users then items: node u for user u, node n_users + i for item i. A (user,
 * item) training pair links the two nodes both ways; repeated pairs count once. Entry
 * (r, c) of Â = D^-1/2 A D^-1/2 is 1 / sqrt(deg(r) deg(c)) (computed in double, stored as
 * float). Â is symmetric, so Â^T x = Â x. Nodes without training pairs (e.g. an item seen
 * only in test) have empty rows: propagation leaves them at their layer-0 share.
 *
 * Storage is CSR with int64 row pointers and column indices sorted ascending in each row,
 * so a row's sum always runs in the same order. Rows are split across threads by equal
 * nnz (graph_adj_row_split), fixed for a given thread count.
 *
 * Ownership: graph_adj owns its arrays (graph_adj_free). graph_adj_csr returns a view for
 * nn's CSR ops (nn_sparse.h) that borrows them.
 */
#ifndef GRAPH_ADJ_H
#define GRAPH_ADJ_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_sparse.h"

typedef struct graph_adj {
    int32_t n_users, n_items, n_nodes;
    int64_t nnz;      /* 2 x distinct pairs */
    int64_t *indptr;  /* n_nodes + 1 */
    int32_t *indices; /* nnz, ascending within each row */
    float *values;    /* nnz */
    int32_t *degree;  /* n_nodes */
} graph_adj;

/* users[p], items[p]: the n training pairs; ids outside the ranges are an error. */
int graph_adj_build(graph_adj *g, int32_t n_users, int32_t n_items, const int32_t *users,
                    const int32_t *items, size_t n, bb_error *err);
void graph_adj_free(graph_adj *g);

/* A symmetric nn_csr view of Â (borrows g's arrays). */
nn_csr graph_adj_csr(const graph_adj *g);

/* First row of part t of n: rows split so each part holds about nnz / n entries. */
int32_t graph_adj_row_split(const graph_adj *g, int t, int n);

#endif
