/* nn_sparse — CSR x dense products (LightGCN propagation, He et al. 2020, eq. 7) with a
 * fixed pthread row split, the explicit transpose, and the two tape ops.
 *
 * Every output row is summed by one thread, entry by entry in stored order, starting from
 * 0 (or from the old value when accumulating): (((o + v1 x1) + v2 x2) + ...). The A^T
 * paths (explicit transpose, or the column-ownership scan) visit the entries of an output
 * row in increasing original-row order, so all paths give the same bits, whatever the
 * thread count. (ISO C mode keeps floating-point contraction off, so no FMA reordering.) */
#include "models/nn/nn_sparse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/nn/nn_ops_internal.h"

static inline int64_t row_begin(const nn_csr *a, int64_t r) {
    return a->indptr64 ? a->indptr64[r] : (int64_t)a->indptr32[r];
}

/* ------------------------------------------------------------------------------------------ */
/* validation and transpose */

int nn_csr_validate(const nn_csr *a, const char *what, bb_error *err) {
    if (!!a->indptr64 == !!a->indptr32)
        return bb_fail(err, "%s: CSR needs exactly one of indptr64/indptr32", what);
    if (a->n_rows < 0 || a->n_cols < 0 || a->nnz < 0)
        return bb_fail(err, "%s: CSR has negative sizes (%lld x %lld, nnz %lld)", what,
                       (long long)a->n_rows, (long long)a->n_cols, (long long)a->nnz);
    if (row_begin(a, 0) != 0)
        return bb_fail(err, "%s: indptr[0] is %lld, expected 0", what, (long long)row_begin(a, 0));
    for (int64_t r = 0; r < a->n_rows; r++)
        if (row_begin(a, r + 1) < row_begin(a, r))
            return bb_fail(err, "%s: indptr decreases at row %lld (%lld -> %lld)", what,
                           (long long)r, (long long)row_begin(a, r),
                           (long long)row_begin(a, r + 1));
    if (row_begin(a, a->n_rows) != a->nnz)
        return bb_fail(err, "%s: indptr[%lld] is %lld, expected nnz %lld", what,
                       (long long)a->n_rows, (long long)row_begin(a, a->n_rows),
                       (long long)a->nnz);
    for (int64_t k = 0; k < a->nnz; k++)
        if (a->indices[k] < 0 || a->indices[k] >= a->n_cols)
            return bb_fail(err, "%s: entry %lld has column %d, matrix has %lld columns", what,
                           (long long)k, (int)a->indices[k], (long long)a->n_cols);
    if (a->symmetric && a->n_rows != a->n_cols)
        return bb_fail(err, "%s: marked symmetric but is %lld x %lld", what,
                       (long long)a->n_rows, (long long)a->n_cols);
    return BB_OK;
}

typedef struct csr_storage {
    int64_t *indptr;
    int32_t *indices;
    float *values;
} csr_storage;

nn_csr *nn_csr_transpose(const nn_csr *a) {
    nn_csr *t = bb_calloc(1, sizeof *t);
    csr_storage *st = bb_calloc(1, sizeof *st);
    st->indptr = bb_calloc((size_t)a->n_cols + 1, sizeof(int64_t));
    st->indices = bb_malloc((size_t)(a->nnz ? a->nnz : 1) * sizeof(int32_t));
    st->values = bb_malloc((size_t)(a->nnz ? a->nnz : 1) * sizeof(float));
    for (int64_t k = 0; k < a->nnz; k++) st->indptr[a->indices[k] + 1]++;
    for (int64_t c = 0; c < a->n_cols; c++) st->indptr[c + 1] += st->indptr[c];
    int64_t *fill = bb_malloc((size_t)(a->n_cols ? a->n_cols : 1) * sizeof(int64_t));
    memcpy(fill, st->indptr, (size_t)a->n_cols * sizeof(int64_t));
    for (int64_t r = 0; r < a->n_rows; r++)
        for (int64_t k = row_begin(a, r); k < row_begin(a, r + 1); k++) {
            int64_t pos = fill[a->indices[k]]++;
            st->indices[pos] = (int32_t)r;
            st->values[pos] = a->values[k];
        }
    free(fill);
    t->n_rows = a->n_cols;
    t->n_cols = a->n_rows;
    t->nnz = a->nnz;
    t->indptr64 = st->indptr;
    t->indices = st->indices;
    t->values = st->values;
    t->transpose = a;
    t->symmetric = a->symmetric;
    t->owned = st;
    return t;
}

void nn_csr_free(nn_csr *a) {
    if (!a) return;
    csr_storage *st = a->owned;
    if (st) {
        free(st->indptr);
        free(st->indices);
        free(st->values);
        free(st);
    }
    free(a);
}

