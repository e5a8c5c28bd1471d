/* Tests for the core of models/nn: tensors and views, the arena, the tape, matmul/bmm,
 * broadcast arithmetic, reductions, gather/scatter, MSE, CSR products (values, gradient,
 * bit-identical results across thread counts), and the gradient checker itself. Every op
 * has a central difference gradient check. The parameter registry and optimizers are in
 * test_nn_optim.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/nn_testutil.h"

/* ------------------------------------------------------------------------------------------ */
/* tensors, views, arena */

static void test_views_share_storage(void) {
    nn_tensor *t = nn_tensor_new2(4, 3, 1);
    for (int i = 0; i < 12; i++) t->data[i] = (float)i;
    nn_tensor rows = nn_tensor_view_rows(t, 1, 2);
    TEST_EQ_INT(rows.numel, 6);
    TEST_EQ_INT(rows.shape[0], 2);
    TEST_NEAR(rows.data[0], 3.0, 0);
    rows.data[1] = 100.0f;   /* writes through to the base */
    rows.grad[5] = 7.0f;
    TEST_NEAR(t->data[4], 100.0, 0);
    TEST_NEAR(t->grad[8], 7.0, 0);
    int64_t s[3] = {2, 2, 3};
    nn_tensor v = nn_tensor_view_shape(t, 3, s);
    TEST_EQ_INT(v.ndim, 3);
    TEST_TRUE(v.data == t->data);
    char buf[64];
    TEST_STR_EQ(nn_shape_str(&v, buf, sizeof buf), "(2, 2, 3)");
    TEST_EQ_INT(nn_tensor_rows(&v), 4);
    TEST_EQ_INT(nn_tensor_cols(&v), 3);
    nn_tensor_free(t);
}

static void test_arena_alignment_and_reset(void) {
    nn_arena a;
    nn_arena_init(&a, 1024);
    void *p1 = nn_arena_alloc(&a, 10);
    void *p2 = nn_arena_alloc(&a, 10);
    TEST_EQ_INT((uintptr_t)p1 % 64, 0);
    TEST_EQ_INT((uintptr_t)p2 % 64, 0);
    TEST_TRUE(p1 != p2);
    void *big = nn_arena_alloc(&a, 5000); /* larger than a chunk: own chunk */
    memset(big, 1, 5000);
    memset(p1, 2, 10);                    /* earlier allocations stay valid */
    TEST_EQ_INT(((unsigned char *)p1)[9], 2);
    nn_arena_reset(&a);
    TEST_EQ_INT(a.used, 0);
    TEST_TRUE(a.peak >= 5000 + 128);
    /* after the reset one chunk holds the whole peak: the same step fits without growth */
    void *q1 = nn_arena_alloc(&a, 10);
    nn_arena_alloc(&a, 10);
    nn_arena_alloc(&a, 5000);
    TEST_TRUE(a.chunks != NULL);
    TEST_EQ_INT((uintptr_t)q1 % 64, 0);
    float *z = nn_arena_calloc(&a, 64 * sizeof(float));
    for (int i = 0; i < 64; i++) TEST_NEAR(z[i], 0.0, 0);
    nn_arena_free(&a);
}

static void test_tape_grad_mode_off_records_nothing(void) {
    nn_tensor *a = nn_test_rand2(3, 3, 1);
    nn_tape *tp = nn_tape_new();
    nn_tape_set_grad(tp, 0);
    nn_tensor *y = nn_sum(tp, nn_scale(tp, a, 2.0f));
    TEST_EQ_INT(tp->n_nodes, 0);
    TEST_EQ_INT(y->requires_grad, 0);
    TEST_NEAR(y->data[0], 2.0 * nn_tensor_sum(a), 1e-5);
    nn_tape_set_grad(tp, 1);
    y = nn_sum(tp, nn_scale(tp, a, 2.0f));
    TEST_EQ_INT(tp->n_nodes, 2);
    nn_tape_backward(tp, y);
    for (int i = 0; i < 9; i++) TEST_NEAR(a->grad[i], 2.0, 0);
    /* gradients accumulate across backward passes until zeroed */
    nn_tape_reset(tp);
    y = nn_sum(tp, nn_scale(tp, a, 2.0f));
    nn_tape_backward(tp, y);
    TEST_NEAR(a->grad[4], 4.0, 0);
    nn_tape_free(tp);
    nn_tensor_free(a);
}

