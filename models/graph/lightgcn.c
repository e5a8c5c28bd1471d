/* lightgcn — fused LightGCN propagation kernels and the autograd op. See lightgcn.h. */
#include "models/graph/lightgcn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/base/bb_simd.h" /* 8-float vectors: same bits as the scalar path */
#include "models/nn/nn_ops.h"

/* The gathers from a large table (7.7 MB on yelp) miss L2; the loop is bound by their
 * latency, so the source row this many entries ahead is prefetched (measured best). */
#define LGCN_PREFETCH_AHEAD 8

void lgcn_plan_init(lgcn_plan *p, const graph_adj *g, int d, int layers, bb_pool *pool) {
    BB_ASSERT(d > 0 && layers >= 0, "lgcn_plan_init: need d > 0 and layers >= 0 (got %d, %d)",
              d, layers);
    memset(p, 0, sizeof *p);
    p->g = g;
    p->pool = pool;
    p->d = d;
    p->layers = layers;
    /* cache-line aligned: a 256-byte row spans exactly 4 lines, where a malloc'd (16-byte
     * aligned) one spans 5 and splits loads (measured ~10% of a layer) */
    size_t cells = (size_t)g->n_nodes * (size_t)d + 8;
    if (layers >= 2) p->layer_buf[0] = bb_aligned_malloc(cells * sizeof(float));
    if (layers >= 3) {
        p->layer_buf[1] = bb_aligned_malloc(cells * sizeof(float));
        p->sum_buf = bb_aligned_malloc(cells * sizeof(float));
    }
    p->n_threads = bb_pool_threads(pool);
    p->row_start = bb_malloc(((size_t)p->n_threads + 1) * sizeof *p->row_start);
    p->sink_buf = bb_malloc((size_t)p->n_threads * (size_t)d * sizeof *p->sink_buf);
    p->row_flag = bb_malloc((size_t)g->n_nodes + 1);
    for (int32_t r = 0; r < g->n_nodes; r++)
        if (g->degree[r] > p->max_degree) p->max_degree = g->degree[r];
    p->hit_buf = bb_malloc((size_t)p->n_threads * ((size_t)p->max_degree + 1) * sizeof *p->hit_buf);
    for (int t = 0; t <= p->n_threads; t++)
        p->row_start[t] = graph_adj_row_split(g, t, p->n_threads);
}

void lgcn_plan_free(lgcn_plan *p) {
    if (!p) return;
    bb_aligned_free(p->layer_buf[0]);
    bb_aligned_free(p->layer_buf[1]);
    bb_aligned_free(p->sum_buf);
    free(p->row_start);
    free(p->hit_buf);
    free(p->sink_buf);
    free(p->row_flag);
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
    lgcn_row_sink sink;  /* last layer: hand each row to sink instead of storing it */
    void *sink_ctx;
    const uint8_t *x_rows; /* NULL, or x is known to be zero where x_rows[r] == 0 */
    atomic_llong next;     /* the next block of rows (or of the list) to take */
    long long total, block;
} layer_job;

/* Rows go to the threads in fixed blocks, taken as threads come free: each row is computed
 * the same way whichever thread takes it, so results do not depend on timing, and a thread
 * that starts late (woken from sleep) or runs slower (a shared machine) no longer holds up
 * the others as a fixed split would. About 16 blocks per thread. */
static void blocks_init(atomic_llong *next, long long *total, long long *block, long long n,
                        int threads) {
    long long b = n / (16LL * (threads < 1 ? 1 : threads));
    *block = b < 64 ? 64 : b;
    *total = n;
    atomic_init(next, 0);
}

static int blocks_next(atomic_llong *next, long long total, long long block, long long *lo,
                       long long *hi) {
    const long long k = atomic_fetch_add(next, 1);
    if (k * block >= total) return 0;
    *lo = k * block;
    *hi = *lo + block < total ? *lo + block : total;
    return 1;
}

/* dst: where the last layer's values go (out + base, or the sink's row buffer). */
static void row_epilogue_scalar(const layer_job *j, size_t base, int width, const float *acc,
                                float *dst) {
    const float denom = (float)(j->p->layers + 1);
    const int x_zero = j->x_rows && !j->x_rows[base / (size_t)j->p->d];
    for (int c = 0; c < width; c++) {
        size_t at = base + (size_t)c;
        float xv = x_zero ? 0.0f : j->x[at];
        float prev = j->layer == 1 ? xv : j->layer == 2 ? xv + j->in[at] : j->sum[at];
        float s = prev + acc[c];
        if (!j->last) {
            j->layer_out[at] = acc[c];
            if (j->layer >= 2) j->sum[at] = s;
        } else {
            float v = s / denom;
            dst[c] = j->accumulate ? dst[c] + v : v;
        }
    }
}

