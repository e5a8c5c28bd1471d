/* Tests for models/graph: normalised bipartite adjacency, LightGCN propagation (fused
 * kernels against a dense double reference, thread/row-subset invariance), the autograd
 * op's gradient (central differences) and backward = propagation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/graph/graph_adj.h"
#include "models/base/bb_pool.h"
#include "models/graph/lightgcn.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"

static void test_adjacency_hand_worked(void) {
    /* users 0,1; items 0,1,2 (nodes 2,3,4). Pairs (0,0) (0,1) (1,1) and (0,0) again.
     * deg: u0 2, u1 1, i0 1, i1 2, i2 0 (an item seen only outside training). */
    const int32_t u[] = {0, 0, 1, 0}, i[] = {0, 1, 1, 0};
    graph_adj g;
    bb_error err;
    TEST_OK(graph_adj_build(&g, 2, 3, u, i, 4, &err), &err);
    TEST_EQ_INT(g.n_nodes, 5);
    TEST_EQ_INT(g.nnz, 6);
    const int64_t indptr[] = {0, 2, 3, 4, 6, 6};
    for (int r = 0; r <= 5; r++) TEST_EQ_INT(g.indptr[r], indptr[r]);
    const int32_t cols[] = {2, 3, 3, 0, 0, 1};
    for (int k = 0; k < 6; k++) TEST_EQ_INT(g.indices[k], cols[k]);
    TEST_NEAR(g.values[0], 1.0 / sqrt(2.0), 1e-7); /* (u0, i0): 1/sqrt(2*1) */
    TEST_NEAR(g.values[1], 0.5, 0);                /* (u0, i1): 1/sqrt(2*2) */
    TEST_NEAR(g.values[2], 1.0 / sqrt(2.0), 1e-7); /* (u1, i1): 1/sqrt(1*2) */
    TEST_NEAR(g.values[3], 1.0 / sqrt(2.0), 1e-7); /* (i0, u0) = (u0, i0) */
    TEST_EQ_INT(g.degree[4], 0);
    nn_csr a = graph_adj_csr(&g);
    TEST_TRUE(a.symmetric);
    TEST_OK(nn_csr_validate(&a, "adjacency", &err), &err);
    graph_adj_free(&g);

    const int32_t bad_i[] = {3};
    TEST_ERR_CONTAINS(graph_adj_build(&g, 2, 3, u, bad_i, 1, &err), &err,
                      "pair 0: item 3 outside [0, 3)");
}

/* A random bipartite graph with some isolated nodes. */
static void random_graph(graph_adj *g, int32_t n_users, int32_t n_items, size_t n_pairs,
                         uint64_t seed) {
    bb_rng r;
    bb_rng_seed(&r, seed, "test/graph");
    int32_t *u = bb_malloc(n_pairs * sizeof *u), *it = bb_malloc(n_pairs * sizeof *it);
    for (size_t p = 0; p < n_pairs; p++) {
        u[p] = (int32_t)bb_rng_below(&r, (uint64_t)n_users - 1); /* last user isolated */
        it[p] = (int32_t)bb_rng_below(&r, (uint64_t)n_items - 2); /* last 2 items isolated */
    }
    bb_error err;
    BB_ASSERT(graph_adj_build(g, n_users, n_items, u, it, n_pairs, &err) == BB_OK, "%s", err.msg);
    free(u);
    free(it);
}

static float *random_matrix(size_t n, uint64_t seed) {
    bb_rng r;
    bb_rng_seed(&r, seed, "test/matrix");
    float *m = bb_malloc(n * sizeof *m);
    for (size_t i = 0; i < n; i++) m[i] = (float)(2.0 * bb_rng_uniform(&r) - 1.0);
    return m;
}

/* Dense double reference of P x = mean_{l=0..L} Â^l x. */
static void reference_propagate(const graph_adj *g, const float *x, int d, int layers, double *out) {
    size_t cells = (size_t)g->n_nodes * d;
    double *cur = bb_malloc(cells * sizeof *cur), *next = bb_malloc(cells * sizeof *next);
    for (size_t i = 0; i < cells; i++) out[i] = cur[i] = x[i];
    for (int l = 1; l <= layers; l++) {
        for (int32_t r = 0; r < g->n_nodes; r++)
            for (int c = 0; c < d; c++) {
                double s = 0;
                for (int64_t k = g->indptr[r]; k < g->indptr[r + 1]; k++)
                    s += (double)g->values[k] * cur[(size_t)g->indices[k] * d + c];
                next[(size_t)r * d + c] = s;
            }
        for (size_t i = 0; i < cells; i++) out[i] += (cur[i] = next[i]);
    }
    for (size_t i = 0; i < cells; i++) out[i] /= layers + 1;
    free(cur);
    free(next);
}