static nn_tensor *loss_detach_wrong(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    /* d/dx sum(x * sg(x)) is x by the tape, 2x in truth: the checker must notice */
    return nn_sum(tp, nn_mul(tp, p[0], nn_detach(tp, p[0])));
}

static void test_gradcheck_catches_a_wrong_gradient(void) {
    nn_tensor *x = nn_test_rand2(2, 3, 5);
    nn_gradcheck_report rep;
    double err = nn_gradcheck(loss_detach_wrong, NULL, &x, 1, NULL, &rep);
    TEST_NEAR(err, 0.5, 0.01); /* |x - 2x| / |2x| */
    TEST_EQ_INT(rep.n_checked, 6);
    TEST_EQ_INT(rep.worst_param, 0);
    TEST_NEAR(rep.worst_numeric, 2.0 * rep.worst_analytic, 1e-3);
    nn_tensor_free(x);
}

/* ------------------------------------------------------------------------------------------ */
/* matmul / bmm */

typedef struct mm_ctx {
    int ta, tb;
} mm_ctx;

static nn_tensor *loss_matmul(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    mm_ctx *c = ctx;
    return nn_test_weighted_sum(tp, nn_matmul(tp, p[0], p[1], c->ta, c->tb), 11);
}

static void naive_mm(const nn_tensor *a, const nn_tensor *b, int ta, int tb, double *out,
                     int64_t *m_out, int64_t *n_out) {
    int64_t M = ta ? a->shape[1] : a->shape[0], K = ta ? a->shape[0] : a->shape[1];
    int64_t N = tb ? b->shape[0] : b->shape[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) {
                double x = ta ? a->data[k * a->shape[1] + i] : a->data[i * a->shape[1] + k];
                double y = tb ? b->data[j * b->shape[1] + k] : b->data[k * b->shape[1] + j];
                s += x * y;
            }
            out[i * N + j] = s;
        }
    *m_out = M;
    *n_out = N;
}

static void test_matmul_hand_example(void) {
    /* [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]] */
    nn_tensor *a = nn_tensor_new2(2, 3, 0), *b = nn_tensor_new2(3, 2, 0);
    for (int i = 0; i < 6; i++) {
        a->data[i] = (float)(i + 1);
        b->data[i] = (float)(i + 7);
    }
    nn_tape *tp = nn_tape_new();
    nn_tensor *c = nn_matmul(tp, a, b, 0, 0);
    TEST_EQ_INT(c->shape[0], 2);
    TEST_EQ_INT(c->shape[1], 2);
    TEST_NEAR(c->data[0], 58, 0);
    TEST_NEAR(c->data[1], 64, 0);
    TEST_NEAR(c->data[2], 139, 0);
    TEST_NEAR(c->data[3], 154, 0);
    /* a^T a (3x3): entry (0,2) = 1*3 + 4*6 = 27 */
    nn_tensor *g = nn_matmul(tp, a, a, 1, 0);
    TEST_EQ_INT(g->shape[0], 3);
    TEST_NEAR(g->data[2], 27, 0);
    nn_tape_free(tp);
    nn_tensor_free(a);
    nn_tensor_free(b);
}

static void test_matmul_transposes_match_naive_and_gradcheck(void) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* op(a) (4,5), op(b) (5,3) */
            nn_tensor *a = ta ? nn_test_rand2(5, 4, 1) : nn_test_rand2(4, 5, 1);
            nn_tensor *b = tb ? nn_test_rand2(3, 5, 2) : nn_test_rand2(5, 3, 2);
            nn_tape *tp = nn_tape_new();
            nn_tensor *c = nn_matmul(tp, a, b, ta, tb);
            double ref[12];
            int64_t M, N;
            naive_mm(a, b, ta, tb, ref, &M, &N);
            TEST_EQ_INT(M, 4);
            TEST_EQ_INT(N, 3);
            for (int i = 0; i < 12; i++) TEST_NEAR(c->data[i], ref[i], 1e-5);
            nn_tape_free(tp);
            mm_ctx ctx = {ta, tb};
            nn_tensor *ps[2] = {a, b};
            NN_TEST_GRADCHECK(loss_matmul, &ctx, ps, 2, 1e-2, 2e-3);
            nn_tensor_free(a);
            nn_tensor_free(b);
        }
}

static nn_tensor *loss_bmm(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    mm_ctx *c = ctx;
    return nn_test_weighted_sum(tp, nn_bmm(tp, p[0], p[1], c->ta, c->tb), 12);
}

