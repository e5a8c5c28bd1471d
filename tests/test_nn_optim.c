/* Tests for models/nn/nn_optim: the flat parameter registry (layout, cache-line aligned
 * blocks), Adam/AdamW (hand-worked steps, a known minimum, the vectorised kernel against
 * the scalar formula bit for bit), gradient clipping and the initialisers. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------------ */
/* parameters and optimizers */

static void test_params_flat_layout(void) {
    nn_params *ps = nn_params_new();
    nn_tensor *a = nn_params_add2(ps, "a", 2, 3);
    nn_tensor *b = nn_params_add1(ps, "b", 4);
    int64_t s[3] = {2, 2, 2};
    nn_tensor *c = nn_params_add(ps, "c", 3, s);
    TEST_TRUE(a->data == NULL);
    nn_params_finalize(ps);
    TEST_EQ_INT(ps->total, 6 + 4 + 8);
    TEST_TRUE(a->data == ps->data);
    TEST_TRUE(b->data == ps->data + 6);
    TEST_TRUE(c->grad == ps->grad + 10);
    TEST_TRUE(nn_params_find(ps, "b") == b);
    TEST_TRUE(nn_params_find(ps, "zz") == NULL);
    TEST_STR_EQ(c->name, "c");
    for (int64_t i = 0; i < ps->total; i++) ps->grad[i] = 1.0f;
    nn_params_zero_grad(ps);
    TEST_NEAR(c->grad[7], 0, 0);
    nn_params_free(ps);
}

/* The registry's four blocks start on a cache line (bpr's 64-float rows then span whole
 * lines), come zeroed, and so do the bb_io blocks behind them at every size. */
static void test_params_blocks_are_cache_line_aligned(void) {
    for (int total = 0; total <= 3; total++) {
        nn_params *ps = nn_params_new();
        if (total > 0) nn_params_add2(ps, "a", 3, 5 * total);
        if (total > 1) nn_params_add1(ps, "b", 7);
        nn_params_finalize(ps);
        float *blocks[4] = {ps->data, ps->grad, ps->m, ps->v};
        for (int b = 0; b < 4; b++) {
            TEST_EQ_INT((uintptr_t)blocks[b] % 64, 0);
            for (int64_t k = 0; k < ps->total; k++) TEST_TRUE(blocks[b][k] == 0.0f);
        }
        nn_params_free(ps);
    }
    const size_t sizes[] = {0, 1, 63, 64, 65, 1000, 300000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        unsigned char *z = bb_aligned_calloc(sizes[s], 1);
        unsigned char *u = bb_aligned_malloc(sizes[s]);
        TEST_EQ_INT((uintptr_t)z % BB_CACHE_LINE, 0);
        TEST_EQ_INT((uintptr_t)u % BB_CACHE_LINE, 0);
        /* the size is rounded up to whole lines: the last line is usable */
        size_t usable = (sizes[s] + BB_CACHE_LINE - 1) / BB_CACHE_LINE * BB_CACHE_LINE;
        if (usable == 0) usable = BB_CACHE_LINE;
        for (size_t k = 0; k < usable; k++) TEST_EQ_INT(z[k], 0);
        memset(u, 0xab, usable);
        memset(z, 0xcd, usable);
        bb_aligned_free(z);
        bb_aligned_free(u);
    }
    bb_aligned_free(NULL);
}

/* torch.optim.Adam's update written out in scalar floats, with the step constants computed
 * here (bias corrections in double, lr/bc1 and 1/sqrt(bc2) rounded to float once). */
