/* Tests for the shape ops, activations, softmax family, cross-entropy, normalisation,
 * dropout and the causal mask of models/nn: hand-worked values and a central-difference
 * gradient check for every op (relu's kink handled by the checker's kink skip). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/nn_testutil.h"

/* ------------------------------------------------------------------------------------------ */
/* shape ops */

typedef struct shape_ctx {
    int which;
    int a0, a1;
} shape_ctx;

static nn_tensor *loss_shape(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    shape_ctx *c = ctx;
    nn_tensor *y = NULL;
    switch (c->which) {
    case 0: {
        int64_t s[2] = {6, 4};
        y = nn_reshape(tp, p[0], 2, s);
        break;
    }
    case 1: y = nn_transpose(tp, p[0], c->a0, c->a1); break;
    case 2: {
        nn_tensor *parts[3] = {p[0], p[1], p[0]};
        y = nn_concat(tp, parts, 3, c->a0);
        break;
    }
    case 3: y = nn_slice(tp, p[0], c->a0, 1, 2); break;
    default: {
        nn_tensor *parts[2];
        nn_split(tp, p[0], c->a0, 2, parts);
        /* the halves weighted differently so a swapped gradient shows */
        return nn_add(tp, nn_test_weighted_sum(tp, parts[0], 1),
                      nn_scale(tp, nn_test_weighted_sum(tp, parts[1], 2), 3.0f));
    }
    }
    /* a second use of the input (square) makes the output gradient non-trivial */
    return nn_test_weighted_sum(tp, nn_square(tp, y), 19);
}

static void test_transpose_values(void) {
    int64_t s[3] = {2, 3, 4};
    nn_tensor *a = nn_tensor_new(3, s, 0);
    for (int i = 0; i < 24; i++) a->data[i] = (float)i;
    nn_tape *tp = nn_tape_new();
    nn_tensor *t = nn_transpose(tp, a, 1, 2); /* (2, 4, 3) */
    TEST_EQ_INT(t->shape[1], 4);
    TEST_EQ_INT(t->shape[2], 3);
    /* t[b, j, i] = a[b, i, j]: t[1, 2, 1] = a[1, 1, 2] = 12 + 4 + 2 */
    TEST_NEAR(t->data[1 * 12 + 2 * 3 + 1], 18, 0);
    nn_tensor *t02 = nn_transpose(tp, a, 0, 2); /* (4, 3, 2) */
    /* t02[k, j, i] = a[i, j, k]: t02[3, 1, 1] = a[1, 1, 3] = 12 + 4 + 3 */
    TEST_NEAR(t02->data[3 * 6 + 1 * 2 + 1], 19, 0);
    int64_t s4[4] = {2, 3, 2, 2};
    nn_tensor *b = nn_tape_tensor(tp, 4, s4);
    for (int i = 0; i < 24; i++) b->data[i] = (float)i;
    nn_tensor *b12 = nn_transpose(tp, b, 1, 2); /* (2, 2, 3, 2): heads split */
    /* b12[1, 1, 2, 0] = b[1, 2, 1, 0] = 12 + 8 + 2 */
    TEST_NEAR(b12->data[12 + 1 * 6 + 2 * 2 + 0], 22, 0);
    nn_tape_free(tp);
    nn_tensor_free(a);
}