/* The same operations on vectors. `mode` is a constant at every call site below, so each
 * case compiles to straight-line code (the generic loop over a mode kept the accumulators
 * in memory and cost a fifth of the layer). The _ZERO modes are rows where x is known to
 * be zero: 0 + v is computed without reading x (0 + v == v + 0 bit for bit, -0 included),
 * which spares the backward pass a read of its mostly-zero input. */
enum { EPI_PREV_X, EPI_PREV_X_IN, EPI_PREV_SUM, EPI_PREV_ZERO, EPI_PREV_ZERO_IN };

static inline void epilogue8(const layer_job *j, size_t at, bb_vec8f acc, int prev_mode,
                             float *dst) {
    const bb_vec8f zero = bb_splat8(0.0f);
    bb_vec8f prev = prev_mode == EPI_PREV_X         ? bb_load8(j->x + at)
                    : prev_mode == EPI_PREV_X_IN    ? bb_load8(j->x + at) + bb_load8(j->in + at)
                    : prev_mode == EPI_PREV_ZERO    ? zero
                    : prev_mode == EPI_PREV_ZERO_IN ? zero + bb_load8(j->in + at)
                                                    : bb_load8(j->sum + at);
    bb_vec8f s = prev + acc;
    if (!j->last) {
        bb_store8(j->layer_out + at, acc);
        if (prev_mode != EPI_PREV_X && prev_mode != EPI_PREV_ZERO) bb_store8(j->sum + at, s);
    } else {
        const float dn = (float)(j->p->layers + 1);
        bb_vec8f val = s / bb_splat8(dn);
        if (j->accumulate) val = bb_load8(dst) + val;
        bb_store8(dst, val);
    }
}

/* d == 64, the default width: a row in eight named accumulators, which stay in registers
 * once the helpers are inlined. */
typedef struct row64 {
    bb_vec8f a0, a1, a2, a3, a4, a5, a6, a7;
} row64;

/* acc += w * src[0..64), each product rounded and then added, as the scalar path does */
static inline void row64_axpy(row64 *acc, float w, const float *src) {
    const bb_vec8f wv = bb_splat8(w);
    acc->a0 += wv * bb_load8(src);
    acc->a1 += wv * bb_load8(src + 8);
    acc->a2 += wv * bb_load8(src + 16);
    acc->a3 += wv * bb_load8(src + 24);
    acc->a4 += wv * bb_load8(src + 32);
    acc->a5 += wv * bb_load8(src + 40);
    acc->a6 += wv * bb_load8(src + 48);
    acc->a7 += wv * bb_load8(src + 56);
}

#define EPILOGUE_ROW(mode)                                                                 \
    do {                                                                                   \
        epilogue8(j, base, acc.a0, mode, out_row);                                         \
        epilogue8(j, base + 8, acc.a1, mode, out_row + 8);                                 \
        epilogue8(j, base + 16, acc.a2, mode, out_row + 16);                               \
        epilogue8(j, base + 24, acc.a3, mode, out_row + 24);                               \
        epilogue8(j, base + 32, acc.a4, mode, out_row + 32);                               \
        epilogue8(j, base + 40, acc.a5, mode, out_row + 40);                               \
        epilogue8(j, base + 48, acc.a6, mode, out_row + 48);                               \
        epilogue8(j, base + 56, acc.a7, mode, out_row + 56);                               \
    } while (0)

static inline void row_d64(const layer_job *j, int32_t r) {
    const graph_adj *g = j->p->g;
    const int32_t *indices = g->indices;
    const float *values = g->values, *in = j->in;
    row64 acc = {{0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}};
    const int64_t end = g->indptr[r + 1];
    for (int64_t k = g->indptr[r]; k < end; k++) {
        if (k + LGCN_PREFETCH_AHEAD < g->nnz) {
            const float *ahead = in + (size_t)indices[k + LGCN_PREFETCH_AHEAD] * 64;
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 16);
            __builtin_prefetch(ahead + 32);
            __builtin_prefetch(ahead + 48);
        }
        row64_axpy(&acc, values[k], in + (size_t)indices[k] * 64);
    }
    const size_t base = (size_t)r * 64;
    float sink_row[64];
    float *out_row = j->last && j->sink ? sink_row : j->out + base;
    const int x_zero = j->x_rows && !j->x_rows[r];
    if (j->layer == 1 && !x_zero)
        EPILOGUE_ROW(EPI_PREV_X);
    else if (j->layer == 1)
        EPILOGUE_ROW(EPI_PREV_ZERO);
    else if (j->layer == 2 && !x_zero)
        EPILOGUE_ROW(EPI_PREV_X_IN);
    else if (j->layer == 2)
        EPILOGUE_ROW(EPI_PREV_ZERO_IN);
    else
        EPILOGUE_ROW(EPI_PREV_SUM);
    if (j->last && j->sink) j->sink(j->sink_ctx, r, sink_row);
}