static void test_bmm_matches_per_batch_matmul_and_gradcheck(void) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t sa[3] = {3, ta ? 4 : 2, ta ? 2 : 4}, sb[3] = {3, tb ? 5 : 4, tb ? 4 : 5};
            nn_tensor *a = nn_test_rand(3, sa, 3, -1, 1), *b = nn_test_rand(3, sb, 4, -1, 1);
            nn_tape *tp = nn_tape_new();
            nn_tensor *c = nn_bmm(tp, a, b, ta, tb);
            TEST_EQ_INT(c->shape[1], 2);
            TEST_EQ_INT(c->shape[2], 5);
            for (int64_t i = 0; i < 3; i++) {
                nn_tensor ai, bi;
                memset(&ai, 0, sizeof ai);
                memset(&bi, 0, sizeof bi);
                nn_tensor_set_shape(&ai, 2, sa + 1);
                nn_tensor_set_shape(&bi, 2, sb + 1);
                ai.data = a->data + i * 8;
                bi.data = b->data + i * 20;
                double ref[10];
                int64_t M, N;
                naive_mm(&ai, &bi, ta, tb, ref, &M, &N);
                for (int k = 0; k < 10; k++) TEST_NEAR(c->data[i * 10 + k], ref[k], 1e-5);
            }
            nn_tape_free(tp);
            mm_ctx ctx = {ta, tb};
            nn_tensor *ps[2] = {a, b};
            NN_TEST_GRADCHECK(loss_bmm, &ctx, ps, 2, 1e-2, 2e-3);
            nn_tensor_free(a);
            nn_tensor_free(b);
        }
}

/* ------------------------------------------------------------------------------------------ */
/* element-wise with broadcasting */

typedef struct bin_ctx {
    int op; /* 0 add, 1 sub, 2 mul */
} bin_ctx;

static nn_tensor *loss_binary(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    bin_ctx *c = ctx;
    nn_tensor *y = c->op == 0 ? nn_add(tp, p[0], p[1])
                   : c->op == 1 ? nn_sub(tp, p[0], p[1])
                                : nn_mul(tp, p[0], p[1]);
    return nn_test_weighted_sum(tp, y, 13);
}

static void test_broadcast_hand_examples(void) {
    nn_tensor *a = nn_tensor_new2(2, 3, 0);
    for (int i = 0; i < 6; i++) a->data[i] = (float)(i + 1); /* [[1,2,3],[4,5,6]] */
    nn_tensor *row = nn_tensor_new1(3, 0), *col = nn_tensor_new2(2, 1, 0), *one = nn_tensor_new1(1, 0);
    row->data[0] = 10, row->data[1] = 20, row->data[2] = 30;
    col->data[0] = 2, col->data[1] = -1;
    one->data[0] = 0.5f;
    nn_tape *tp = nn_tape_new();
    nn_tensor *r = nn_add(tp, a, row);
    TEST_NEAR(r->data[0], 11, 0);
    TEST_NEAR(r->data[5], 36, 0);
    nn_tensor *m = nn_mul(tp, a, col);
    TEST_NEAR(m->data[2], 6, 0);
    TEST_NEAR(m->data[3], -4, 0);
    nn_tensor *s = nn_sub(tp, a, one);
    TEST_NEAR(s->data[4], 4.5, 0);
    nn_tensor *sq = nn_square(tp, a);
    TEST_NEAR(sq->data[5], 36, 0);
    nn_tensor *as = nn_add_scalar(tp, a, -1.0f);
    TEST_NEAR(as->data[0], 0, 0);
    nn_tape_free(tp);
    nn_tensor_free(a);
    nn_tensor_free(row);
    nn_tensor_free(col);
    nn_tensor_free(one);
}

static void test_broadcast_ops_gradcheck(void) {
    int64_t sa[3] = {2, 3, 4};
    int64_t shapes[5][3] = {{2, 3, 4}, {4, 1, 1}, {3, 4, 1}, {2, 3, 1}, {1, 1, 1}};
    int ndims[5] = {3, 1, 2, 3, 1};
    for (int op = 0; op < 3; op++)
        for (int k = 0; k < 5; k++) {
            nn_tensor *a = nn_test_rand(3, sa, 20 + (uint64_t)k, -1, 1);
            nn_tensor *b = nn_test_rand(ndims[k], shapes[k], 30 + (uint64_t)k, -1, 1);
            bin_ctx ctx = {op};
            nn_tensor *ps[2] = {a, b};
            NN_TEST_GRADCHECK(loss_binary, &ctx, ps, 2, 1e-2, 2e-3);
            nn_tensor_free(a);
            nn_tensor_free(b);
        }
}