static void test_propagation_matches_dense_reference(void) {
    graph_adj g;
    random_graph(&g, 23, 17, 120, 1);
    const int dims[] = {64, 5, 72};
    for (int di = 0; di < 3; di++) {
        int d = dims[di];
        size_t cells = (size_t)g.n_nodes * d;
        float *x = random_matrix(cells, 2 + di), *out = bb_malloc(cells * sizeof *out);
        double *ref = bb_malloc(cells * sizeof *ref);
        for (int layers = 0; layers <= 3; layers++) {
            bb_pool *pool = bb_pool_new(2);
            lgcn_plan p;
            lgcn_plan_init(&p, &g, d, layers, pool);
            lgcn_propagate(&p, x, out, 0);
            reference_propagate(&g, x, d, layers, ref);
            double max_err = 0;
            for (size_t i = 0; i < cells; i++) max_err = fmax(max_err, fabs(out[i] - ref[i]));
            TEST_NEAR(max_err, 0.0, 1e-6);
            /* the isolated last item keeps only its layer-0 share */
            size_t last = (size_t)(g.n_nodes - 1) * d;
            TEST_NEAR(out[last], x[last] / (layers + 1), 1e-7);
            /* accumulate adds on top */
            float *acc = bb_malloc(cells * sizeof *acc);
            for (size_t i = 0; i < cells; i++) acc[i] = 1.0f;
            lgcn_propagate(&p, x, acc, 1);
            for (size_t i = 0; i < cells; i += 7) TEST_NEAR(acc[i], 1.0f + out[i], 1e-6);
            free(acc);
            lgcn_plan_free(&p);
            bb_pool_free(pool);
        }
        free(x);
        free(out);
        free(ref);
    }
    graph_adj_free(&g);
}

static void test_propagation_bit_identical_across_threads_and_subsets(void) {
    graph_adj g;
    random_graph(&g, 60, 45, 700, 3);
    const int d = 64;
    size_t cells = (size_t)g.n_nodes * d;
    float *x = random_matrix(cells, 9);
    float *ref = bb_malloc(cells * sizeof *ref), *out = bb_malloc(cells * sizeof *out);
    for (int layers = 1; layers <= 3; layers++) {
        bb_pool *pool1 = bb_pool_new(1);
        lgcn_plan p1;
        lgcn_plan_init(&p1, &g, d, layers, pool1);
        lgcn_propagate(&p1, x, ref, 0);
        for (int threads = 2; threads <= 3; threads++) {
            bb_pool *pool = bb_pool_new(threads);
            lgcn_plan p;
            lgcn_plan_init(&p, &g, d, layers, pool);
            lgcn_propagate(&p, x, out, 0);
            TEST_TRUE(memcmp(out, ref, cells * sizeof *out) == 0);
            /* a row subset gives the same rows */
            const int32_t rows[] = {0, 5, 59, 60, 61, 104};
            memset(out, 0, cells * sizeof *out);
            lgcn_propagate_rows(&p, x, out, rows, 6);
            for (int i = 0; i < 6; i++)
                TEST_TRUE(memcmp(out + (size_t)rows[i] * d, ref + (size_t)rows[i] * d,
                                 d * sizeof *out) == 0);
            TEST_TRUE(out[(size_t)1 * d] == 0.0f); /* unlisted rows untouched */
            /* an input that is zero outside a row list: the scatter path equals the gather */
            float *sparse = bb_calloc(cells, sizeof *sparse);
            float *full = bb_malloc(cells * sizeof *full);
            for (int i = 0; i < 6; i++)
                memcpy(sparse + (size_t)rows[i] * d, x + (size_t)rows[i] * d, d * sizeof *x);
            lgcn_propagate(&p1, sparse, full, 0);
            lgcn_propagate_sparse(&p, sparse, rows, 6, out);
            TEST_TRUE(memcmp(out, full, cells * sizeof *out) == 0);
            free(sparse);
            free(full);
            lgcn_plan_free(&p);
            bb_pool_free(pool);
        }
        lgcn_plan_free(&p1);
        bb_pool_free(pool1);
    }
    free(x);
    free(ref);
    free(out);
    graph_adj_free(&g);
}