/* ------------------------------------------------------------------------------------------ */
/* row kernels: out rows [r0, r1) of A x. A local accumulator of constant width lets the
 * compiler keep it in vector registers without alias checks. */

/* Entries ahead whose x row is prefetched: the rows are scattered, so hardware prefetch
 * cannot guess them; 8 ahead hides most of the L2/L3 latency on x86 (measured in
 * tests/bench/bench_nn.c). */
#define SPMM_PREFETCH 8

#define SPMM_ROWS_FIXED(W)                                                                    \
    static void spmm_rows_w##W(const nn_csr *a, const float *x, int64_t d, float *out,      \
                               int accumulate, int64_t r0, int64_t r1) {                    \
        for (int64_t r = r0; r < r1; r++) {                                                 \
            int64_t k0 = row_begin(a, r), k1 = row_begin(a, r + 1);                         \
            for (int64_t c0 = 0; c0 < d; c0 += W) {                                         \
                float acc[W];                                                               \
                float *o = out + r * d + c0;                                                \
                for (int j = 0; j < W; j++) acc[j] = accumulate ? o[j] : 0.0f;              \
                for (int64_t k = k0; k < k1; k++) {                                         \
                    if (k + SPMM_PREFETCH < k1) {                                           \
                        const float *px = x + (int64_t)a->indices[k + SPMM_PREFETCH] * d + c0; \
                        for (int l = 0; l < W; l += 16) __builtin_prefetch(px + l);         \
                    }                                                                       \
                    const float v = a->values[k];                                           \
                    const float *xr = x + (int64_t)a->indices[k] * d + c0;                  \
                    for (int j = 0; j < W; j++) acc[j] += v * xr[j];                        \
                }                                                                           \
                for (int j = 0; j < W; j++) o[j] = acc[j];                                  \
            }                                                                               \
        }                                                                                   \
    }

SPMM_ROWS_FIXED(64)
SPMM_ROWS_FIXED(16)

/* o += v x over d floats; restrict and the fixed 16-wide body let the compiler vectorise
 * at -O2 without alias checks. Element order is that of a plain loop (bit-identical). */
static inline void axpy16(float *restrict o, const float *restrict x, float v) {
    for (int j = 0; j < 16; j++) o[j] += v * x[j];
}

static inline void axpy(float *restrict o, const float *restrict x, float v, int64_t d) {
    int64_t j = 0;
    for (; j + 16 <= d; j += 16) axpy16(o + j, x + j, v);
    for (; j < d; j++) o[j] += v * x[j];
}

static void spmm_rows_any(const nn_csr *a, const float *x, int64_t d, float *out,
                          int accumulate, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        float *o = out + r * d;
        if (!accumulate) memset(o, 0, (size_t)d * sizeof(float));
        for (int64_t k = row_begin(a, r); k < row_begin(a, r + 1); k++) {
            axpy(o, x + (int64_t)a->indices[k] * d, a->values[k], d);
        }
    }
}

static void spmm_rows(const nn_csr *a, const float *x, int64_t d, float *out, int accumulate,
                      int64_t r0, int64_t r1) {
    if (d % 64 == 0)
        spmm_rows_w64(a, x, d, out, accumulate, r0, r1);
    else if (d % 16 == 0)
        spmm_rows_w16(a, x, d, out, accumulate, r0, r1);
    else
        spmm_rows_any(a, x, d, out, accumulate, r0, r1);
}

/* A^T x restricted to output rows (= columns of A) in [c0, c1): scan every row of A in
 * order and keep the entries whose column this thread owns. */