static void test_concat_slice_values(void) {
    nn_tensor *a = nn_tensor_new2(2, 2, 0), *b = nn_tensor_new2(2, 1, 0);
    float av[4] = {1, 2, 3, 4}, bv[2] = {9, 8};
    nn_tensor_copy_from(a, av);
    nn_tensor_copy_from(b, bv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *parts[2] = {a, b};
    nn_tensor *c = nn_concat(tp, parts, 2, 1); /* [[1,2,9],[3,4,8]] */
    float cv[6] = {1, 2, 9, 3, 4, 8};
    for (int i = 0; i < 6; i++) TEST_NEAR(c->data[i], cv[i], 0);
    nn_tensor *rows[2] = {a, a};
    nn_tensor *r = nn_concat(tp, rows, 2, 0);
    TEST_EQ_INT(r->shape[0], 4);
    TEST_NEAR(r->data[6], 3, 0);
    nn_tensor *s = nn_slice(tp, c, 1, 1, 2); /* [[2,9],[4,8]] */
    TEST_NEAR(s->data[0], 2, 0);
    TEST_NEAR(s->data[3], 8, 0);
    nn_tensor *halves[2];
    nn_split(tp, r, 0, 2, halves);
    TEST_EQ_INT(halves[1]->shape[0], 2);
    TEST_NEAR(halves[1]->data[3], 4, 0);
    int64_t sh[1] = {6};
    nn_tensor *flat = nn_reshape(tp, c, 1, sh);
    TEST_TRUE(flat->data == c->data);
    nn_tape_free(tp);
    nn_tensor_free(a);
    nn_tensor_free(b);
}

static void test_shape_ops_gradcheck(void) {
    int64_t s[3] = {2, 3, 4};
    nn_tensor *a = nn_test_rand(3, s, 70, -1, 1);
    nn_tensor *b = nn_test_rand(3, s, 71, -1, 1);
    nn_tensor *ps[2] = {a, b};
    shape_ctx reshape = {0, 0, 0};
    NN_TEST_GRADCHECK(loss_shape, &reshape, ps, 1, 1e-2, 2e-3);
    int pairs[3][2] = {{1, 2}, {0, 2}, {0, 1}};
    for (int k = 0; k < 3; k++) {
        shape_ctx tr = {1, pairs[k][0], pairs[k][1]};
        NN_TEST_GRADCHECK(loss_shape, &tr, ps, 1, 1e-2, 2e-3);
    }
    for (int axis = 0; axis < 3; axis++) {
        shape_ctx cat = {2, axis, 0};
        NN_TEST_GRADCHECK(loss_shape, &cat, ps, 2, 1e-2, 2e-3);
    }
    shape_ctx sl = {3, 1, 0};
    NN_TEST_GRADCHECK(loss_shape, &sl, ps, 1, 1e-2, 2e-3);
    shape_ctx sp = {4, 2, 0};
    NN_TEST_GRADCHECK(loss_shape, &sp, ps, 1, 1e-2, 2e-3);
    int64_t s4[4] = {2, 3, 2, 2};
    nn_tensor *c = nn_test_rand(4, s4, 72, -1, 1);
    shape_ctx tr4 = {1, 1, 2};
    NN_TEST_GRADCHECK(loss_shape, &tr4, &c, 1, 1e-2, 2e-3);
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(c);
}

static void test_detach_stops_gradient(void) {
    nn_tensor *a = nn_test_rand2(2, 2, 73);
    nn_tape *tp = nn_tape_new();
    nn_tensor *d = nn_detach(tp, a);
    TEST_EQ_INT(d->requires_grad, 0);
    TEST_TRUE(d->data == a->data);
    /* loss = sum(a * sg(a)): gradient a, not 2a */
    nn_tape_backward(tp, nn_sum(tp, nn_mul(tp, a, d)));
    for (int i = 0; i < 4; i++) TEST_NEAR(a->grad[i], a->data[i], 0);
    nn_tape_free(tp);
    nn_tensor_free(a);
}

/* ------------------------------------------------------------------------------------------ */
/* element-wise activations */

typedef struct act_ctx {
    int which;
} act_ctx;

static nn_tensor *loss_act(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    act_ctx *c = ctx;
    nn_tensor *x = p[0], *y;
    switch (c->which) {
    case 0: y = nn_gelu(tp, x); break;
    case 1: y = nn_tanh(tp, x); break;
    case 2: y = nn_sigmoid(tp, x); break;
    case 3: y = nn_exp(tp, x); break;
    case 4: y = nn_log(tp, x); break;   /* inputs kept positive */
    case 5: y = nn_sqrt(tp, x); break;  /* inputs kept positive */
    default: y = nn_relu(tp, x); break;
    }
    return nn_test_weighted_sum(tp, y, 20);
}

static void test_activation_values(void) {
    float xv[5] = {-3.0f, -1.0f, 0.0f, 1.0f, 2.0f};
    nn_tensor *x = nn_tensor_new1(5, 0);
    nn_tensor_copy_from(x, xv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *g = nn_gelu(tp, x), *t = nn_tanh(tp, x), *s = nn_sigmoid(tp, x);
    nn_tensor *r = nn_relu(tp, x);
    for (int i = 0; i < 5; i++) {
        double v = xv[i];
        double gelu = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        TEST_NEAR(g->data[i], gelu, 1e-6);
        TEST_NEAR(t->data[i], tanh(v), 1e-6);
        TEST_NEAR(s->data[i], 1 / (1 + exp(-v)), 1e-7);
        TEST_NEAR(r->data[i], v > 0 ? v : 0, 0);
    }
    /* GPT-2's gelu(1) = 0.841192; sigmoid stays finite far out */
    TEST_NEAR(g->data[3], 0.8411920, 1e-6);
    x->data[0] = -200.0f;
    x->data[4] = 200.0f;
    s = nn_sigmoid(tp, x);
    TEST_NEAR(s->data[0], 0.0, 1e-30);
    TEST_NEAR(s->data[4], 1.0, 0);
    x->data[0] = 4.0f;
    TEST_NEAR(nn_sqrt(tp, x)->data[0], 2.0, 0);
    TEST_NEAR(nn_log(tp, nn_exp(tp, x))->data[3], 1.0, 1e-6);
    nn_tape_free(tp);
    nn_tensor_free(x);
}

static void test_activations_gradcheck(void) {
    int64_t s[2] = {4, 5};
    for (int w = 0; w < 6; w++) {
        nn_tensor *x = w >= 4 ? nn_test_rand(2, s, 80 + (uint64_t)w, 0.5f, 2.0f)
                              : nn_test_rand(2, s, 80 + (uint64_t)w, -2.0f, 2.0f);
        act_ctx ctx = {w};
        NN_TEST_GRADCHECK(loss_act, &ctx, &x, 1, 1e-2, 3e-3);
        nn_tensor_free(x);
    }
}

static void test_relu_gradcheck_with_kinks(void) {
    int64_t s[2] = {4, 5};
    nn_tensor *x = nn_test_rand(2, s, 90, -1.0f, 1.0f);
    x->data[3] = 0.002f; /* within one step of the kink: must be skipped, not failed */
    x->data[7] = -0.004f;
    act_ctx ctx = {6};
    char msg[512];
    TEST_TRUE(nn_test_gradcheck(loss_act, &ctx, &x, 1, 1e-2, 1e-3, 1, msg, sizeof msg));
    /* without the kink skip the element at 0.002 is wrong by design */
    TEST_TRUE(!nn_test_gradcheck(loss_act, &ctx, &x, 1, 1e-2, 1e-3, 0, msg, sizeof msg));
    nn_tensor_free(x);
}

/* ------------------------------------------------------------------------------------------ */
/* softmax family and cross-entropy */

static const int32_t ce_targets[4] = {2, NN_IGNORE_INDEX, 0, 5};

static nn_tensor *loss_softmaxes(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    act_ctx *c = ctx;
    switch (c->which) {
    case 0: return nn_test_weighted_sum(tp, nn_softmax(tp, p[0]), 21);
    case 1: return nn_test_weighted_sum(tp, nn_log_softmax(tp, p[0]), 22);
    case 2: return nn_cross_entropy(tp, p[0], ce_targets);
    default: {
        /* attention-shaped: (B, T, T) scores, causal mask, softmax */
        return nn_test_weighted_sum(tp, nn_softmax(tp, nn_causal_mask(tp, p[0])), 23);
    }
    }
}

static void test_softmax_values_and_stability(void) {
    nn_tensor *x = nn_tensor_new2(2, 3, 0);
    float xv[6] = {1, 2, 3, 1000, 1001, 1002}; /* the second row would overflow expf */
    nn_tensor_copy_from(x, xv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *s = nn_softmax(tp, x), *ls = nn_log_softmax(tp, x);
    double z = exp(-2.0) + exp(-1.0) + 1.0;
    for (int r = 0; r < 2; r++) {
        TEST_NEAR(s->data[r * 3 + 0], exp(-2.0) / z, 1e-7);
        TEST_NEAR(s->data[r * 3 + 2], 1.0 / z, 1e-7);
        TEST_NEAR(ls->data[r * 3 + 1], -1.0 - log(z), 1e-6);
    }
    nn_tape_free(tp);
    nn_tensor_free(x);
}

static void test_cross_entropy_hand_values(void) {
    nn_tensor *x = nn_tensor_new2(3, 2, 1);
    float xv[6] = {0, 0, 0, 2, 50, -50};
    nn_tensor_copy_from(x, xv);
    int32_t tg[3] = {0, NN_IGNORE_INDEX, 1};
    nn_tape *tp = nn_tape_new();
    nn_tensor *l = nn_cross_entropy(tp, x, tg);
    /* rows 0 and 2 count: log 2 and 100 + log(1 + e^-100) */
    TEST_NEAR(l->data[0], (log(2.0) + 100.0) / 2.0, 1e-5);
    nn_tape_backward(tp, l);
    /* d/dlogits = (softmax - onehot) / count */
    TEST_NEAR(x->grad[0], (0.5 - 1.0) / 2, 1e-7);
    TEST_NEAR(x->grad[1], 0.5 / 2, 1e-7);
    TEST_NEAR(x->grad[2], 0, 0); /* ignored row */
    TEST_NEAR(x->grad[3], 0, 0);
    TEST_NEAR(x->grad[4], 0.5, 1e-7);
    TEST_NEAR(x->grad[5], -0.5, 1e-7);
    /* every row ignored: loss 0, no gradient */
    nn_tape_reset(tp);
    nn_tensor_zero_grad(x);
    int32_t none[3] = {NN_IGNORE_INDEX, NN_IGNORE_INDEX, NN_IGNORE_INDEX};
    l = nn_cross_entropy(tp, x, none);
    TEST_NEAR(l->data[0], 0, 0);
    nn_tape_backward(tp, l);
    TEST_NEAR(x->grad[0], 0, 0);
    nn_tape_free(tp);
    nn_tensor_free(x);
}

static void test_causal_mask_values(void) {
    int64_t s[3] = {1, 3, 3};
    nn_tensor *x = nn_test_rand(3, s, 95, -1, 1);
    nn_tape *tp = nn_tape_new();
    nn_tensor *p = nn_softmax(tp, nn_causal_mask(tp, x));
    TEST_NEAR(p->data[0], 1.0, 0);          /* row 0 sees only itself */
    TEST_NEAR(p->data[1], 0.0, 0);
    TEST_NEAR(p->data[5], 0.0, 0);          /* row 1 never sees position 2 */
    TEST_NEAR(p->data[3] + p->data[4], 1.0, 1e-6);
    nn_tape_free(tp);
    nn_tensor_free(x);
}

static void test_softmax_family_gradcheck(void) {
    nn_tensor *x = nn_test_rand(2, (int64_t[]){4, 6}, 100, -2, 2);
    /* log-probabilities are large (~ -3 each), so the weighted-sum loss is ~10 and its
     * float rounding puts ~3e-5 of noise into each difference quotient: judge gradient
     * elements below 1e-2 on that absolute scale (floor 1e-2) */
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.abs_floor = 1e-2;
    for (int w = 0; w < 3; w++) {
        act_ctx ctx = {w};
        NN_TEST_GRADCHECK_OPTS(loss_softmaxes, &ctx, &x, 1, &o, 3e-3);
    }
    nn_tensor *att = nn_test_rand(3, (int64_t[]){2, 4, 4}, 101, -2, 2);
    act_ctx ctx = {3};
    NN_TEST_GRADCHECK(loss_softmaxes, &ctx, &att, 1, 1e-2, 3e-3);
    nn_tensor_free(x);
    nn_tensor_free(att);
}

/* ------------------------------------------------------------------------------------------ */
/* L2 normalise, LayerNorm, dropout */

static nn_tensor *loss_l2(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    /* cosine similarity matrix, as used for BEAT's orthogonality and SAR losses */
    nn_tensor *q = nn_l2_normalize(tp, p[0]);
    return nn_test_weighted_sum(tp, nn_matmul(tp, q, q, 0, 1), 24);
}

static void test_l2_normalize_values_and_gradcheck(void) {
    nn_tensor *x = nn_tensor_new2(2, 2, 1);
    float xv[4] = {3, 4, 0, 0};
    nn_tensor_copy_from(x, xv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *y = nn_l2_normalize(tp, x);
    TEST_NEAR(y->data[0], 0.6, 1e-7);
    TEST_NEAR(y->data[1], 0.8, 1e-7);
    TEST_NEAR(y->data[2], 0.0, 0); /* zero row stays zero, no NaN */
    nn_tape_backward(tp, nn_sum(tp, y));
    TEST_TRUE(isfinite(x->grad[2]));
    /* d sum(x/|x|) at (3,4) = (1 - y (y.1)) / 5 = ((1 - 0.6*1.4) / 5, (1 - 0.8*1.4) / 5) */
    TEST_NEAR(x->grad[0], (1 - 0.6 * 1.4) / 5, 1e-6);
    TEST_NEAR(x->grad[1], (1 - 0.8 * 1.4) / 5, 1e-6);
    nn_tape_free(tp);
    nn_tensor_free(x);
    nn_tensor *z = nn_test_rand2(5, 4, 110);
    NN_TEST_GRADCHECK(loss_l2, NULL, &z, 1, 1e-2, 3e-3);
    nn_tensor_free(z);
}

static nn_tensor *loss_layernorm(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)ctx;
    nn_tensor *y = nn_layernorm(tp, p[0], n > 1 ? p[1] : NULL, n > 2 ? p[2] : NULL, 1e-5f);
    return nn_test_weighted_sum(tp, y, 25);
}

static void test_layernorm_values_and_gradcheck(void) {
    nn_tensor *x = nn_tensor_new2(1, 4, 0);
    float xv[4] = {1, 2, 3, 4};
    nn_tensor_copy_from(x, xv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *y = nn_layernorm(tp, x, NULL, NULL, 1e-5f);
    /* mean 2.5, biased var 1.25 */
    double rstd = 1.0 / sqrt(1.25 + 1e-5);
    TEST_NEAR(y->data[0], -1.5 * rstd, 1e-6);
    TEST_NEAR(y->data[3], 1.5 * rstd, 1e-6);
    nn_tensor *g = nn_tensor_new1(4, 0), *b = nn_tensor_new1(4, 0);
    nn_tensor_fill(g, 2.0f);
    nn_tensor_fill(b, 0.5f);
    y = nn_layernorm(tp, x, g, b, 1e-5f);
    TEST_NEAR(y->data[1], 2.0 * -0.5 * rstd + 0.5, 1e-6);
    nn_tape_free(tp);
    nn_tensor_free(x);
    nn_tensor_free(g);
    nn_tensor_free(b);

    nn_tensor *xs = nn_test_rand2(3, 6, 120);
    nn_tensor *gamma = nn_test_rand(1, (int64_t[]){6}, 121, 0.5f, 1.5f);
    nn_tensor *beta = nn_test_rand(1, (int64_t[]){6}, 122, -0.5f, 0.5f);
    nn_tensor *ps[3] = {xs, gamma, beta};
    NN_TEST_GRADCHECK(loss_layernorm, NULL, ps, 3, 1e-2, 3e-3);
    NN_TEST_GRADCHECK(loss_layernorm, NULL, ps, 1, 1e-2, 3e-3);
    nn_tensor_free(xs);
    nn_tensor_free(gamma);
    nn_tensor_free(beta);
}

static nn_tensor *loss_dropout(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    (void)ctx;
    bb_rng r; /* re-seeded every call: the same mask on every evaluation */
    bb_rng_seed(&r, 5, "test/dropout");
    return nn_test_weighted_sum(tp, nn_dropout(tp, nn_tanh(tp, p[0]), 0.3f, &r), 26);
}

static void test_dropout_mask_and_gradcheck(void) {
    nn_tensor *x = nn_tensor_new2(100, 100, 0);
    nn_tensor_fill(x, 1.0f);
    nn_tape *tp = nn_tape_new();
    bb_rng r;
    bb_rng_seed(&r, 1, "test/dropout");
    nn_tensor *y = nn_dropout(tp, x, 0.25f, &r);
    int64_t zeros = 0;
    for (int64_t i = 0; i < y->numel; i++) {
        if (y->data[i] == 0.0f)
            zeros++;
        else
            TEST_NEAR(y->data[i], 1.0 / 0.75, 1e-6);
    }
    TEST_NEAR((double)zeros / 10000.0, 0.25, 0.02);
    TEST_TRUE(nn_dropout(tp, x, 0.0f, &r) == x); /* evaluation: identity */
    nn_tape_free(tp);
    nn_tensor_free(x);
    nn_tensor *z = nn_test_rand2(4, 5, 130);
    NN_TEST_GRADCHECK(loss_dropout, NULL, &z, 1, 1e-2, 3e-3);
    nn_tensor_free(z);
}

static void test_backward_seed_matches_weighted_loss(void) {
    /* seeding d out = W must give the gradient of sum(out .* W) */
    nn_tensor *a = nn_test_rand2(3, 4, 140), *b = nn_test_rand2(4, 2, 141);
    nn_tape *tp = nn_tape_new();
    nn_tensor *out = nn_matmul(tp, a, b, 0, 0);
    float seed[6] = {1, -2, 0.5f, 3, -1, 0.25f};
    nn_tape_backward_seed(tp, out, seed);
    float ga[12];
    memcpy(ga, a->grad, sizeof ga);
    nn_tensor_zero_grad(a);
    nn_tensor_zero_grad(b);
    nn_tape_reset(tp);
    int64_t shape[2] = {3, 2}; /* not out->shape: out died with the reset */
    nn_tensor *w = nn_tape_from(tp, 2, shape, seed);
    nn_tape_backward(tp, nn_sum(tp, nn_mul(tp, nn_matmul(tp, a, b, 0, 0), w)));
    for (int i = 0; i < 12; i++) TEST_NEAR(ga[i], a->grad[i], 1e-6);
    /* by hand: d a[0][k] = sum_j seed[0][j] b[k][j] */
    TEST_NEAR(ga[1], seed[0] * b->data[2] + seed[1] * b->data[3], 1e-6);
    nn_tape_free(tp);
    nn_tensor_free(a);
    nn_tensor_free(b);
}

const bb_test bb_suite_nn_ops[] = {
    {"backward_seed_matches_weighted_loss", test_backward_seed_matches_weighted_loss},
    {"transpose_values", test_transpose_values},
    {"concat_slice_values", test_concat_slice_values},
    {"shape_ops_gradcheck", test_shape_ops_gradcheck},
    {"detach_stops_gradient", test_detach_stops_gradient},
    {"activation_values", test_activation_values},
    {"activations_gradcheck", test_activations_gradcheck},
    {"relu_gradcheck_with_kinks", test_relu_gradcheck_with_kinks},
    {"softmax_values_and_stability", test_softmax_values_and_stability},
    {"cross_entropy_hand_values", test_cross_entropy_hand_values},
    {"causal_mask_values", test_causal_mask_values},
    {"softmax_family_gradcheck", test_softmax_family_gradcheck},
    {"l2_normalize_values_and_gradcheck", test_l2_normalize_values_and_gradcheck},
    {"layernorm_values_and_gradcheck", test_layernorm_values_and_gradcheck},
    {"dropout_mask_and_gradcheck", test_dropout_mask_and_gradcheck},
    {NULL, NULL},
};
