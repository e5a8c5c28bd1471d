/* graph_adj — building the normalised bipartite adjacency. See graph_adj.h. */
#include "models/graph/graph_adj.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int graph_adj_build(graph_adj *g, int32_t n_users, int32_t n_items, const int32_t *users,
                    const int32_t *items, size_t n, bb_error *err) {
    memset(g, 0, sizeof *g);
    if (n_users < 0 || n_items < 0 || (int64_t)n_users + n_items > INT32_MAX)
        return bb_fail(err, "graph: bad size %d users + %d items", (int)n_users, (int)n_items);
    for (size_t p = 0; p < n; p++) {
        if (users[p] < 0 || users[p] >= n_users)
            return bb_fail(err, "graph: training pair %zu: user %d outside [0, %d)", p,
                           (int)users[p], (int)n_users);
        if (items[p] < 0 || items[p] >= n_items)
            return bb_fail(err, "graph: training pair %zu: item %d outside [0, %d)", p,
                           (int)items[p], (int)n_items);
    }
    int32_t n_nodes = n_users + n_items;
    /* Both directions of every pair, bucketed by row (counting sort), then each row is
     * sorted and deduplicated in place. */
    int64_t *indptr = bb_calloc((size_t)n_nodes + 2, sizeof *indptr);
    for (size_t p = 0; p < n; p++) {
        indptr[users[p] + 1]++;
        indptr[n_users + items[p] + 1]++;
    }
    for (int32_t r = 0; r < n_nodes; r++) indptr[r + 1] += indptr[r];
    int32_t *indices = bb_malloc((2 * n + 1) * sizeof *indices);
    int64_t *fill = bb_malloc(((size_t)n_nodes + 1) * sizeof *fill);
    memcpy(fill, indptr, ((size_t)n_nodes + 1) * sizeof *fill);
    for (size_t p = 0; p < n; p++) {
        indices[fill[users[p]]++] = n_users + items[p];
        indices[fill[n_users + items[p]]++] = users[p];
    }
    free(fill);
    int64_t write = 0;
    for (int32_t r = 0; r < n_nodes; r++) {
        int64_t begin = indptr[r], end = indptr[r + 1];
        qsort(indices + begin, (size_t)(end - begin), sizeof *indices, cmp_i32);
        indptr[r] = write;
        for (int64_t k = begin; k < end; k++)
            if (k == begin || indices[k] != indices[k - 1]) indices[write++] = indices[k];
    }
    indptr[n_nodes] = write;
    int32_t *degree = bb_malloc(((size_t)n_nodes + 1) * sizeof *degree);
    for (int32_t r = 0; r < n_nodes; r++) degree[r] = (int32_t)(indptr[r + 1] - indptr[r]);
    float *values = bb_malloc(((size_t)write + 1) * sizeof *values);
    for (int32_t r = 0; r < n_nodes; r++)
        for (int64_t k = indptr[r]; k < indptr[r + 1]; k++)
            values[k] = (float)(1.0 / sqrt((double)degree[r] * (double)degree[indices[k]]));
    g->n_users = n_users;
    g->n_items = n_items;
    g->n_nodes = n_nodes;
    g->nnz = write;
    g->indptr = indptr;
    g->indices = indices;
    g->values = values;
    g->degree = degree;
    return BB_OK;
}

void graph_adj_free(graph_adj *g) {
    if (!g) return;
    free(g->indptr);
    free(g->indices);
    free(g->values);
    free(g->degree);
    memset(g, 0, sizeof *g);
}

nn_csr graph_adj_csr(const graph_adj *g) {
    nn_csr a;
    memset(&a, 0, sizeof a);
    a.n_rows = a.n_cols = g->n_nodes;
    a.nnz = g->nnz;
    a.indptr64 = g->indptr;
    a.indices = g->indices;
    a.values = g->values;
    a.symmetric = 1;
    return a;
}

int32_t graph_adj_row_split(const graph_adj *g, int t, int n) {
    if (t <= 0) return 0;
    if (t >= n) return g->n_nodes;
    int64_t target = g->nnz * t / n;
    /* first row whose start is >= target (binary search over indptr) */
    int32_t lo = 0, hi = g->n_nodes;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (g->indptr[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
