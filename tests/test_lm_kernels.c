/* Gradient checks of every LM kernel (models/lm/lm_kernels.h) by central differences.
 *
 * Each check builds the scalar L = sum(out * R) for a fixed random R, accumulated in double,
 * runs the kernel's backward with dout = R, and compares a sample of the analytic input
 * gradients with (L(x + h) - L(x - h)) / 2h. Plus hand-worked values for the forward ops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/lm/lm_kernels.h"
#include "tests/testhelp.h"

#define H 1e-2
#define TOL 2e-3 /* relative, with an absolute floor of 1e-2 on the denominator */

typedef struct kcase {
    int B, T, C, NH, OC, V;
    float *x, *w, *b, *r, *out, *aux1, *aux2, *scratch;
    int32_t *ids, *inject_row;
    int which;
} kcase;

static float *randn(bb_rng *rng, size_t n, float scale) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * (float)bb_rng_normal(rng);
    return p;
}

static double dot_r(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* Central differences of f over a sample of x's elements against the analytic gradient. */
static double max_rel_err(double (*f)(kcase *), kcase *k, float *x, const float *grad, size_t n) {
    double worst = 0.0;
    size_t stride = n > 40 ? n / 40 : 1;
    for (size_t i = 0; i < n; i += stride) {
        float keep = x[i];
        x[i] = keep + (float)H;
        double up = f(k);
        x[i] = keep - (float)H;
        double down = f(k);
        x[i] = keep;
        double num = (up - down) / (2 * H), ana = grad[i];
        double rel = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), 1e-2);
        if (rel > worst) worst = rel;
    }
    return worst;
}

/* ---- layernorm ---------------------------------------------------------------------- */

static double ln_loss(kcase *k) {
    lm_layernorm_forward(k->out, k->aux1, k->aux2, k->x, k->w, k->b, k->B, k->C);
    return dot_r(k->out, k->r, (size_t)k->B * k->C);
}

static void test_layernorm_gradients(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 1, "test/lm-ln");
    kcase k = {.B = 5, .C = 12};
    size_t n = (size_t)k.B * k.C;
    k.x = randn(&rng, n, 2.0f), k.w = randn(&rng, k.C, 1.0f), k.b = randn(&rng, k.C, 1.0f);
    k.r = randn(&rng, n, 1.0f), k.out = malloc(n * sizeof(float));
    k.aux1 = malloc(k.B * sizeof(float)), k.aux2 = malloc(k.B * sizeof(float));
    float *dx = calloc(n, sizeof(float)), *dw = calloc(k.C, sizeof(float)),
          *db = calloc(k.C, sizeof(float));
    ln_loss(&k);
    lm_layernorm_backward(dx, dw, db, k.r, k.x, k.w, k.aux1, k.aux2, k.B, k.C);
    double e1 = max_rel_err(ln_loss, &k, k.x, dx, n);
    double e2 = max_rel_err(ln_loss, &k, k.w, dw, k.C);
    double e3 = max_rel_err(ln_loss, &k, k.b, db, k.C);
    free(dx), free(dw), free(db);
    /* Hand-worked: 1..12 with unit gain has mean 6.5 and variance (12^2 - 1) / 12. */
    float ones[12], zeros[12], row[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out[12], m, s;
    for (int c = 0; c < 12; c++) ones[c] = 1.0f, zeros[c] = 0.0f;
    lm_layernorm_forward(out, &m, &s, row, ones, zeros, 1, 12);
    free(k.x), free(k.w), free(k.b), free(k.r), free(k.out), free(k.aux1), free(k.aux2);
    TEST_NEAR(m, 6.5, 1e-6);
    TEST_NEAR(out[0], -5.5 / sqrt(143.0 / 12.0 + 1e-5), 1e-5);
    TEST_TRUE(e1 < TOL);
    TEST_TRUE(e2 < TOL);
    TEST_TRUE(e3 < TOL);
}

/* ---- matmul ------------------------------------------------------------------------- */