typedef struct un_ctx {
    int which;
} un_ctx;

static nn_tensor *loss_simple_unary(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    un_ctx *c = ctx;
    nn_tensor *x = p[0], *y;
    switch (c->which) {
    case 0: y = nn_scale(tp, x, -2.5f); break;
    case 1: y = nn_add_scalar(tp, x, 3.0f); break;
    case 2: y = nn_square(tp, x); break;
    case 3: return nn_sum(tp, nn_square(tp, x));
    case 4: return nn_mean(tp, nn_square(tp, x));
    case 5: y = nn_sum_last(tp, x); break;
    default: y = nn_mean_last(tp, x); break;
    }
    return nn_test_weighted_sum(tp, y, 14);
}

static void test_scale_square_and_reductions_gradcheck(void) {
    for (int w = 0; w < 7; w++) {
        int64_t s[3] = {2, 3, 5};
        nn_tensor *x = nn_test_rand(3, s, 40 + (uint64_t)w, -1, 1);
        un_ctx ctx = {w};
        NN_TEST_GRADCHECK(loss_simple_unary, &ctx, &x, 1, 1e-2, 2e-3);
        nn_tensor_free(x);
    }
}

static void test_reduction_values(void) {
    nn_tensor *a = nn_tensor_new2(2, 3, 0);
    for (int i = 0; i < 6; i++) a->data[i] = (float)(i + 1);
    nn_tape *tp = nn_tape_new();
    TEST_NEAR(nn_sum(tp, a)->data[0], 21, 0);
    TEST_NEAR(nn_mean(tp, a)->data[0], 3.5, 1e-7);
    nn_tensor *sl = nn_sum_last(tp, a), *ml = nn_mean_last(tp, a);
    TEST_EQ_INT(sl->ndim, 2);
    TEST_EQ_INT(sl->shape[1], 1);
    TEST_NEAR(sl->data[0], 6, 0);
    TEST_NEAR(sl->data[1], 15, 0);
    TEST_NEAR(ml->data[1], 5, 1e-7);
    float mx[2];
    int32_t am[2];
    a->data[1] = 9.0f;
    nn_row_max(a, mx, am);
    TEST_NEAR(mx[0], 9, 0);
    TEST_EQ_INT(am[0], 1);
    TEST_EQ_INT(am[1], 2);
    nn_tape_free(tp);
    nn_tensor_free(a);
}

/* ------------------------------------------------------------------------------------------ */
/* gather / scatter / mse */

static const int32_t gather_idx[6] = {3, 0, 3, 1, 4, 3}; /* repeats on purpose */

static nn_tensor *loss_gather(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return nn_test_weighted_sum(tp, nn_gather_rows(tp, p[0], gather_idx, 6), 15);
}

static nn_tensor *loss_scatter(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return nn_test_weighted_sum(tp, nn_scatter_add_rows(tp, p[0], gather_idx, 7), 16);
}

static void test_gather_and_scatter_values(void) {
    nn_tensor *t = nn_tensor_new2(5, 2, 1);
    for (int i = 0; i < 10; i++) t->data[i] = (float)i;
    nn_tape *tp = nn_tape_new();
    nn_tensor *g = nn_gather_rows(tp, t, gather_idx, 6);
    TEST_EQ_INT(g->shape[0], 6);
    TEST_NEAR(g->data[0], 6, 0);  /* row 3 */
    TEST_NEAR(g->data[3], 1, 0);  /* row 0 */
    TEST_NEAR(g->data[9], 9, 0);  /* row 4 */
    nn_tape_backward(tp, nn_sum(tp, g));
    /* row 3 was gathered three times */
    TEST_NEAR(t->grad[6], 3, 0);
    TEST_NEAR(t->grad[7], 3, 0);
    TEST_NEAR(t->grad[4], 0, 0); /* row 2 never */
    nn_tape_reset(tp);
    nn_tensor *src = nn_tape_tensor2(tp, 6, 2);
    for (int i = 0; i < 12; i++) src->data[i] = (float)i;
    nn_tensor *s = nn_scatter_add_rows(tp, src, gather_idx, 7);
    TEST_EQ_INT(s->shape[0], 7);
    TEST_NEAR(s->data[6], 0 + 4 + 10, 0); /* rows 0, 2, 5 of src land in row 3 */
    TEST_NEAR(s->data[12], 0, 0);
    nn_tape_free(tp);
    nn_tensor_free(t);
}