typedef struct {
    float *dst;
    int d;
} sink_probe;

static void sink_store(void *ctx, int32_t row, const float *values) {
    sink_probe *s = ctx;
    memcpy(s->dst + (size_t)row * s->d, values, (size_t)s->d * sizeof *values);
}

static void test_sparse_propagation_to_a_sink(void) {
    /* Every row handed to a sink equals the stored result, for each depth and width. */
    graph_adj g;
    random_graph(&g, 40, 33, 300, 13);
    const int dims[] = {64, 6};
    const int32_t rows[] = {1, 7, 39, 40, 52, 71};
    for (int di = 0; di < 2; di++) {
        int d = dims[di];
        size_t cells = (size_t)g.n_nodes * d;
        float *x = bb_calloc(cells, sizeof *x), *stored = bb_malloc(cells * sizeof *stored),
              *sunk = bb_malloc(cells * sizeof *sunk);
        float *dense = random_matrix(cells, 31);
        for (int i = 0; i < 6; i++)
            memcpy(x + (size_t)rows[i] * d, dense + (size_t)rows[i] * d, d * sizeof *x);
        for (int layers = 0; layers <= 3; layers++) {
            bb_pool *pool = bb_pool_new(2);
            lgcn_plan p;
            lgcn_plan_init(&p, &g, d, layers, pool);
            lgcn_propagate_sparse(&p, x, rows, 6, stored);
            for (size_t i = 0; i < cells; i++) sunk[i] = NAN;
            sink_probe probe = {sunk, d};
            lgcn_propagate_sparse_to(&p, x, rows, 6, sink_store, &probe);
            TEST_TRUE(memcmp(sunk, stored, cells * sizeof *sunk) == 0);
            lgcn_plan_free(&p);
            bb_pool_free(pool);
        }
        free(x);
        free(stored);
        free(sunk);
        free(dense);
    }
    graph_adj_free(&g);
}

/* ------------------------------------------------------------------------------------------
 * The autograd op. Loss = sum(F ⊙ F ⊙ W) / 2 with a fixed W, nonlinear in the ego
 * embeddings, so the check exercises the spmm backward and the mean. */
typedef struct {
    const nn_csr *adj;
    int layers;
    nn_tensor *w;
} op_ctx;

static nn_tensor *op_loss(nn_tape *tp, nn_tensor **params, int n_params, void *ctx) {
    (void)n_params;
    op_ctx *c = ctx;
    nn_tensor *f = lgcn_forward(tp, c->adj, params[0], c->layers);
    nn_tensor *sq = nn_mul(tp, nn_mul(tp, f, f), c->w);
    return nn_scale(tp, nn_sum(tp, sq), 0.5f);
}

static void test_autograd_op_gradient_check(void) {
    graph_adj g;
    random_graph(&g, 9, 7, 25, 5);
    nn_csr adj = graph_adj_csr(&g);
    const int d = 4;
    nn_tensor *ego = nn_tensor_new2(g.n_nodes, d, 1);
    nn_tensor *w = nn_tensor_new2(g.n_nodes, d, 0);
    float *xe = random_matrix((size_t)g.n_nodes * d, 11), *xw = random_matrix((size_t)g.n_nodes * d, 12);
    nn_tensor_copy_from(ego, xe);
    nn_tensor_copy_from(w, xw);
    for (int layers = 1; layers <= 3; layers++) {
        op_ctx c = {&adj, layers, w};
        nn_gradcheck_opts o = nn_gradcheck_defaults();
        o.step = 1e-2;
        o.max_elems = 200;
        nn_gradcheck_report rep;
        double err = nn_gradcheck(op_loss, &c, &ego, 1, &o, &rep);
        char line[256];
        nn_gradcheck_format(&rep, line, sizeof line);
        if (!(err < 2e-3)) bb_test_fail(__FILE__, __LINE__, "layers %d: %s", layers, line);
        TEST_TRUE(err < 2e-3);
        TEST_TRUE(rep.n_checked >= (int64_t)g.n_nodes * d);
    }
    nn_tensor_free(ego);
    nn_tensor_free(w);
    free(xe);
    free(xw);
    graph_adj_free(&g);
}