/* Any width: columns in blocks of 64, plain scalar loops. */
/* sink_row: d floats of scratch for a sink (the calling thread's). */
static void row_generic(const layer_job *j, int32_t r, float *sink_row) {
    const graph_adj *g = j->p->g;
    const int d = j->p->d;
    float acc[64];
    float *out_row = j->last && j->sink ? sink_row : j->out + (size_t)r * d;
    for (int c0 = 0; c0 < d; c0 += 64) {
        const int width = d - c0 >= 64 ? 64 : d - c0;
        for (int c = 0; c < width; c++) acc[c] = 0.0f;
        for (int64_t k = g->indptr[r]; k < g->indptr[r + 1]; k++) {
            const float *src = j->in + (size_t)g->indices[k] * d + c0;
            const float w = g->values[k];
            for (int c = 0; c < width; c++) acc[c] += w * src[c];
        }
        row_epilogue_scalar(j, (size_t)r * d + c0, width, acc, out_row + c0);
    }
    if (j->last && j->sink) j->sink(j->sink_ctx, r, sink_row);
}

/* Blocks of all rows, or of a list. */
static void layer_worker(void *ctx, int t, int n) {
    layer_job *j = ctx;
    BB_ASSERT(n == j->p->n_threads, "lgcn: pool size changed since lgcn_plan_init");
    long long lo, hi;
    while (blocks_next(&j->next, j->total, j->block, &lo, &hi)) {
        if (j->p->d == 64) { /* direct calls, so the row kernel inlines into these loops */
            if (!j->rows)
                for (int32_t r = (int32_t)lo; r < (int32_t)hi; r++) row_d64(j, r);
            else
                for (int32_t i = (int32_t)lo; i < (int32_t)hi; i++) row_d64(j, j->rows[i]);
        } else {
            float *sink_row = j->p->sink_buf + (size_t)t * (size_t)j->p->d;
            for (int32_t i = (int32_t)lo; i < (int32_t)hi; i++)
                row_generic(j, j->rows ? j->rows[i] : i, sink_row);
        }
    }
}

typedef struct {
    const lgcn_plan *p;
    const float *x;
    float *out;
    int accumulate;
    lgcn_row_sink sink;
    void *sink_ctx;
} copy_job;

/* L = 0: F = E_0 / 1, which is E_0 exactly. */
static void copy_worker(void *ctx, int t, int n) {
    const copy_job *j = ctx;
    size_t d = (size_t)j->p->d;
    (void)n;
    if (j->sink) {
        for (int32_t r = j->p->row_start[t]; r < j->p->row_start[t + 1]; r++)
            j->sink(j->sink_ctx, r, j->x + (size_t)r * d);
        return;
    }
    size_t lo = (size_t)j->p->row_start[t] * d, hi = (size_t)j->p->row_start[t + 1] * d;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->accumulate ? j->out[i] + j->x[i] : j->x[i];
}

/* Layers first..L; layer 1 reads x. The last layer visits `rows` (NULL = all). */
static void run_layers(lgcn_plan *p, const float *x, const float *in, int first, float *out,
                       int accumulate, const int32_t *rows, int32_t n_rows, lgcn_row_sink sink,
                       void *sink_ctx, const uint8_t *x_rows) {
    for (int l = first; l <= p->layers; l++) {
        layer_job j = {p,    x,    in,   NULL, p->sum_buf, out, l, l == p->layers,
                       accumulate, NULL, 0, NULL, NULL, x_rows, 0, 0, 0};
        if (!j.last) j.layer_out = p->layer_buf[(l - 1) % 2];
        if (j.last) j.rows = rows, j.n_rows = n_rows, j.sink = sink, j.sink_ctx = sink_ctx;
        blocks_init(&j.next, &j.total, &j.block, j.rows ? n_rows : p->g->n_nodes, p->n_threads);
        bb_pool_run(p->pool, layer_worker, &j);
        in = j.layer_out;
    }
}

void lgcn_propagate(lgcn_plan *p, const float *x, float *out, int accumulate) {
    if (p->layers == 0) { /* F = E_0 / 1 */
        copy_job cj = {p, x, out, accumulate, NULL, NULL};
        bb_pool_run(p->pool, copy_worker, &cj);
        return;
    }
    run_layers(p, x, x, 1, out, accumulate, NULL, 0, NULL, NULL, NULL);
}