static void test_gather_scatter_gradcheck(void) {
    nn_tensor *table = nn_test_rand2(5, 4, 50);
    NN_TEST_GRADCHECK(loss_gather, NULL, &table, 1, 1e-2, 2e-3);
    nn_tensor *src = nn_test_rand2(6, 4, 51);
    NN_TEST_GRADCHECK(loss_scatter, NULL, &src, 1, 1e-2, 2e-3);
    nn_tensor_free(table);
    nn_tensor_free(src);
}

static nn_tensor *loss_mse(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    return nn_mse(tp, p[0], p[1]);
}

static void test_mse_value_and_gradcheck(void) {
    nn_tensor *a = nn_tensor_new1(4, 1), *b = nn_tensor_new1(4, 1);
    float av[4] = {1, 2, 3, 4}, bv[4] = {1, 0, 3, 1};
    nn_tensor_copy_from(a, av);
    nn_tensor_copy_from(b, bv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *l = nn_mse(tp, a, b);
    TEST_NEAR(l->data[0], (4.0 + 9.0) / 4.0, 1e-7);
    nn_tape_backward(tp, l);
    TEST_NEAR(a->grad[1], 2.0 * 2 / 4, 1e-7);
    TEST_NEAR(b->grad[3], -2.0 * 3 / 4, 1e-7);
    nn_tape_free(tp);
    nn_tensor_free(a);
    nn_tensor_free(b);
    a = nn_test_rand2(3, 5, 60);
    b = nn_test_rand2(3, 5, 61);
    nn_tensor *ps[2] = {a, b};
    NN_TEST_GRADCHECK(loss_mse, NULL, ps, 2, 1e-2, 2e-3);
    nn_tensor_free(a);
    nn_tensor_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* CSR products */

typedef struct rand_csr {
    nn_csr csr;
    int64_t *indptr64;
    int32_t *indptr32, *indices;
    float *values;
    double *dense; /* n_rows x n_cols reference */
} rand_csr;

/* A random CSR with some empty rows and duplicate-free unsorted columns. */
static void rand_csr_make(rand_csr *m, int64_t rows, int64_t cols, double density,
                          uint64_t seed) {
    memset(m, 0, sizeof *m);
    bb_rng r;
    bb_rng_seed(&r, seed, "nn/test/csr");
    m->dense = calloc((size_t)(rows * cols), sizeof(double));
    m->indptr64 = calloc((size_t)rows + 1, sizeof(int64_t));
    m->indptr32 = calloc((size_t)rows + 1, sizeof(int32_t));
    m->indices = malloc((size_t)(rows * cols) * sizeof(int32_t));
    m->values = malloc((size_t)(rows * cols) * sizeof(float));
    int64_t nnz = 0;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t jj = 0; jj < cols; jj++) {
            int64_t j = cols - 1 - jj; /* descending: unsorted on purpose */
            if (bb_rng_uniform(&r) < density) {
                float v = (float)(bb_rng_uniform(&r) * 2 - 1);
                m->indices[nnz] = (int32_t)j;
                m->values[nnz] = v;
                m->dense[i * cols + j] = v;
                nnz++;
            }
        }
        m->indptr64[i + 1] = nnz;
        m->indptr32[i + 1] = (int32_t)nnz;
    }
    m->csr.n_rows = rows;
    m->csr.n_cols = cols;
    m->csr.nnz = nnz;
    m->csr.indptr64 = m->indptr64;
    m->csr.indices = m->indices;
    m->csr.values = m->values;
}

static void rand_csr_free(rand_csr *m) {
    free(m->dense);
    free(m->indptr64);
    free(m->indptr32);
    free(m->indices);
    free(m->values);
}