static void spmm_t_cols(const nn_csr *a, const float *x, int64_t d, float *out,
                        int accumulate, int64_t c0, int64_t c1) {
    if (!accumulate) memset(out + c0 * d, 0, (size_t)((c1 - c0) * d) * sizeof(float));
    for (int64_t r = 0; r < a->n_rows; r++) {
        const float *xr = x + r * d;
        for (int64_t k = row_begin(a, r); k < row_begin(a, r + 1); k++) {
            int64_t c = a->indices[k];
            if (c < c0 || c >= c1) continue;
            axpy(out + c * d, xr, a->values[k], d);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* fixed thread split */

typedef struct spmm_job {
    const nn_csr *a;
    const float *x;
    float *out;
    int64_t d, lo, hi;
    int accumulate, transposed;
} spmm_job;

static void *spmm_worker(void *arg) {
    spmm_job *j = arg;
    if (j->transposed)
        spmm_t_cols(j->a, j->x, j->d, j->out, j->accumulate, j->lo, j->hi);
    else
        spmm_rows(j->a, j->x, j->d, j->out, j->accumulate, j->lo, j->hi);
    return NULL;
}

/* Below this many multiply-adds one thread is faster than starting others. */
#define SPMM_PARALLEL_MIN 200000

static int spmm_threads(const nn_csr *a, int64_t d, int64_t n_out_rows) {
    int t = nn_get_threads();
    if (a->nnz * d < SPMM_PARALLEL_MIN) t = 1;
    if (t > n_out_rows) t = (int)(n_out_rows > 0 ? n_out_rows : 1);
    return t;
}

/* First row whose entries start at or after target (binary search on indptr). */
static int64_t row_at_nnz(const nn_csr *a, int64_t target) {
    int64_t lo = 0, hi = a->n_rows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (row_begin(a, mid) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void run_jobs(spmm_job *jobs, int n) {
    if (n == 1) {
        spmm_worker(&jobs[0]);
        return;
    }
    pthread_t tid[64];
    for (int t = 1; t < n; t++)
        BB_ASSERT(pthread_create(&tid[t], NULL, spmm_worker, &jobs[t]) == 0,
                  "spmm: pthread_create failed for worker %d", t);
    spmm_worker(&jobs[0]);
    for (int t = 1; t < n; t++) pthread_join(tid[t], NULL);
}

void nn_csr_spmm(const nn_csr *a, const float *x, int64_t d, float *out, int accumulate) {
    int n = spmm_threads(a, d, a->n_rows);
    if (n > 64) n = 64;
    spmm_job jobs[64];
    /* rows split so that each thread gets about nnz/n entries */
    for (int t = 0; t < n; t++) {
        jobs[t] = (spmm_job){a, x, out, d, 0, 0, accumulate, 0};
        jobs[t].lo = t == 0 ? 0 : row_at_nnz(a, a->nnz * t / n);
        jobs[t].hi = t == n - 1 ? a->n_rows : row_at_nnz(a, a->nnz * (t + 1) / n);
    }
    run_jobs(jobs, n);
}

void nn_csr_spmm_t(const nn_csr *a, const float *x, int64_t d, float *out, int accumulate) {
    if (a->symmetric) {
        nn_csr_spmm(a, x, d, out, accumulate);
        return;
    }
    if (a->transpose) {
        nn_csr_spmm(a->transpose, x, d, out, accumulate);
        return;
    }
    int n = spmm_threads(a, d, a->n_cols);
    if (n > 64) n = 64;
    spmm_job jobs[64];
    for (int t = 0; t < n; t++) {
        jobs[t] = (spmm_job){a, x, out, d, a->n_cols * t / n, a->n_cols * (t + 1) / n,
                             accumulate, 1};
    }
    run_jobs(jobs, n);
}

/* ------------------------------------------------------------------------------------------ */
/* ops: spmm  A (R,C) x X (C,D) -> (R,D);  spmm_t  A^T (C,R) x X (R,D) -> (C,D) */

static nn_tensor *spmm_op(nn_tape *tp, const nn_csr *a, nn_tensor *x, int transposed) {
    int64_t in_rows = transposed ? a->n_rows : a->n_cols;
    int64_t out_rows = transposed ? a->n_cols : a->n_rows;
    BB_ASSERT(x->ndim == 2 && x->shape[0] == in_rows,
              "%s: dense input must be (%lld, D), got %d-D with %lld rows",
              transposed ? "spmm_t" : "spmm", (long long)in_rows, x->ndim,
              (long long)x->shape[0]);
    int64_t d = x->shape[1], s[2] = {out_rows, d};
    nn_tensor *out = nn_tape_out(tp, 2, s, x, NULL, NULL);
    if (transposed)
        nn_csr_spmm_t(a, x->data, d, out->data, 0);
    else
        nn_csr_spmm(a, x->data, d, out->data, 0);
    nn_node *n = nn_tape_record(tp, transposed ? NN_OP_SPMM_T : NN_OP_SPMM, out, x, NULL, NULL);
    if (n) n->aux = (void *)a; /* read-only; the caller keeps it alive (nn_sparse.h) */
    return out;
}

nn_tensor *nn_spmm(nn_tape *tp, const nn_csr *a, nn_tensor *x) { return spmm_op(tp, a, x, 0); }
nn_tensor *nn_spmm_t(nn_tape *tp, const nn_csr *a, nn_tensor *x) { return spmm_op(tp, a, x, 1); }

void nn_bw_spmm(nn_tape *tp, nn_node *n) {
    const nn_csr *a = n->aux;
    nn_tensor *x = n->in[0];
    float *gx = nn_tape_grad(tp, x);
    /* d(A x) / dx pulls back through A^T, and d(A^T x) through A */
    if (n->op == NN_OP_SPMM)
        nn_csr_spmm_t(a, n->out->grad, x->shape[1], gx, 1);
    else
        nn_csr_spmm(a, n->out->grad, x->shape[1], gx, 1);
}
