/* nn_sparse — CSR sparse matrix times dense matrix, the LightGCN propagation kernel.
 *
 * An nn_csr is a plain description of caller-owned arrays (nothing is copied or freed by
 * the ops): row r holds entries indices[k], values[k] for k in [indptr[r], indptr[r+1]).
 * indptr is int64 (indptr64) or int32 (indptr32): set exactly one. Column indices within
 * a row need not be sorted. nn_csr_transpose() builds an owned transpose (free with
 * nn_csr_free); attach it as `transpose` to let A^T products run row-parallel too.
 * Setting `symmetric` says A == A^T (LightGCN's normalised bipartite adjacency over
 * users+items), so A^T x is computed as A x.
 *
 * Threads and determinism: the output rows are split into nn_get_threads() contiguous
 * ranges of about equal nnz; each output row is summed by one thread in the stored entry
 * order. A^T x without a transpose uses column ownership (each thread scans all rows in
 * order and keeps the output rows it owns), so its sums also run in a fixed order.
 * Results are therefore bit-identical across runs AND across thread counts.
 */
#ifndef NN_SPARSE_H
#define NN_SPARSE_H

#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_tape.h"

typedef struct nn_csr {
    int64_t n_rows, n_cols, nnz;
    const int64_t *indptr64; /* n_rows+1 entries, or NULL */
    const int32_t *indptr32; /* n_rows+1 entries, or NULL */
    const int32_t *indices;  /* nnz column ids */
    const float *values;     /* nnz values */
    const struct nn_csr *transpose; /* optional, (n_cols, n_rows) */
    int symmetric;           /* A == A^T (square) */
    void *owned;             /* internal: storage of nn_csr_transpose results */
} nn_csr;

/* Checks indptr monotone from 0 to nnz and indices in [0, n_cols); one-line error. */
int nn_csr_validate(const nn_csr *a, const char *what, bb_error *err);
/* Builds A^T (int64 indptr, rows' entries in increasing original-row order). The result
 * owns its arrays: release with nn_csr_free. */
nn_csr *nn_csr_transpose(const nn_csr *a);
void nn_csr_free(nn_csr *a); /* only for nn_csr_transpose results; NULL is fine */

/* Raw kernels (no tape): out (R,D) (=|+=) A x for x (C,D); out (C,D) (=|+=) A^T x for
 * x (R,D). accumulate=0 overwrites. Threaded as described above. */
void nn_csr_spmm(const nn_csr *a, const float *x, int64_t d, float *out, int accumulate);
void nn_csr_spmm_t(const nn_csr *a, const float *x, int64_t d, float *out, int accumulate);

/* Ops: A (R,C) x X (C,D) -> (R,D), and A^T X for X (R,D) -> (C,D). The csr (and its
 * arrays and transpose) must stay alive until backward has run. */
nn_tensor *nn_spmm(nn_tape *tp, const nn_csr *a, nn_tensor *x);
nn_tensor *nn_spmm_t(nn_tape *tp, const nn_csr *a, nn_tensor *x);

#endif