static void adam_reference(float *p, float *m, float *v, const float *g, size_t n, float lr,
                           float b1, float b2, float eps, int64_t step) {
    const double bc1 = 1.0 - pow((double)b1, (double)step);
    const double bc2 = 1.0 - pow((double)b2, (double)step);
    const float step_size = (float)((double)lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    for (size_t k = 0; k < n; k++) {
        m[k] = b1 * m[k] + (1.0f - b1) * g[k];
        v[k] = b2 * v[k] + (1.0f - b2) * g[k] * g[k];
        p[k] -= step_size * m[k] / (sqrtf(v[k]) * inv_sqrt_bc2 + eps);
    }
}

static void fill_uniform(float *x, size_t n, bb_rng *r, double scale) {
    for (size_t k = 0; k < n; k++) x[k] = (float)((bb_rng_uniform(r) - 0.5) * scale);
}

/* nn_adam_apply (8 lanes, then a scalar tail) against the scalar formula, bit for bit, on
 * lengths that are not multiples of 8, spans that start off a vector boundary, gradients
 * of very different magnitudes (and exact zeros), several steps and two settings. */
static void test_adam_apply_matches_scalar_formula_bitwise(void) {
    const size_t lengths[] = {1, 7, 9, 15, 37, 1001};
    const nn_adam settings[2] = {nn_adam_default(1e-3f), {0.05f, 0.8f, 0.99f, 1e-6f, 0.0f, 0}};
    bb_rng r;
    bb_rng_seed(&r, 11, "test/adam_apply");
    for (int st = 0; st < 2; st++) {
        const nn_adam *o = &settings[st];
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const size_t n = lengths[li], off = li % 3; /* start 0, 1 or 2 floats in */
            float *buf = bb_malloc(9 * (n + off) * sizeof(float));
            float *p = buf + off, *m = p + n + off, *v = m + n + off, *g = v + n + off;
            float *rp = g + n + off, *rm = rp + n + off, *rv = rm + n + off, *p0 = rv + n + off;
            fill_uniform(p, n, &r, 2.0);
            memcpy(rp, p, n * sizeof(float));
            memcpy(p0, p, n * sizeof(float));
            memset(m, 0, n * sizeof(float));
            memset(v, 0, n * sizeof(float));
            memset(rm, 0, n * sizeof(float));
            memset(rv, 0, n * sizeof(float));
            for (int64_t step = 1; step <= 4; step++) {
                fill_uniform(g, n, &r, 1.0);
                for (size_t k = 0; k < n; k++) {
                    if (k % 5 == 0) g[k] = 0.0f;
                    if (k % 7 == 3) g[k] *= 1e-6f;
                    if (k % 11 == 4) g[k] *= 1e4f;
                }
                const nn_adam_consts c = nn_adam_consts_at(o, step);
                nn_adam_apply(&c, p, m, v, g, n);
                adam_reference(rp, rm, rv, g, n, o->lr, o->beta1, o->beta2, o->eps, step);
                TEST_TRUE(memcmp(p, rp, n * sizeof(float)) == 0);
                TEST_TRUE(memcmp(m, rm, n * sizeof(float)) == 0);
                TEST_TRUE(memcmp(v, rv, n * sizeof(float)) == 0);
            }
            /* the parameters did move (but where the gradient was always 0): the comparison
             * is not between two untouched copies */
            TEST_TRUE(n == 1 ? p[0] == p0[0] : p[1] != p0[1]);
            free(buf);
        }
    }
}

/* nn_adam_step without weight decay goes through the kernel per parameter: the same bits
 * as the scalar formula over parameters of odd sizes, frozen ones left alone. */
static void test_adam_step_matches_scalar_formula_bitwise(void) {
    nn_params *ps = nn_params_new();
    nn_tensor *a = nn_params_add2(ps, "a", 3, 7), *b = nn_params_add1(ps, "b", 13);
    nn_tensor *f = nn_params_add1(ps, "frozen", 5);
    nn_params_finalize(ps);
    f->requires_grad = 0;
    bb_rng r;
    bb_rng_seed(&r, 12, "test/adam_step");
    const size_t n = (size_t)ps->total;
    fill_uniform(ps->data, n, &r, 2.0);
    float *rp = bb_malloc(n * sizeof *rp), *rm = bb_calloc(n, sizeof *rm),
          *rv = bb_calloc(n, sizeof *rv), *f0 = bb_malloc(5 * sizeof *f0);
    memcpy(rp, ps->data, n * sizeof *rp);
    const float first = a->data[0], last = b->data[12];
    memcpy(f0, f->data, 5 * sizeof *f0);
    const nn_adam opt = nn_adam_default(0.01f);
    for (int64_t step = 1; step <= 3; step++) {
        fill_uniform(ps->grad, n, &r, 1.0);
        nn_adam_step(ps, &opt);
        adam_reference(rp, rm, rv, ps->grad, (size_t)(a->numel + b->numel), opt.lr,
                       opt.beta1, opt.beta2, opt.eps, step);
        TEST_TRUE(memcmp(ps->data, rp, (size_t)(a->numel + b->numel) * sizeof *rp) == 0);
        TEST_TRUE(memcmp(ps->m, rm, (size_t)(a->numel + b->numel) * sizeof *rm) == 0);
        TEST_TRUE(memcmp(ps->v, rv, (size_t)(a->numel + b->numel) * sizeof *rv) == 0);
        TEST_TRUE(memcmp(f->data, f0, 5 * sizeof *f0) == 0);
    }
    TEST_TRUE(a->data[0] != first && b->data[12] != last); /* they did move */
    free(rp);
    free(rm);
    free(rv);
    free(f0);
    nn_params_free(ps);
}

