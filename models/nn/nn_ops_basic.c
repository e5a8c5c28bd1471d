/* nn_ops_basic — products (sgemm), broadcast element-wise arithmetic, reductions, MSE.
 * Each op's forward is followed by its backward; backward adds (+=) into input grads. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_ops_internal.h"

static void assert_blas_dim(int64_t v, const char *op) {
    BB_ASSERT(v > 0 && v <= INT_MAX, "%s: dimension %lld does not fit a BLAS int", op,
              (long long)v);
}

/* ------------------------------------------------------------------------------------------ */
/* matmul: op(a) (M,K) x op(b) (K,N) -> (M,N); a stored (M,K) or (K,M) when trans_a */

typedef struct mm_dims {
    int64_t m, k, n, lda, ldb;
} mm_dims;

static mm_dims mm_shape(const char *op, const int64_t *as, const int64_t *bs, int ta, int tb) {
    mm_dims d;
    d.m = ta ? as[1] : as[0];
    d.k = ta ? as[0] : as[1];
    int64_t kb = tb ? bs[1] : bs[0];
    d.n = tb ? bs[0] : bs[1];
    BB_ASSERT(d.k == kb, "%s: inner dimensions differ: op(a) is (%lld, %lld), op(b) is "
              "(%lld, %lld)", op, (long long)d.m, (long long)d.k, (long long)kb,
              (long long)d.n);
    d.lda = as[1];
    d.ldb = bs[1];
    assert_blas_dim(d.m, op);
    assert_blas_dim(d.k, op);
    assert_blas_dim(d.n, op);
    return d;
}

static CBLAS_TRANSPOSE tr(int t) { return t ? CblasTrans : CblasNoTrans; }

/* c (M,N) = op(a) op(b) + beta c */
static void mm_forward(const mm_dims *d, const float *a, const float *b, float *c, int ta,
                       int tb, float beta) {
    cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), (int)d->m, (int)d->n, (int)d->k, 1.0f, a,
                (int)d->lda, b, (int)d->ldb, beta, c, (int)d->n);
}

/* Pulls dC (M,N) back into ga (stored like a) and gb (stored like b); either may be NULL. */
static void mm_backward(const mm_dims *d, const float *a, const float *b, const float *dc,
                        float *ga, float *gb, int ta, int tb) {
    int M = (int)d->m, K = (int)d->k, N = (int)d->n, lda = (int)d->lda, ldb = (int)d->ldb;
    if (ga) {
        if (!ta) /* dA (M,K) = dC op(b)^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tr(!tb), M, K, N, 1.0f, dc, N, b, ldb,
                        1.0f, ga, K);
        else /* A stored (K,M): dA^T = op(b) dC^T */
            cblas_sgemm(CblasRowMajor, tr(tb), CblasTrans, K, M, N, 1.0f, b, ldb, dc, N, 1.0f,
                        ga, M);
    }
    if (gb) {
        if (!tb) /* dB (K,N) = op(a)^T dC */
            cblas_sgemm(CblasRowMajor, tr(!ta), CblasNoTrans, K, N, M, 1.0f, a, lda, dc, N,
                        1.0f, gb, N);
        else /* B stored (N,K): dB^T = dC^T op(a) */
            cblas_sgemm(CblasRowMajor, CblasTrans, tr(ta), N, K, M, 1.0f, dc, N, a, lda, 1.0f,
                        gb, K);
    }
}

nn_tensor *nn_matmul(nn_tape *tp, nn_tensor *a, nn_tensor *b, int trans_a, int trans_b) {
    BB_ASSERT(a->ndim == 2 && b->ndim == 2, "matmul: needs 2-D inputs, got %d-D and %d-D",
              a->ndim, b->ndim);
    mm_dims d = mm_shape("matmul", a->shape, b->shape, trans_a, trans_b);
    int64_t s[2] = {d.m, d.n};
    nn_tensor *out = nn_tape_out(tp, 2, s, a, b, NULL);
    mm_forward(&d, a->data, b->data, out->data, trans_a, trans_b, 0.0f);
    nn_node *n = nn_tape_record(tp, NN_OP_MATMUL, out, a, b, NULL);
    if (n) {
        n->iattr[0] = trans_a;
        n->iattr[1] = trans_b;
    }
    return out;
}