static double mm_loss(kcase *k) {
    lm_matmul_forward(k->out, k->x, k->w, k->b, k->B, k->C, k->OC);
    return dot_r(k->out, k->r, (size_t)k->B * k->OC);
}

static void test_matmul_gradients(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 2, "test/lm-mm");
    kcase k = {.B = 6, .C = 7, .OC = 5};
    k.x = randn(&rng, 42, 1.0f), k.w = randn(&rng, 35, 1.0f), k.b = randn(&rng, 5, 1.0f);
    k.r = randn(&rng, 30, 1.0f), k.out = malloc(30 * sizeof(float));
    float *dx = calloc(42, sizeof(float)), *dw = calloc(35, sizeof(float)),
          *db = calloc(5, sizeof(float));
    mm_loss(&k);
    /* Hand check of one output: out[1][2] = x[1] . w[2] + b[2]. */
    double want = k.b[2];
    for (int c = 0; c < 7; c++) want += (double)k.x[7 + c] * k.w[14 + c];
    double got = k.out[5 + 2];
    lm_matmul_backward(dx, dw, db, k.r, k.x, k.w, 6, 7, 5);
    double e1 = max_rel_err(mm_loss, &k, k.x, dx, 42);
    double e2 = max_rel_err(mm_loss, &k, k.w, dw, 35);
    double e3 = max_rel_err(mm_loss, &k, k.b, db, 5);
    /* Frozen: NULL weight gradients leave only the input gradient, unchanged. */
    float *dx2 = calloc(42, sizeof(float));
    lm_matmul_backward(dx2, NULL, NULL, k.r, k.x, k.w, 6, 7, 5);
    int same = memcmp(dx, dx2, 42 * sizeof(float)) == 0;
    free(dx), free(dx2), free(dw), free(db), free(k.x), free(k.w), free(k.b), free(k.r),
        free(k.out);
    TEST_NEAR(got, want, 1e-5);
    TEST_TRUE(e1 < TOL);
    TEST_TRUE(e2 < TOL);
    TEST_TRUE(e3 < TOL);
    TEST_TRUE(same);
}

/* ---- attention ---------------------------------------------------------------------- */

static double att_loss(kcase *k) {
    lm_attention_forward(k->out, k->aux1, k->x, k->B, k->T, k->C, k->NH);
    return dot_r(k->out, k->r, (size_t)k->B * k->T * k->C);
}

/* T = 5 fits one query block; T = 70 spans two (the causal blocking's edge case). */
static void check_attention(int B, int T, int C, int NH, double *err, int *first_is_v,
                            int *causal) {
    bb_rng rng;
    bb_rng_seed(&rng, (uint64_t)T, "test/lm-att");
    kcase k = {.B = B, .T = T, .C = C, .NH = NH};
    size_t nqkv = (size_t)k.B * k.T * 3 * k.C, nout = (size_t)k.B * k.T * k.C;
    k.x = randn(&rng, nqkv, 1.0f), k.r = randn(&rng, nout, 1.0f);
    k.out = malloc(nout * sizeof(float));
    k.aux1 = malloc((size_t)k.B * k.NH * k.T * k.T * sizeof(float));
    float *scratch = malloc((size_t)k.T * k.T * sizeof(float));
    float *dqkv = calloc(nqkv, sizeof(float));
    att_loss(&k);
    lm_attention_backward(dqkv, scratch, k.r, k.x, k.aux1, k.B, k.T, k.C, k.NH);
    *err = max_rel_err(att_loss, &k, k.x, dqkv, nqkv);
    att_loss(&k); /* the checker's last call saw a perturbed input */
    /* Position 0 attends only to itself: its output is its own value vector. */
    *first_is_v = 1;
    for (int c = 0; c < k.C; c++) *first_is_v &= fabsf(k.out[c] - k.x[2 * k.C + c]) < 1e-6f;
    /* Causality: changing the last position's key/value leaves earlier outputs unchanged. */
    float *before = malloc(nout * sizeof(float));
    memcpy(before, k.out, nout * sizeof(float));
    for (int c = k.C; c < 3 * k.C; c++) k.x[(size_t)(k.T - 1) * 3 * k.C + c] += 1.0f;
    att_loss(&k);
    *causal = memcmp(before, k.out, (size_t)(k.T - 1) * k.C * sizeof(float)) == 0;
    free(before), free(scratch), free(dqkv), free(k.x), free(k.r), free(k.out), free(k.aux1);
}