static void test_adam_first_step_and_adamw_decay(void) {
    nn_params *ps = nn_params_new();
    nn_tensor *p = nn_params_add1(ps, "p", 2);
    nn_params_finalize(ps);
    p->data[0] = 1.0f;
    p->data[1] = -2.0f;
    p->grad[0] = 0.5f;
    p->grad[1] = -4.0f;
    nn_adam opt = nn_adam_default(0.1f);
    nn_adam_step(ps, &opt);
    /* first step: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps) = lr * sign(g) */
    TEST_NEAR(p->data[0], 0.9, 1e-6);
    TEST_NEAR(p->data[1], -1.9, 1e-6);
    TEST_EQ_INT(ps->step, 1);
    /* second step with the same gradient: m_hat and v_hat still give sign(g) */
    nn_adam_step(ps, &opt);
    TEST_NEAR(p->data[0], 0.8, 1e-6);
    /* second step with g = 0 (hand-computed): m = 0.9*0.095 = 0.0855 over bc1 0.271,
     * v = 0.999*0.00049975... -> p moves by lr * m_hat / sqrt(v_hat) */
    nn_params_reset_moments(ps);
    p->data[0] = 1.0f;
    p->grad[0] = 0.5f;
    nn_adam_step(ps, &opt);
    p->grad[0] = 0.0f;
    nn_adam_step(ps, &opt);
    double m1 = 0.05, v1 = 0.00025, m2 = 0.9 * m1, v2 = 0.999 * v1;
    double mh = m2 / (1 - 0.81), vh = v2 / (1 - 0.999 * 0.999);
    TEST_NEAR(p->data[0], 0.9 - 0.1 * mh / (sqrt(vh) + 1e-8), 1e-6);

    /* zero gradient, weight decay 0.01: AdamW only shrinks p by lr*wd*p, Adam's L2 term
     * goes through the moments and moves p by a full lr */
    nn_params_reset_moments(ps);
    p->data[0] = 1.0f;
    p->data[1] = 1.0f;
    nn_params_zero_grad(ps);
    nn_adam w = nn_adamw_default(0.1f, 0.01f);
    nn_adam_step(ps, &w);
    TEST_NEAR(p->data[0], 1.0 - 0.1 * 0.01, 1e-7);
    nn_params_reset_moments(ps);
    p->data[0] = 1.0f;
    nn_adam l2 = nn_adam_default(0.1f);
    l2.weight_decay = 0.01f;
    nn_adam_step(ps, &l2);
    TEST_NEAR(p->data[0], 0.9, 1e-6);
    /* frozen parameters are not touched */
    p->requires_grad = 0;
    p->grad[0] = 1.0f;
    nn_adam_step(ps, &opt);
    TEST_NEAR(p->data[0], 0.9, 1e-6);
    nn_params_free(ps);
}