void nn_bw_matmul(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0], *b = n->in[1];
    int ta = (int)n->iattr[0], tb = (int)n->iattr[1];
    mm_dims d = mm_shape("matmul", a->shape, b->shape, ta, tb);
    mm_backward(&d, a->data, b->data, n->out->grad, a->requires_grad ? nn_tape_grad(tp, a) : NULL,
                b->requires_grad ? nn_tape_grad(tp, b) : NULL, ta, tb);
}

/* bmm: a (B,M,K) x b (B,K,N) -> (B,M,N), one sgemm per batch entry */
nn_tensor *nn_bmm(nn_tape *tp, nn_tensor *a, nn_tensor *b, int trans_a, int trans_b) {
    BB_ASSERT(a->ndim == 3 && b->ndim == 3 && a->shape[0] == b->shape[0],
              "bmm: needs (B,.,.) inputs with equal B, got %d-D B=%lld and %d-D B=%lld",
              a->ndim, (long long)a->shape[0], b->ndim, (long long)b->shape[0]);
    mm_dims d = mm_shape("bmm", a->shape + 1, b->shape + 1, trans_a, trans_b);
    int64_t s[3] = {a->shape[0], d.m, d.n};
    nn_tensor *out = nn_tape_out(tp, 3, s, a, b, NULL);
    int64_t sa = a->shape[1] * a->shape[2], sb = b->shape[1] * b->shape[2], sc = d.m * d.n;
    for (int64_t i = 0; i < a->shape[0]; i++)
        mm_forward(&d, a->data + i * sa, b->data + i * sb, out->data + i * sc, trans_a,
                   trans_b, 0.0f);
    nn_node *n = nn_tape_record(tp, NN_OP_BMM, out, a, b, NULL);
    if (n) {
        n->iattr[0] = trans_a;
        n->iattr[1] = trans_b;
    }
    return out;
}

void nn_bw_bmm(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0], *b = n->in[1];
    int ta = (int)n->iattr[0], tb = (int)n->iattr[1];
    mm_dims d = mm_shape("bmm", a->shape + 1, b->shape + 1, ta, tb);
    float *ga = a->requires_grad ? nn_tape_grad(tp, a) : NULL;
    float *gb = b->requires_grad ? nn_tape_grad(tp, b) : NULL;
    int64_t sa = a->shape[1] * a->shape[2], sb = b->shape[1] * b->shape[2], sc = d.m * d.n;
    for (int64_t i = 0; i < a->shape[0]; i++)
        mm_backward(&d, a->data + i * sa, b->data + i * sb, n->out->grad + i * sc,
                    ga ? ga + i * sa : NULL, gb ? gb + i * sb : NULL, ta, tb);
}

/* ------------------------------------------------------------------------------------------ */
/* add / sub / mul with broadcasting of b; out has a's shape */

enum { BC_SAME = 0, BC_TRAIL = 1, BC_COL = 2 };

/* Picks how b maps onto a; returns the mode and sets *inner (TRAIL: b's numel, COL: a's
 * last dim). */
static int bc_mode(const char *op, const nn_tensor *a, const nn_tensor *b, int64_t *inner) {
    if (nn_tensor_same_shape(a, b)) {
        *inner = a->numel;
        return BC_SAME;
    }
    int trailing = b->ndim <= a->ndim;
    for (int i = 0; trailing && i < b->ndim; i++)
        trailing = b->shape[b->ndim - 1 - i] == a->shape[a->ndim - 1 - i];
    if (trailing || b->numel == 1) {
        *inner = b->numel;
        return BC_TRAIL;
    }
    int col = b->ndim == a->ndim && b->shape[b->ndim - 1] == 1;
    for (int i = 0; col && i < a->ndim - 1; i++) col = b->shape[i] == a->shape[i];
    char s1[64], s2[64];
    BB_ASSERT(col, "%s: cannot broadcast %s onto %s (same shape, trailing dims, (..., 1) or "
              "one element)", op, nn_shape_str(b, s1, sizeof s1), nn_shape_str(a, s2, sizeof s2));
    *inner = nn_tensor_cols(a);
    return BC_COL;
}