static void test_backward_is_propagation_and_op_matches_kernel(void) {
    /* For L = sum(F ⊙ W): dL/dE0 = P W (P symmetric). The tape's gradient must equal the
     * fused kernel applied to W, and the tape's forward the kernel's forward. */
    graph_adj g;
    random_graph(&g, 31, 26, 300, 7);
    nn_csr adj = graph_adj_csr(&g);
    const int d = 64, layers = 2;
    size_t cells = (size_t)g.n_nodes * d;
    float *xe = random_matrix(cells, 21), *xw = random_matrix(cells, 22);
    nn_tensor *ego = nn_tensor_new2(g.n_nodes, d, 1);
    nn_tensor_copy_from(ego, xe);
    nn_tape *tp = nn_tape_new();
    nn_tensor *wt = nn_tape_from(tp, 2, (int64_t[]){g.n_nodes, d}, xw);
    nn_tensor *f = lgcn_forward(tp, &adj, ego, layers);
    nn_tensor *loss = nn_sum(tp, nn_mul(tp, f, wt));
    nn_tape_backward(tp, loss);

    bb_pool *pool = bb_pool_new(2);
    lgcn_plan p;
    lgcn_plan_init(&p, &g, d, layers, pool);
    float *fwd = bb_malloc(cells * sizeof *fwd), *bwd = bb_malloc(cells * sizeof *bwd);
    lgcn_propagate(&p, xe, fwd, 0);
    lgcn_propagate(&p, xw, bwd, 0);
    double max_f = 0, max_g = 0;
    for (size_t i = 0; i < cells; i++) {
        max_f = fmax(max_f, fabs(fwd[i] - f->data[i]));
        max_g = fmax(max_g, fabs(bwd[i] - ego->grad[i]));
    }
    TEST_NEAR(max_f, 0.0, 1e-6);
    TEST_NEAR(max_g, 0.0, 1e-6);
    free(fwd);
    free(bwd);
    lgcn_plan_free(&p);
    bb_pool_free(pool);
    nn_tape_free(tp);
    nn_tensor_free(ego);
    free(xe);
    free(xw);
    graph_adj_free(&g);
}

typedef struct {
    int hits[4];
    int n_seen[4];
} pool_probe;

static void pool_probe_fn(void *ctx, int t, int n) {
    pool_probe *p = ctx;
    p->hits[t]++; /* each t is called exactly once per run, so no two threads share a slot */
    p->n_seen[t] = n;
}

static void test_pool_runs_every_part_once(void) {
    bb_pool *pool = bb_pool_new(3);
    TEST_EQ_INT(bb_pool_threads(pool), 3);
    pool_probe probe;
    memset(&probe, 0, sizeof probe);
    for (int rep = 0; rep < 200; rep++) bb_pool_run(pool, pool_probe_fn, &probe);
    for (int t = 0; t < 3; t++) {
        TEST_EQ_INT(probe.hits[t], 200);
        TEST_EQ_INT(probe.n_seen[t], 3);
    }
    TEST_EQ_INT(probe.hits[3], 0);
    bb_pool_free(pool);
    long long lo, hi, covered = 0;
    for (int t = 0; t < 3; t++) {
        bb_pool_split(10, t, 3, &lo, &hi);
        TEST_EQ_INT(lo, covered);
        covered = hi;
    }
    TEST_EQ_INT(covered, 10);
}

const bb_test bb_suite_graph[] = {
    {"adjacency_hand_worked", test_adjacency_hand_worked},
    {"propagation_matches_dense_reference", test_propagation_matches_dense_reference},
    {"propagation_bit_identical_across_threads_and_subsets",
     test_propagation_bit_identical_across_threads_and_subsets},
    {"sparse_propagation_to_a_sink", test_sparse_propagation_to_a_sink},
    {"autograd_op_gradient_check", test_autograd_op_gradient_check},
    {"backward_is_propagation_and_op_matches_kernel",
     test_backward_is_propagation_and_op_matches_kernel},
    {"pool_runs_every_part_once", test_pool_runs_every_part_once},
    {NULL, NULL},
};