static void test_spmm_matches_dense(void) {
    rand_csr m;
    rand_csr_make(&m, 37, 23, 0.2, 1);
    bb_error err;
    TEST_OK(nn_csr_validate(&m.csr, "A", &err), &err);
    int64_t dims[3] = {64, 16, 5}; /* the three kernel widths */
    for (int di = 0; di < 3; di++) {
        int64_t d = dims[di];
        nn_tensor *x = nn_test_rand2(23, d, 2), *y = nn_test_rand2(37, d, 3);
        nn_tape *tp = nn_tape_new();
        nn_tensor *ax = nn_spmm(tp, &m.csr, x);
        nn_tensor *aty = nn_spmm_t(tp, &m.csr, y);
        double maxdiff = 0;
        for (int64_t i = 0; i < 37; i++)
            for (int64_t c = 0; c < d; c++) {
                double s = 0;
                for (int64_t j = 0; j < 23; j++) s += m.dense[i * 23 + j] * x->data[j * d + c];
                maxdiff = fmax(maxdiff, fabs(s - ax->data[i * d + c]));
            }
        for (int64_t j = 0; j < 23; j++)
            for (int64_t c = 0; c < d; c++) {
                double s = 0;
                for (int64_t i = 0; i < 37; i++) s += m.dense[i * 23 + j] * y->data[i * d + c];
                maxdiff = fmax(maxdiff, fabs(s - aty->data[j * d + c]));
            }
        TEST_TRUE(maxdiff < 1e-5);
        /* int32 indptr gives the same bits */
        nn_csr m32 = m.csr;
        m32.indptr64 = NULL;
        m32.indptr32 = m.indptr32;
        nn_tensor *ax32 = nn_spmm(tp, &m32, x);
        TEST_TRUE(memcmp(ax32->data, ax->data, (size_t)ax->numel * sizeof(float)) == 0);
        nn_tape_free(tp);
        nn_tensor_free(x);
        nn_tensor_free(y);
    }
    rand_csr_free(&m);
}

typedef struct sp_ctx {
    const nn_csr *a;
    int transposed;
} sp_ctx;

static nn_tensor *loss_spmm(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    sp_ctx *c = ctx;
    nn_tensor *y = c->transposed ? nn_spmm_t(tp, c->a, p[0]) : nn_spmm(tp, c->a, p[0]);
    /* two propagation layers as in LightGCN, with a nonlinearity-free quadratic loss */
    nn_tensor *z = c->transposed ? nn_spmm(tp, c->a, y) : nn_spmm_t(tp, c->a, y);
    nn_tensor *target = nn_tape_tensor(tp, z->ndim, z->shape);
    bb_rng r;
    bb_rng_seed(&r, 18, "test/spmm/target");
    nn_init_uniform(target, &r, -1.0f, 1.0f);
    return nn_add(tp, nn_test_weighted_sum(tp, y, 17), nn_mse(tp, z, target));
}

static void test_spmm_gradcheck(void) {
    rand_csr m;
    rand_csr_make(&m, 9, 7, 0.4, 4);
    nn_csr *t = nn_csr_transpose(&m.csr);
    for (int tr = 0; tr < 2; tr++) {
        for (int with_t = 0; with_t < 2; with_t++) {
            nn_csr a = m.csr;
            a.transpose = with_t ? t : NULL;
            sp_ctx ctx = {&a, tr};
            nn_tensor *x = tr ? nn_test_rand2(9, 5, 5) : nn_test_rand2(7, 5, 5);
            NN_TEST_GRADCHECK(loss_spmm, &ctx, &x, 1, 1e-2, 2e-3);
            nn_tensor_free(x);
        }
    }
    nn_csr_free(t);
    rand_csr_free(&m);
}

