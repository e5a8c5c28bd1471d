/* lightgcn — fused LightGCN propagation kernels and the autograd op. See lightgcn.h. */
#include "models/graph/lightgcn.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/nn/nn_ops.h"

/* 8-float vectors (GCC/Clang vector extension): one AVX register, half an AVX-512 one;
 * Zen 4 executes 512-bit FMA as two 256-bit halves, so nothing is lost. No FMA contraction
 * (ISO C mode): each product is rounded, then added, exactly as the scalar path does, so
 * both paths give the same bits. */
typedef float vec8f __attribute__((vector_size(32)));

/* The gathers from a large table (7.7 MB on yelp) miss L2; the loop is bound by their
 * latency, so the source row this many entries ahead is prefetched (measured best). */
#define LGCN_PREFETCH_AHEAD 8

void lgcn_plan_init(lgcn_plan *p, const graph_adj *g, int d, int layers, graph_pool *pool) {
    BB_ASSERT(d > 0 && layers >= 0, "lgcn_plan_init: need d > 0 and layers >= 0 (got %d, %d)",
              d, layers);
    memset(p, 0, sizeof *p);
    p->g = g;
    p->pool = pool;
    p->d = d;
    p->layers = layers;
    size_t cells = (size_t)g->n_nodes * (size_t)d + 8;
    if (layers >= 2) p->layer_buf[0] = bb_malloc(cells * sizeof(float));
    if (layers >= 3) {
        p->layer_buf[1] = bb_malloc(cells * sizeof(float));
        p->sum_buf = bb_malloc(cells * sizeof(float));
    }
    p->n_threads = graph_pool_threads(pool);
    p->row_start = bb_malloc(((size_t)p->n_threads + 1) * sizeof *p->row_start);
    for (int t = 0; t <= p->n_threads; t++)
        p->row_start[t] = graph_adj_row_split(g, t, p->n_threads);
}