static nn_tensor *binary(nn_tape *tp, nn_op op, nn_tensor *a, nn_tensor *b) {
    int64_t inner;
    int mode = bc_mode(nn_op_name(op), a, b, &inner);
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, b, NULL);
    const float *x = a->data, *y = b->data;
    float *z = out->data;
    int64_t N = a->numel;
    for (int64_t base = 0; base < N; base += inner) {
        int64_t len = inner;
        const float *yb = mode == BC_COL ? NULL : y;
        float ycol = mode == BC_COL ? y[base / inner] : 0.0f;
        if (op == NN_OP_ADD) {
            if (yb) for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] + yb[j];
            else for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] + ycol;
        } else if (op == NN_OP_SUB) {
            if (yb) for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] - yb[j];
            else for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] - ycol;
        } else {
            if (yb) for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] * yb[j];
            else for (int64_t j = 0; j < len; j++) z[base + j] = x[base + j] * ycol;
        }
    }
    nn_node *n = nn_tape_record(tp, op, out, a, b, NULL);
    if (n) {
        n->iattr[0] = mode;
        n->iattr[1] = inner;
    }
    return out;
}

nn_tensor *nn_add(nn_tape *tp, nn_tensor *a, nn_tensor *b) { return binary(tp, NN_OP_ADD, a, b); }
nn_tensor *nn_sub(nn_tape *tp, nn_tensor *a, nn_tensor *b) { return binary(tp, NN_OP_SUB, a, b); }
nn_tensor *nn_mul(nn_tape *tp, nn_tensor *a, nn_tensor *b) { return binary(tp, NN_OP_MUL, a, b); }

void nn_bw_binary(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0], *b = n->in[1];
    int mode = (int)n->iattr[0], mul = n->op == NN_OP_MUL;
    int64_t inner = n->iattr[1], N = a->numel;
    const float *g = n->out->grad, *x = a->data, *y = b->data;
    float *ga = a->requires_grad ? nn_tape_grad(tp, a) : NULL;
    float *gb = b->requires_grad ? nn_tape_grad(tp, b) : NULL;
    float sign = n->op == NN_OP_SUB ? -1.0f : 1.0f;
    /* blocks of `inner` elements: b's element j (SAME, TRAIL) or b's element base/inner
     * (COL) pairs with element base + j of a */
    for (int64_t base = 0; base < N; base += inner) {
        const float *gblk = g + base, *xblk = x + base;
        if (mode == BC_COL) {
            float ycol = y[base / inner];
            double acc = 0;
            for (int64_t j = 0; j < inner; j++) {
                if (ga) ga[base + j] += mul ? gblk[j] * ycol : gblk[j];
                acc += mul ? (double)gblk[j] * xblk[j] : (double)gblk[j];
            }
            if (gb) gb[base / inner] += (float)(mul ? acc : sign * acc);
            continue;
        }
        if (ga) {
            if (mul)
                for (int64_t j = 0; j < inner; j++) ga[base + j] += gblk[j] * y[j];
            else
                for (int64_t j = 0; j < inner; j++) ga[base + j] += gblk[j];
        }
        if (gb) {
            if (mul)
                for (int64_t j = 0; j < inner; j++) gb[j] += gblk[j] * xblk[j];
            else
                for (int64_t j = 0; j < inner; j++) gb[j] += sign * gblk[j];
        }
    }
}

/* scale: a * s; add_scalar: a + s; square: a^2 — all keep a's shape */
nn_tensor *nn_scale(nn_tape *tp, nn_tensor *a, float s) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    for (int64_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] * s;
    nn_node *n = nn_tape_record(tp, NN_OP_SCALE, out, a, NULL, NULL);
    if (n) n->fattr[0] = s;
    return out;
}

void nn_bw_scale(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    float *ga = nn_tape_grad(tp, a), s = n->fattr[0];
    for (int64_t i = 0; i < a->numel; i++) ga[i] += n->out->grad[i] * s;
}

nn_tensor *nn_add_scalar(nn_tape *tp, nn_tensor *a, float s) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    for (int64_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] + s;
    nn_tape_record(tp, NN_OP_ADD_SCALAR, out, a, NULL, NULL);
    return out;
}

void nn_bw_add_scalar(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    float *ga = nn_tape_grad(tp, a);
    for (int64_t i = 0; i < a->numel; i++) ga[i] += n->out->grad[i];
}

nn_tensor *nn_square(nn_tape *tp, nn_tensor *a) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    for (int64_t i = 0; i < a->numel; i++) out->data[i] = a->data[i] * a->data[i];
    nn_tape_record(tp, NN_OP_SQUARE, out, a, NULL, NULL);
    return out;
}

void nn_bw_square(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    float *ga = nn_tape_grad(tp, a);
    for (int64_t i = 0; i < a->numel; i++) ga[i] += 2.0f * a->data[i] * n->out->grad[i];
}