void lgcn_propagate_rows(lgcn_plan *p, const float *x, float *out, const int32_t *rows,
                         int32_t n_rows) {
    if (p->layers == 0) {
        size_t d = (size_t)p->d;
        for (int32_t i = 0; i < n_rows; i++)
            memcpy(out + (size_t)rows[i] * d, x + (size_t)rows[i] * d, d * sizeof(float));
        return;
    }
    run_layers(p, x, x, 1, out, 0, rows, n_rows, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------
 * Layer 1 from an input that is zero outside the listed rows (flagged in row_flag):
 * T = Â x, where row r sums only over its neighbours c with row_flag[c] set. The flagged
 * entries of a row are first compacted branch-free into a short list (a store and an add
 * per entry, no mispredicted branch), then gathered. Row r sums over them in its sorted
 * column order, so T equals the full gather bit for bit (the skipped terms are exact
 * zeros), while reading only the listed rows of x — the batch's few thousand rows, which
 * stay in cache, instead of the whole table. */
typedef struct {
    const lgcn_plan *p;
    const float *x;
    float *t_out;
    atomic_llong next; /* blocks of rows, as layer_job */
    long long total, block;
} restricted_job;

static void restricted_worker(void *ctx, int t, int n) {
    restricted_job *j = ctx;
    const lgcn_plan *p = j->p;
    const graph_adj *g = p->g;
    long long block_lo, block_hi;
    const int64_t *restrict indptr = g->indptr;
    const int32_t *restrict indices = g->indices;
    const float *restrict values = g->values;
    const uint8_t *restrict flag = p->row_flag;
    int64_t *restrict hits = p->hit_buf + (size_t)t * (size_t)(p->max_degree + 1);
    const size_t d = (size_t)p->d;
    (void)n;
    while (blocks_next(&j->next, j->total, j->block, &block_lo, &block_hi)) {
        for (int32_t r = (int32_t)block_lo; r < (int32_t)block_hi; r++) {
            int64_t nh = 0;
            for (int64_t k = indptr[r]; k < indptr[r + 1]; k++) {
                hits[nh] = k;
                nh += flag[indices[k]];
            }
            float *dst = j->t_out + (size_t)r * d;
            if (d == 64) {
                row64 acc = {{0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}};
                for (int64_t h = 0; h < nh; h++)
                    row64_axpy(&acc, values[hits[h]], j->x + (size_t)indices[hits[h]] * 64);
                bb_store8(dst, acc.a0);
                bb_store8(dst + 8, acc.a1);
                bb_store8(dst + 16, acc.a2);
                bb_store8(dst + 24, acc.a3);
                bb_store8(dst + 32, acc.a4);
                bb_store8(dst + 40, acc.a5);
                bb_store8(dst + 48, acc.a6);
                bb_store8(dst + 56, acc.a7);
            } else {
                for (size_t col = 0; col < d; col++) dst[col] = 0.0f;
                for (int64_t h = 0; h < nh; h++) {
                    const float *src = j->x + (size_t)indices[hits[h]] * d;
                    const float w = values[hits[h]];
                    for (size_t col = 0; col < d; col++) dst[col] += w * src[col];
                }
            }
        }
    }
}

static void propagate_sparse(lgcn_plan *p, const float *x, const int32_t *rows, int32_t n_rows,
                             float *out, lgcn_row_sink sink, void *sink_ctx) {
    if (p->layers == 0) {
        copy_job cj = {p, x, out, 0, sink, sink_ctx};
        bb_pool_run(p->pool, copy_worker, &cj);
        return;
    }
    /* x is zero outside the listed rows: mark them, so the epilogues skip reading zeros */
    memset(p->row_flag, 0, (size_t)p->g->n_nodes);
    for (int32_t i = 0; i < n_rows; i++) p->row_flag[rows[i]] = 1;
    if (p->layers == 1) { /* one hop: the plain layer */
        run_layers(p, x, x, 1, out, 0, NULL, 0, sink, sink_ctx, p->row_flag);
        return;
    }
    restricted_job rj = {p, x, p->layer_buf[0], 0, 0, 0};
    blocks_init(&rj.next, &rj.total, &rj.block, p->g->n_nodes, p->n_threads);
    bb_pool_run(p->pool, restricted_worker, &rj);
    /* E_1 is in layer_buf[0]; layer 2 onwards are ordinary full layers */
    run_layers(p, x, p->layer_buf[0], 2, out, 0, NULL, 0, sink, sink_ctx, p->row_flag);
}

void lgcn_propagate_sparse(lgcn_plan *p, const float *x, const int32_t *rows, int32_t n_rows,
                           float *out) {
    propagate_sparse(p, x, rows, n_rows, out, NULL, NULL);
}

void lgcn_propagate_sparse_to(lgcn_plan *p, const float *x, const int32_t *rows,
                              int32_t n_rows, lgcn_row_sink sink, void *sink_ctx) {
    BB_ASSERT(sink, "lgcn_propagate_sparse_to: no sink");
    propagate_sparse(p, x, rows, n_rows, NULL, sink, sink_ctx);
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