void lgcn_plan_free(lgcn_plan *p) {
    if (!p) return;
    free(p->layer_buf[0]);
    free(p->layer_buf[1]);
    free(p->sum_buf);
    free(p->row_start);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------------------------
 * One layer l of L over a set of rows: acc = (Â in)[r], in = E_{l-1} (E_0 = x), and
 *   prev = x[r] (l = 1) | x[r] + in[r] (l = 2: E_0 + E_1) | sum[r] (l >= 3)
 *   not last: layer_out[r] = acc; from l = 2 on also sum[r] = prev + acc
 *   last:     v = (prev + acc) / (L+1); out[r] = v, or out[r] + v when accumulating
 * so F = ((E_0 + E_1) + E_2 + ...) / (L+1) is summed in one fixed order whichever entry
 * point runs, and layer 1 writes only E_1 (layer 2 re-adds E_0 + E_1 on the fly). */
typedef struct {
    const lgcn_plan *p;
    const float *x, *in;
    float *layer_out, *sum, *out;
    int layer, last, accumulate;
    const int32_t *rows; /* NULL: each thread's range of all rows; else a sorted list */
    int32_t n_rows;
} layer_job;

static inline vec8f load8(const float *p) {
    vec8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store8(float *p, vec8f v) { memcpy(p, &v, sizeof v); }

static void row_epilogue_scalar(const layer_job *j, size_t base, int width, const float *acc) {
    const float denom = (float)(j->p->layers + 1);
    for (int c = 0; c < width; c++) {
        size_t at = base + (size_t)c;
        float prev = j->layer == 1 ? j->x[at]
                     : j->layer == 2 ? j->x[at] + j->in[at]
                                     : j->sum[at];
        float s = prev + acc[c];
        if (!j->last) {
            j->layer_out[at] = acc[c];
            if (j->layer >= 2) j->sum[at] = s;
        } else {
            float v = s / denom;
            j->out[at] = j->accumulate ? j->out[at] + v : v;
        }
    }
}

/* The same operations on 8 vectors, with one branch per row instead of per element. */
static inline void row_epilogue_d64(const layer_job *j, size_t base, const vec8f *acc) {
    const float dn = (float)(j->p->layers + 1);
    const vec8f denom = {dn, dn, dn, dn, dn, dn, dn, dn};
    for (int v = 0; v < 8; v++) {
        size_t at = base + 8 * (size_t)v;
        vec8f prev = j->layer == 1 ? load8(j->x + at)
                     : j->layer == 2 ? load8(j->x + at) + load8(j->in + at)
                                     : load8(j->sum + at);
        vec8f s = prev + acc[v];
        if (!j->last) {
            store8(j->layer_out + at, acc[v]);
            if (j->layer >= 2) store8(j->sum + at, s);
        } else {
            vec8f val = s / denom;
            if (j->accumulate) val = load8(j->out + at) + val;
            store8(j->out + at, val);
        }
    }
}

/* d == 64, the default width: eight named accumulators stay in registers. */
static inline void row_d64(const layer_job *j, int32_t r) {
    const graph_adj *g = j->p->g;
    const int32_t *indices = g->indices;
    const float *values = g->values, *in = j->in;
    vec8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    const int64_t end = g->indptr[r + 1];
    for (int64_t k = g->indptr[r]; k < end; k++) {
        if (k + LGCN_PREFETCH_AHEAD < g->nnz) {
            const float *ahead = in + (size_t)indices[k + LGCN_PREFETCH_AHEAD] * 64;
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 16);
            __builtin_prefetch(ahead + 32);
            __builtin_prefetch(ahead + 48);
        }
        const float *src = in + (size_t)indices[k] * 64;
        const float w = values[k];
        const vec8f wv = {w, w, w, w, w, w, w, w};
        a0 += wv * load8(src);
        a1 += wv * load8(src + 8);
        a2 += wv * load8(src + 16);
        a3 += wv * load8(src + 24);
        a4 += wv * load8(src + 32);
        a5 += wv * load8(src + 40);
        a6 += wv * load8(src + 48);
        a7 += wv * load8(src + 56);
    }
    const vec8f acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    row_epilogue_d64(j, (size_t)r * 64, acc);
}

/* Any width: columns in blocks of 64, plain scalar loops. */
static void row_generic(const layer_job *j, int32_t r) {
    const graph_adj *g = j->p->g;
    const int d = j->p->d;
    float acc[64];
    for (int c0 = 0; c0 < d; c0 += 64) {
        const int width = d - c0 >= 64 ? 64 : d - c0;
        for (int c = 0; c < width; c++) acc[c] = 0.0f;
        for (int64_t k = g->indptr[r]; k < g->indptr[r + 1]; k++) {
            const float *src = j->in + (size_t)g->indices[k] * d + c0;
            const float w = g->values[k];
            for (int c = 0; c < width; c++) acc[c] += w * src[c];
        }
        row_epilogue_scalar(j, (size_t)r * d + c0, width, acc);
    }
}

/* Rows of part t of n: a range of all rows split by nnz, or equal shares of a list. */
static void layer_worker(void *ctx, int t, int n) {
    const layer_job *j = ctx;
    BB_ASSERT(n == j->p->n_threads, "lgcn: pool size changed since lgcn_plan_init");
    int32_t lo, hi;
    if (!j->rows) {
        lo = j->p->row_start[t], hi = j->p->row_start[t + 1];
    } else {
        lo = (int32_t)((int64_t)j->n_rows * t / n);
        hi = (int32_t)((int64_t)j->n_rows * (t + 1) / n);
    }
    if (j->p->d == 64) { /* direct calls, so the row kernel inlines into these loops */
        if (!j->rows)
            for (int32_t r = lo; r < hi; r++) row_d64(j, r);
        else
            for (int32_t i = lo; i < hi; i++) row_d64(j, j->rows[i]);
    } else {
        for (int32_t i = lo; i < hi; i++) row_generic(j, j->rows ? j->rows[i] : i);
    }
}

typedef struct {
    const lgcn_plan *p;
    const float *x;
    float *out;
    int accumulate;
} copy_job;

static void copy_worker(void *ctx, int t, int n) {
    const copy_job *j = ctx;
    size_t d = (size_t)j->p->d;
    size_t lo = (size_t)j->p->row_start[t] * d, hi = (size_t)j->p->row_start[t + 1] * d;
    (void)n;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->accumulate ? j->out[i] + j->x[i] : j->x[i];
}

/* Layers first..L; layer 1 reads x. The last layer visits `rows` (NULL = all). */
static void run_layers(lgcn_plan *p, const float *x, const float *in, int first, float *out,
                       int accumulate, const int32_t *rows, int32_t n_rows) {
    for (int l = first; l <= p->layers; l++) {
        layer_job j = {p, x, in, NULL, p->sum_buf, out, l, l == p->layers, accumulate, NULL, 0};
        if (!j.last) j.layer_out = p->layer_buf[(l - 1) % 2];
        if (j.last) j.rows = rows, j.n_rows = n_rows;
        graph_pool_run(p->pool, layer_worker, &j);
        in = j.layer_out;
    }
}

void lgcn_propagate(lgcn_plan *p, const float *x, float *out, int accumulate) {
    if (p->layers == 0) { /* F = E_0 / 1 */
        copy_job cj = {p, x, out, accumulate};
        graph_pool_run(p->pool, copy_worker, &cj);
        return;
    }
    run_layers(p, x, x, 1, out, accumulate, NULL, 0);
}

void lgcn_propagate_rows(lgcn_plan *p, const float *x, float *out, const int32_t *rows,
                         int32_t n_rows) {
    if (p->layers == 0) {
        size_t d = (size_t)p->d;
        for (int32_t i = 0; i < n_rows; i++)
            memcpy(out + (size_t)rows[i] * d, x + (size_t)rows[i] * d, d * sizeof(float));
        return;
    }
    run_layers(p, x, x, 1, out, 0, rows, n_rows);
}

/* ------------------------------------------------------------------------------------------
 * Layer 1 from an input that is zero outside `rows`: T = Â x by scattering each listed
 * row's contribution to its neighbours. Each thread owns the output rows of its range and
 * skips the rest, and T[r] accumulates over the listed c in ascending order — the order of
 * row r's sorted column indices — so T equals the gather Σ_c Â[r,c] x[c] bit for bit (the
 * skipped terms are exact zeros). Â[r,c] == Â[c,r] bitwise: the same product of degrees. */
typedef struct {
    const lgcn_plan *p;
    const float *x;
    float *t_out;
    const int32_t *rows;
    int32_t n_rows;
} scatter_job;

static void scatter_worker(void *ctx, int t, int n) {
    const scatter_job *j = ctx;
    const graph_adj *g = j->p->g;
    const size_t d = (size_t)j->p->d;
    const int32_t lo = j->p->row_start[t], hi = j->p->row_start[t + 1];
    (void)n;
    memset(j->t_out + (size_t)lo * d, 0, (size_t)(hi - lo) * d * sizeof(float));
    for (int32_t i = 0; i < j->n_rows; i++) {
        const int32_t c = j->rows[i];
        const float *src = j->x + (size_t)c * d;
        /* neighbours are sorted: skip to this thread's range */
        int64_t k = g->indptr[c], end = g->indptr[c + 1];
        int64_t a = k, b = end;
        while (a < b) {
            int64_t mid = a + (b - a) / 2;
            if (g->indices[mid] < lo)
                a = mid + 1;
            else
                b = mid;
        }
        for (k = a; k < end && g->indices[k] < hi; k++) {
            float *dst = j->t_out + (size_t)g->indices[k] * d;
            const float w = g->values[k];
            if (d == 64) {
                const vec8f wv = {w, w, w, w, w, w, w, w};
                for (int v = 0; v < 8; v++) store8(dst + 8 * v, load8(dst + 8 * v) + wv * load8(src + 8 * v));
            } else {
                for (size_t col = 0; col < d; col++) dst[col] += w * src[col];
            }
        }
    }
}

void lgcn_propagate_sparse(lgcn_plan *p, const float *x, const int32_t *rows, int32_t n_rows,
                           float *out) {
    if (p->layers <= 1) { /* nothing to gain: P x has at most one hop */
        lgcn_propagate(p, x, out, 0);
        return;
    }
    scatter_job sj = {p, x, p->layer_buf[0], rows, n_rows};
    graph_pool_run(p->pool, scatter_worker, &sj);
    /* E_1 is in layer_buf[0]; layer 2 onwards are ordinary full layers */
    run_layers(p, x, p->layer_buf[0], 2, out, 0, NULL, 0);
}

/* ------------------------------------------------------------------------------------------
 * The autograd op: mean of layers built from tape ops; nn_spmm's backward uses Â^T = Â. */

nn_tensor *lgcn_forward(nn_tape *tp, const nn_csr *adj, nn_tensor *ego, int layers) {
    BB_ASSERT(ego->ndim == 2 && ego->shape[0] == adj->n_rows && adj->n_rows == adj->n_cols,
              "lgcn_forward: ego must be (%lld, D) for a square adjacency",
              (long long)adj->n_rows);
    nn_tensor *cur = ego, *sum = ego;
    for (int l = 1; l <= layers; l++) {
        cur = nn_spmm(tp, adj, cur);
        sum = nn_add(tp, sum, cur);
    }
    return layers == 0 ? sum : nn_scale(tp, sum, 1.0f / (float)(layers + 1));
}