static void test_attention_gradients_and_causality(void) {
    double err;
    int first_is_v, causal;
    check_attention(2, 5, 8, 2, &err, &first_is_v, &causal);
    TEST_TRUE(err < TOL);
    TEST_TRUE(first_is_v);
    TEST_TRUE(causal);
    check_attention(1, 70, 8, 2, &err, &first_is_v, &causal);
    TEST_TRUE(err < 5 * TOL); /* 560 float outputs in the sum: more rounding noise */
    TEST_TRUE(first_is_v);
    TEST_TRUE(causal);
}

/* ---- GELU, residual, exp ------------------------------------------------------------ */

static double gelu_loss(kcase *k) {
    lm_gelu_forward(k->out, k->x, (size_t)k->B);
    return dot_r(k->out, k->r, (size_t)k->B);
}

static void test_gelu_values_and_gradients(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 4, "test/lm-gelu");
    kcase k = {.B = 64};
    k.x = randn(&rng, 64, 3.0f), k.r = randn(&rng, 64, 1.0f), k.out = malloc(64 * sizeof(float));
    float *dx = calloc(64, sizeof(float));
    gelu_loss(&k);
    double worst_value = 0.0;
    for (int i = 0; i < 64; i++) {
        double x = k.x[i];
        double ref = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        worst_value = fmax(worst_value, fabs(k.out[i] - ref));
    }
    lm_gelu_backward(dx, k.x, k.r, 64);
    double e = max_rel_err(gelu_loss, &k, k.x, dx, 64);
    free(dx), free(k.x), free(k.r), free(k.out);
    TEST_TRUE(worst_value < 1e-5);
    TEST_TRUE(e < TOL);
}

static void test_exp_and_residual(void) {
    double worst = 0.0;
    for (float x = -80.0f; x < 80.0f; x += 0.37f)
        worst = fmax(worst, fabs(lm_expf(x) - exp((double)x)) / exp((double)x));
    TEST_TRUE(worst < 3e-7);
    TEST_TRUE(lm_expf(-1000.0f) >= 0.0f && lm_expf(-1000.0f) < 1e-37f);
    TEST_TRUE(isfinite(lm_expf(1000.0f)));
    float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, o[3], da[3] = {0}, db[3] = {1, 1, 1};
    lm_residual_forward(o, a, b, 3);
    TEST_NEAR(o[2], 33.0, 0);
    lm_residual_backward(da, db, a, 3);
    TEST_NEAR(da[1], 2.0, 0);
    TEST_NEAR(db[1], 3.0, 0);
}

/* ---- cross-entropy ------------------------------------------------------------------ */

