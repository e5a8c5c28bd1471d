/* Benchmarks for models/nn: the sgemm reference figure and the CSR x dense kernel at
 * LightGCN size.
 *
 *   sgemm_1024      C = A B for 1024^3 at 2 BLAS threads, GFLOP/s (best of 5). The
 *                   reference against which our own kernels are judged on this machine.
 *   spmm_lightgcn   a random bipartite graph of ~15k users x ~15k items with ~315k
 *                   interactions (symmetric adjacency: ~30k rows, ~630k nnz), D^-1/2 A
 *                   D^-1/2 values, d = 64: ms per call for A x, for A^T x by column
 *                   ownership (no transpose stored), and for A^T x through an explicit
 *                   transpose, at 1 thread and at BB_THREADS (default: all cores). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "models/nn/nn.h"
#include "tests/bench/benchhelp.h"

static int bench_sgemm_1024(void) {
    const int n = 1024;
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    bb_rng r;
    bb_rng_seed(&r, 1, "bench/sgemm");
    for (int i = 0; i < n * n; i++) {
        a[i] = bb_rng_uniformf(&r) - 0.5f;
        b[i] = bb_rng_uniformf(&r) - 0.5f;
    }
    int saved = nn_get_threads();
    nn_set_threads(2);
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) { /* first run warms up */
        double t0 = bb_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double dt = bb_now() - t0;
        if (rep > 0 && dt < best) best = dt;
    }
    nn_set_threads(saved);
    bb_bench_report("sgemm 1024^3, 2 threads", 2.0 * n * n * (double)n / best / 1e9, "GFLOP/s",
                    NULL, 0);
    free(a);
    free(b);
    free(c);
    return 0;
}

typedef struct bench_graph {
    nn_csr csr;
    int64_t *indptr;
    int32_t *indices;
    float *values;
} bench_graph;

/* Users pick items with a skewed popularity (item = I * u^2), like real interaction data. */
static void make_graph(bench_graph *g, int64_t users, int64_t items, int64_t per_user) {
    int64_t n = users + items, edges = users * per_user;
    int32_t *eu = malloc((size_t)edges * sizeof(int32_t)), *ei = malloc((size_t)edges * sizeof(int32_t));
    bb_rng r;
    bb_rng_seed(&r, 7, "bench/graph");
    int64_t *deg = calloc((size_t)n, sizeof(int64_t));
    for (int64_t e = 0; e < edges; e++) {
        double u = bb_rng_uniform(&r);
        eu[e] = (int32_t)(e / per_user);
        ei[e] = (int32_t)(users + (int64_t)(items * u * u));
        deg[eu[e]]++;
        deg[ei[e]]++;
    }
    g->indptr = calloc((size_t)n + 1, sizeof(int64_t));
    for (int64_t v = 0; v < n; v++) g->indptr[v + 1] = g->indptr[v] + deg[v];
    g->indices = malloc((size_t)(2 * edges) * sizeof(int32_t));
    g->values = malloc((size_t)(2 * edges) * sizeof(float));
    int64_t *fill = malloc((size_t)n * sizeof(int64_t));
    memcpy(fill, g->indptr, (size_t)n * sizeof(int64_t));
    for (int64_t e = 0; e < edges; e++) {
        float w = (float)(1.0 / sqrt((double)deg[eu[e]] * (double)deg[ei[e]]));
        int64_t p = fill[eu[e]]++, q = fill[ei[e]]++;
        g->indices[p] = ei[e];
        g->values[p] = w;
        g->indices[q] = eu[e];
        g->values[q] = w;
    }
    memset(&g->csr, 0, sizeof g->csr);
    g->csr.n_rows = g->csr.n_cols = n;
    g->csr.nnz = 2 * edges;
    g->csr.indptr64 = g->indptr;
    g->csr.indices = g->indices;
    g->csr.values = g->values;
    free(fill);
    free(deg);
    free(eu);
    free(ei);
}

static double time_ms(const nn_csr *a, const float *x, float *out, int64_t d, int transposed) {
    double best = 1e30;
    for (int rep = 0; rep < 12; rep++) {
        double t0 = bb_now();
        if (transposed)
            nn_csr_spmm_t(a, x, d, out, 0);
        else
            nn_csr_spmm(a, x, d, out, 0);
        double dt = bb_now() - t0;
        if (rep > 1 && dt < best) best = dt;
    }
    return best * 1e3;
}

static int bench_spmm_lightgcn(void) {
    bench_graph g;
    make_graph(&g, 15000, 15000, 21);
    int64_t d = 64, n = g.csr.n_rows;
    bb_bench_note("graph: %lld rows, %lld nnz, d = %lld", (long long)n, (long long)g.csr.nnz,
                  (long long)d);
    float *x = malloc((size_t)(n * d) * sizeof(float)), *out = malloc((size_t)(n * d) * sizeof(float));
    bb_rng r;
    bb_rng_seed(&r, 8, "bench/x");
    for (int64_t i = 0; i < n * d; i++) x[i] = bb_rng_uniformf(&r) - 0.5f;
    nn_csr *t = nn_csr_transpose(&g.csr);
    nn_csr with_t = g.csr;
    with_t.transpose = t;
    int saved = nn_get_threads();
    int counts[2] = {1, bb_bench_threads()};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && counts[1] == 1) break;
        nn_set_threads(counts[k]);
        char name[96];
        double ms = time_ms(&g.csr, x, out, d, 0);
        snprintf(name, sizeof name, "spmm A x, %d thread(s)", counts[k]);
        bb_bench_report(name, ms, "ms", NULL, 0);
        snprintf(name, sizeof name, "spmm A x, %d thread(s), rate", counts[k]);
        bb_bench_report(name, 2.0 * (double)g.csr.nnz * (double)d / (ms * 1e-3) / 1e9, "GFLOP/s",
                        NULL, 0);
        snprintf(name, sizeof name, "spmm_t A^T x (column scan), %d thread(s)", counts[k]);
        bb_bench_report(name, time_ms(&g.csr, x, out, d, 1), "ms", NULL, 0);
        snprintf(name, sizeof name, "spmm_t A^T x (stored transpose), %d thread(s)", counts[k]);
        bb_bench_report(name, time_ms(&with_t, x, out, d, 1), "ms", NULL, 0);
    }
    nn_set_threads(saved);
    nn_csr_free(t);
    free(x);
    free(out);
    free(g.indptr);
    free(g.indices);
    free(g.values);
    return 0;
}

const bb_bench bb_benches_nn[] = {
    {"sgemm_1024", bench_sgemm_1024},
    {"spmm_lightgcn", bench_spmm_lightgcn},
    {NULL, NULL},
};