/* ------------------------------------------------------------------------------------------ */
/* reductions: sum/mean (all) -> (1); sum_last/mean_last (..., C) -> (..., 1) */

static nn_tensor *reduce_all(nn_tape *tp, nn_op op, nn_tensor *a) {
    int64_t one = 1;
    nn_tensor *out = nn_tape_out(tp, 1, &one, a, NULL, NULL);
    double s = 0;
    for (int64_t i = 0; i < a->numel; i++) s += a->data[i];
    out->data[0] = (float)(op == NN_OP_MEAN ? s / (double)a->numel : s);
    nn_tape_record(tp, op, out, a, NULL, NULL);
    return out;
}

nn_tensor *nn_sum(nn_tape *tp, nn_tensor *a) { return reduce_all(tp, NN_OP_SUM, a); }
nn_tensor *nn_mean(nn_tape *tp, nn_tensor *a) { return reduce_all(tp, NN_OP_MEAN, a); }

void nn_bw_sum(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    float *ga = nn_tape_grad(tp, a);
    float g = n->out->grad[0];
    if (n->op == NN_OP_MEAN) g = (float)((double)g / (double)a->numel);
    for (int64_t i = 0; i < a->numel; i++) ga[i] += g;
}

static nn_tensor *reduce_last(nn_tape *tp, nn_op op, nn_tensor *a) {
    int64_t s[NN_MAX_DIMS];
    memcpy(s, a->shape, sizeof s);
    s[a->ndim - 1] = 1;
    nn_tensor *out = nn_tape_out(tp, a->ndim, s, a, NULL, NULL);
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    for (int64_t r = 0; r < R; r++) {
        double acc = 0;
        for (int64_t c = 0; c < C; c++) acc += a->data[r * C + c];
        out->data[r] = (float)(op == NN_OP_MEAN_LAST ? acc / (double)C : acc);
    }
    nn_tape_record(tp, op, out, a, NULL, NULL);
    return out;
}

nn_tensor *nn_sum_last(nn_tape *tp, nn_tensor *a) { return reduce_last(tp, NN_OP_SUM_LAST, a); }
nn_tensor *nn_mean_last(nn_tape *tp, nn_tensor *a) { return reduce_last(tp, NN_OP_MEAN_LAST, a); }

void nn_bw_sum_last(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    float *ga = nn_tape_grad(tp, a);
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    for (int64_t r = 0; r < R; r++) {
        float g = n->out->grad[r];
        if (n->op == NN_OP_MEAN_LAST) g = (float)((double)g / (double)C);
        for (int64_t c = 0; c < C; c++) ga[r * C + c] += g;
    }
}

/* mse: mean((a - b)^2) -> (1); a, b same shape */
nn_tensor *nn_mse(nn_tape *tp, nn_tensor *a, nn_tensor *b) {
    char s1[64], s2[64];
    BB_ASSERT(nn_tensor_same_shape(a, b), "mse: shapes differ: %s vs %s",
              nn_shape_str(a, s1, sizeof s1), nn_shape_str(b, s2, sizeof s2));
    int64_t one = 1;
    nn_tensor *out = nn_tape_out(tp, 1, &one, a, b, NULL);
    double s = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = (double)a->data[i] - (double)b->data[i];
        s += d * d;
    }
    out->data[0] = (float)(s / (double)a->numel);
    nn_tape_record(tp, NN_OP_MSE, out, a, b, NULL);
    return out;
}

void nn_bw_mse(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0], *b = n->in[1];
    float k = (float)(2.0 * (double)n->out->grad[0] / (double)a->numel);
    float *ga = a->requires_grad ? nn_tape_grad(tp, a) : NULL;
    float *gb = b->requires_grad ? nn_tape_grad(tp, b) : NULL;
    for (int64_t i = 0; i < a->numel; i++) {
        float d = k * (a->data[i] - b->data[i]);
        if (ga) ga[i] += d;
        if (gb) gb[i] -= d;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* no-grad helpers */

void nn_row_max(const nn_tensor *a, float *max_out, int32_t *argmax_out) {
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    for (int64_t r = 0; r < R; r++) {
        const float *row = a->data + r * C;
        int64_t best = 0;
        for (int64_t c = 1; c < C; c++)
            if (row[c] > row[best]) best = c;
        if (max_out) max_out[r] = row[best];
        if (argmax_out) argmax_out[r] = (int32_t)best;
    }
}