static void test_crossentropy_values_and_gradients(void) {
    /* Uniform logits over V classes: loss log V, gradient 1/V - onehot. */
    float logits[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    int32_t tg[2] = {1, 3};
    float losses[2];
    double sum = lm_crossentropy_forward_backward(logits, tg, 2, 4, 1.0f, losses);
    double l2 = log(exp(1.0) + exp(2.0) + exp(3.0) + exp(4.0)) - 4.0;
    TEST_NEAR(losses[0], log(4.0), 1e-6);
    TEST_NEAR(losses[1], l2, 1e-6);
    TEST_NEAR(sum, log(4.0) + l2, 1e-6);
    TEST_NEAR(logits[0], 0.25, 1e-6);
    TEST_NEAR(logits[1], -0.75, 1e-6);
    TEST_NEAR(logits[7], exp(4.0) / (exp(1.0) + exp(2.0) + exp(3.0) + exp(4.0)) - 1.0, 1e-6);
    /* Central differences on random logits. */
    bb_rng rng;
    bb_rng_seed(&rng, 5, "test/lm-ce");
    float *x = randn(&rng, 3 * 11, 2.0f), *g = malloc(33 * sizeof(float));
    int32_t t3[3] = {0, 5, 10};
    memcpy(g, x, 33 * sizeof(float));
    lm_crossentropy_forward_backward(g, t3, 3, 11, 0.5f, NULL);
    double worst = 0.0;
    for (int i = 0; i < 33; i++) {
        float keep = x[i], tmp[33];
        x[i] = keep + (float)H;
        memcpy(tmp, x, sizeof tmp);
        double up = 0.5 * lm_crossentropy_forward_backward(tmp, t3, 3, 11, 0.0f, NULL);
        x[i] = keep - (float)H;
        memcpy(tmp, x, sizeof tmp);
        double down = 0.5 * lm_crossentropy_forward_backward(tmp, t3, 3, 11, 0.0f, NULL);
        x[i] = keep;
        double num = (up - down) / (2 * H);
        worst = fmax(worst, fabs(num - g[i]) / fmax(fmax(fabs(num), fabs(g[i])), 1e-2));
    }
    free(x), free(g);
    TEST_TRUE(worst < TOL);
}

/* ---- embedding with injected rows --------------------------------------------------- */

static double emb_loss(kcase *k) {
    lm_embed_forward(k->out, k->ids, k->inject_row, k->b, k->x, k->w, k->B, k->T, k->C);
    return dot_r(k->out, k->r, (size_t)k->B * k->T * k->C);
}

static void test_embedding_with_injection(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 6, "test/lm-emb");
    int32_t ids[6] = {3, 1, 0, 2, 2, 3}, inject_row[6] = {-1, 0, -1, -1, 1, -1};
    kcase k = {.B = 2, .T = 3, .C = 4, .ids = ids, .inject_row = inject_row};
    k.x = randn(&rng, 16, 1.0f); /* wte (4, 4) */
    k.w = randn(&rng, 12, 1.0f); /* wpe (3, 4) */
    k.b = randn(&rng, 8, 1.0f);  /* injected (2, 4) */
    k.r = randn(&rng, 24, 1.0f), k.out = malloc(24 * sizeof(float));
    float *dwte = calloc(16, sizeof(float)), *dwpe = calloc(12, sizeof(float)),
          *dinj = calloc(8, sizeof(float));
    emb_loss(&k);
    /* Row (b=1, t=1) is injected vector 1 plus position 1. */
    double got = k.out[(3 + 1) * 4 + 2], want = (double)k.b[4 + 2] + k.w[4 + 2];
    lm_embed_backward(dwte, dwpe, dinj, k.r, ids, inject_row, 2, 3, 4);
    double e1 = max_rel_err(emb_loss, &k, k.x, dwte, 16);
    double e2 = max_rel_err(emb_loss, &k, k.w, dwpe, 12);
    double e3 = max_rel_err(emb_loss, &k, k.b, dinj, 8);
    /* Token 1 occurs only at an injected position, so its embedding gets no gradient. */
    int untouched = dwte[4] == 0.0f && dwte[5] == 0.0f && dwte[6] == 0.0f && dwte[7] == 0.0f;
    free(dwte), free(dwpe), free(dinj), free(k.x), free(k.w), free(k.b), free(k.r), free(k.out);
    TEST_NEAR(got, want, 1e-6);
    TEST_TRUE(e1 < TOL);
    TEST_TRUE(e2 < TOL);
    TEST_TRUE(e3 < TOL);
    TEST_TRUE(untouched);
}

const bb_test bb_suite_lm_kernels[] = {
    {"layernorm_gradients", test_layernorm_gradients},
    {"matmul_gradients", test_matmul_gradients},
    {"attention_gradients_and_causality", test_attention_gradients_and_causality},
    {"gelu_values_and_gradients", test_gelu_values_and_gradients},
    {"exp_and_residual", test_exp_and_residual},
    {"crossentropy_values_and_gradients", test_crossentropy_values_and_gradients},
    {"embedding_with_injection", test_embedding_with_injection},
    {NULL, NULL},
};