static void test_adam_reaches_quadratic_minimum(void) {
    /* minimise ||W x - y||^2 over W for a fixed full-rank x: unique minimum W* */
    nn_params *ps = nn_params_new();
    nn_tensor *w = nn_params_add2(ps, "w", 3, 3);
    nn_params_finalize(ps);
    bb_rng r;
    bb_rng_seed(&r, 1, "test/adam");
    nn_init_xavier_uniform(w, &r);
    float wstar[9] = {1, -2, 0.5f, 0, 3, -1, 2, 1, 1};
    nn_tensor *xt = nn_tensor_new2(3, 3, 0); /* identity-ish, well conditioned */
    float xv[9] = {2, 0.5f, 0, 0, 1, 0.3f, 0.2f, 0, 1.5f};
    nn_tensor_copy_from(xt, xv);
    nn_tape *tp = nn_tape_new();
    nn_tensor *ws = nn_tensor_new2(3, 3, 0);
    nn_tensor_copy_from(ws, wstar);
    nn_adam opt = nn_adam_default(0.05f);
    float loss = 0;
    for (int it = 0; it < 1500; it++) {
        nn_tape_reset(tp);
        nn_params_zero_grad(ps);
        nn_tape_set_grad(tp, 0);
        nn_tensor *y = nn_matmul(tp, ws, xt, 0, 0); /* targets from W* */
        nn_tape_set_grad(tp, 1);
        nn_tensor *l = nn_mse(tp, nn_matmul(tp, w, xt, 0, 0), y);
        loss = l->data[0];
        nn_tape_backward(tp, l);
        nn_adam_step(ps, &opt);
    }
    TEST_TRUE(loss < 1e-8);
    for (int i = 0; i < 9; i++) TEST_NEAR(w->data[i], wstar[i], 1e-3);
    nn_tape_free(tp);
    nn_tensor_free(xt);
    nn_tensor_free(ws);
    nn_params_free(ps);
}

static void test_clip_grad_norm(void) {
    nn_params *ps = nn_params_new();
    nn_tensor *a = nn_params_add1(ps, "a", 1), *b = nn_params_add1(ps, "b", 1);
    nn_params_finalize(ps);
    a->grad[0] = 3.0f;
    b->grad[0] = 4.0f;
    TEST_NEAR(nn_params_grad_norm(ps), 5.0, 1e-12);
    double before = nn_params_clip_grad_norm(ps, 1.0);
    TEST_NEAR(before, 5.0, 1e-12);
    TEST_NEAR(a->grad[0], 0.6, 1e-6);
    TEST_NEAR(b->grad[0], 0.8, 1e-6);
    /* under the limit nothing changes */
    nn_params_clip_grad_norm(ps, 10.0);
    TEST_NEAR(b->grad[0], 0.8, 1e-6);
    nn_params_free(ps);
}

static void test_initialisers(void) {
    nn_tensor *t = nn_tensor_new2(200, 300, 0);
    bb_rng r;
    bb_rng_seed(&r, 3, "test/init");
    nn_init_xavier_uniform(t, &r);
    double bound = sqrt(6.0 / 500.0), s2 = 0, mx = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        mx = fmax(mx, fabs(t->data[i]));
        s2 += (double)t->data[i] * t->data[i];
    }
    TEST_TRUE(mx <= bound);
    TEST_TRUE(mx > 0.99 * bound);
    TEST_NEAR(s2 / (double)t->numel, bound * bound / 3.0, 0.02 * bound * bound / 3.0);
    float first = t->data[0];
    bb_rng_seed(&r, 3, "test/init");
    nn_init_xavier_uniform(t, &r);
    TEST_NEAR(t->data[0], first, 0); /* same stream, same values */
    nn_init_normal(t, &r, 1.0f, 0.5f);
    TEST_NEAR(nn_tensor_sum(t) / (double)t->numel, 1.0, 0.01);
    nn_init_uniform(t, &r, 2.0f, 3.0f);
    for (int64_t i = 0; i < t->numel; i++) TEST_TRUE(t->data[i] >= 2.0f && t->data[i] <= 3.0f);
    nn_init_constant(t, 0.25f);
    TEST_NEAR(nn_tensor_sum(t), 0.25 * 60000, 1e-6);
    nn_tensor_free(t);
}

const bb_test bb_suite_nn_optim[] = {
    {"params_flat_layout", test_params_flat_layout},
    {"params_blocks_are_cache_line_aligned", test_params_blocks_are_cache_line_aligned},
    {"adam_first_step_and_adamw_decay", test_adam_first_step_and_adamw_decay},
    {"adam_reaches_quadratic_minimum", test_adam_reaches_quadratic_minimum},
    {"adam_apply_matches_scalar_formula_bitwise", test_adam_apply_matches_scalar_formula_bitwise},
    {"adam_step_matches_scalar_formula_bitwise", test_adam_step_matches_scalar_formula_bitwise},
    {"clip_grad_norm", test_clip_grad_norm},
    {"initialisers", test_initialisers},
    {NULL, NULL},
};