static void test_spmm_bit_identical_across_threads_and_paths(void) {
    /* large enough that the threaded path runs: nnz * d well above the serial cut */
    rand_csr m;
    rand_csr_make(&m, 300, 200, 0.1, 6);
    nn_csr *t = nn_csr_transpose(&m.csr);
    bb_error err;
    TEST_OK(nn_csr_validate(t, "A^T", &err), &err);
    int64_t d = 64;
    nn_tensor *x = nn_test_rand2(200, d, 7), *y = nn_test_rand2(300, d, 8);
    float *ref_ax = malloc((size_t)(300 * d) * sizeof(float));
    float *ref_aty = malloc((size_t)(200 * d) * sizeof(float));
    float *ref_acc = malloc((size_t)(200 * d) * sizeof(float));
    float *buf = malloc((size_t)(300 * d) * sizeof(float));
    int saved = nn_get_threads();
    nn_set_threads(1);
    nn_csr_spmm(&m.csr, x->data, d, ref_ax, 0);
    nn_csr_spmm_t(&m.csr, y->data, d, ref_aty, 0);
    /* accumulate: A^T y added onto a copy of A^T y (first 200 rows of A x as start) */
    memcpy(ref_acc, ref_ax, (size_t)(200 * d) * sizeof(float));
    nn_csr_spmm_t(&m.csr, y->data, d, ref_acc, 1);
    for (int threads = 1; threads <= 4; threads++) {
        nn_set_threads(threads);
        nn_csr_spmm(&m.csr, x->data, d, buf, 0);
        int same_ax = memcmp(buf, ref_ax, (size_t)(300 * d) * sizeof(float)) == 0;
        nn_csr_spmm_t(&m.csr, y->data, d, buf, 0); /* column-ownership path */
        int same_scan = memcmp(buf, ref_aty, (size_t)(200 * d) * sizeof(float)) == 0;
        nn_csr_spmm(t, y->data, d, buf, 0);        /* explicit transpose path */
        int same_tr = memcmp(buf, ref_aty, (size_t)(200 * d) * sizeof(float)) == 0;
        memcpy(buf, ref_ax, (size_t)(200 * d) * sizeof(float));
        nn_csr_spmm(t, y->data, d, buf, 1);
        int same_acc = memcmp(buf, ref_acc, (size_t)(200 * d) * sizeof(float)) == 0;
        nn_set_threads(saved);
        TEST_TRUE(same_ax);
        TEST_TRUE(same_scan);
        TEST_TRUE(same_tr);
        TEST_TRUE(same_acc);
    }
    nn_set_threads(saved);
    free(ref_acc);
    free(ref_ax);
    free(ref_aty);
    free(buf);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_csr_free(t);
    rand_csr_free(&m);
}

static void test_csr_validate_errors(void) {
    int64_t indptr[4] = {0, 2, 1, 3};
    int32_t indices[3] = {0, 1, 5};
    float values[3] = {1, 1, 1};
    nn_csr a = {3, 4, 3, indptr, NULL, indices, values, NULL, 0, NULL};
    bb_error err;
    TEST_ERR_CONTAINS(nn_csr_validate(&a, "adj", &err), &err, "adj: indptr decreases at row 1");
    indptr[2] = 2;
    TEST_ERR_CONTAINS(nn_csr_validate(&a, "adj", &err), &err, "column 5");
    indices[2] = 3;
    TEST_OK(nn_csr_validate(&a, "adj", &err), &err);
    a.symmetric = 1;
    TEST_ERR_CONTAINS(nn_csr_validate(&a, "adj", &err), &err, "symmetric");
}

static void test_threads_setting(void) {
    int saved = nn_get_threads();
    nn_set_threads(0);
    TEST_EQ_INT(nn_get_threads(), 1);
    nn_set_threads(3);
    TEST_EQ_INT(nn_get_threads(), 3);
    nn_set_threads(saved);
}

const bb_test bb_suite_nn_core[] = {
    {"views_share_storage", test_views_share_storage},
    {"arena_alignment_and_reset", test_arena_alignment_and_reset},
    {"tape_grad_mode_off_records_nothing", test_tape_grad_mode_off_records_nothing},
    {"gradcheck_catches_a_wrong_gradient", test_gradcheck_catches_a_wrong_gradient},
    {"matmul_hand_example", test_matmul_hand_example},
    {"matmul_transposes_match_naive_and_gradcheck", test_matmul_transposes_match_naive_and_gradcheck},
    {"bmm_matches_per_batch_matmul_and_gradcheck", test_bmm_matches_per_batch_matmul_and_gradcheck},
    {"broadcast_hand_examples", test_broadcast_hand_examples},
    {"broadcast_ops_gradcheck", test_broadcast_ops_gradcheck},
    {"scale_square_and_reductions_gradcheck", test_scale_square_and_reductions_gradcheck},
    {"reduction_values", test_reduction_values},
    {"gather_and_scatter_values", test_gather_and_scatter_values},
    {"gather_scatter_gradcheck", test_gather_scatter_gradcheck},
    {"mse_value_and_gradcheck", test_mse_value_and_gradcheck},
    {"spmm_matches_dense", test_spmm_matches_dense},
    {"spmm_gradcheck", test_spmm_gradcheck},
    {"spmm_bit_identical_across_threads_and_paths", test_spmm_bit_identical_across_threads_and_paths},
    {"csr_validate_errors", test_csr_validate_errors},
    {"threads_setting", test_threads_setting},
    {NULL, NULL},
};
