/* Tests for BEAT stage 1's fused kernels (models/beat/beat_vq.h, beat_recon.h) and its
 * statistics (beat_stats.h): nearest-codeword search against a brute-force double argmin
 * (ties, the folded search), hand-worked VQ / orthogonality / reconstruction values,
 * nn_gradcheck of every loss and of the straight-through path, dead codes, perplexity, NMI. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/beat/beat_recon.h"
#include "models/beat/beat_stats.h"
#include "models/beat/beat_gemm.h"
#include "models/beat/beat_vq.h"
#include "models/base/bb_pool.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/beat_testutil.h"

static float *rand_floats(size_t n, uint64_t seed, float lo, float hi) {
    bb_rng r;
    bb_rng_seed(&r, seed, "test/beat/rand");
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * bb_rng_uniformf(&r);
    return p;
}

static void normalise_rows(float *x, int64_t n, int d) {
    for (int64_t r = 0; r < n; r++) {
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)x[r * d + c] * x[r * d + c];
        for (int c = 0; c < d; c++) x[r * d + c] = (float)(x[r * d + c] / sqrt(s));
    }
}

/* argmin_k ||z - c_k||^2 in double, ties to the lowest k */
static int32_t brute_argmin(const float *z, const float *cb, int K, int d) {
    double best = INFINITY;
    int32_t arg = 0;
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            double e = (double)z[c] - cb[(size_t)k * d + c];
            s += e * e;
        }
        if (s < best) best = s, arg = k;
    }
    return arg;
}

/* ------------------------------------------------------------------------------------------
 * Search */

static void test_search_matches_brute_force(void) {
    const int n = 300, d = 24, K = 40;
    float *z = rand_floats((size_t)n * d, 1, -1, 1), *cb = rand_floats((size_t)K * d, 2, -0.5f, 0.5f);
    normalise_rows(z, n, d);
    int32_t *idx1 = malloc(n * sizeof *idx1), *idx2 = malloc(n * sizeof *idx2);
    bb_pool *pool = bb_pool_new(2);
    beat_vq_search(NULL, z, n, d, cb, K, idx1, NULL);
    beat_vq_search(pool, z, n, d, cb, K, idx2, NULL);
    int wrong = 0, differ = 0, used = 0;
    int seen[40] = {0};
    for (int r = 0; r < n; r++) {
        wrong += idx1[r] != brute_argmin(z + r * d, cb, K, d);
        differ += idx1[r] != idx2[r];
        if (!seen[idx1[r]]++) used++;
    }
    bb_pool_free(pool);
    free(z), free(cb), free(idx1), free(idx2);
    TEST_EQ_INT(wrong, 0);
    TEST_EQ_INT(differ, 0);
    TEST_TRUE(used >= 10); /* the data exercise many codes, not one */
}

static void test_search_ties_go_to_lowest_index(void) {
    /* K = 37 (a 16-lane block, another, and a scalar tail); codes 33, 17 and 2 are the same
     * vector, nearest to every z, in three different lanes and the tail. Small integers and
     * halves keep every product and sum exact, so the tie is exact in any summation order
     * (sgemm kernels sum in different orders for different columns). */
    const int d = 8, K = 37, n = 5;
    float cb[37 * 8], z[5 * 8];
    bb_rng r;
    bb_rng_seed(&r, 3, "test/beat/ties");
    for (int i = 0; i < K * d; i++) cb[i] = (float)(3 + (int)bb_rng_below(&r, 4)); /* 3..6 */
    for (int i = 0; i < n * d; i++) z[i] = 0.5f * (float)bb_rng_below(&r, 3);      /* 0, .5, 1 */
    for (int c = 0; c < d; c++) cb[33 * d + c] = cb[17 * d + c] = cb[2 * d + c] = 1.0f;
    int32_t idx[5], idx2[5];
    beat_vq_search(NULL, z, n, d, cb, K, idx, NULL);
    /* ... and the codeword in the tail alone: 33 when 2 and 17 move away */
    for (int c = 0; c < d; c++) cb[2 * d + c] = cb[17 * d + c] = 7.0f;
    beat_vq_search(NULL, z, n, d, cb, K, idx2, NULL);
    for (int k = 0; k < n; k++) TEST_EQ_INT(idx[k], 2);
    for (int k = 0; k < n; k++) TEST_EQ_INT(idx2[k], 33);
}

static void test_search_folded_matches_direct(void) {
    /* z = normalise(x W): searching x against C W^T with scale 1/||x W|| gives the codes of
     * searching z against C */
    const int n = 200, t = 6, d = 20, K = 48, lda = 11;
    float *x = rand_floats((size_t)n * lda, 5, -1, 1), *W = rand_floats((size_t)t * d, 6, -1, 1);
    float *cb = rand_floats((size_t)K * d, 7, -0.3f, 0.3f);
    float *z = calloc((size_t)n * d, sizeof *z), *norms = malloc(n * sizeof *norms);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < d; c++)
            for (int k = 0; k < t; k++) z[r * d + c] += x[r * lda + k] * W[k * d + c];
    beat_l2norm_forward(NULL, z, n, d, norms);
    float *fold = calloc((size_t)K * t, sizeof *fold), *inv = malloc(n * sizeof *inv);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < t; j++)
            for (int c = 0; c < d; c++) fold[k * t + j] += cb[k * d + c] * W[j * d + c];
    for (int r = 0; r < n; r++) inv[r] = 1.0f / norms[r];
    float *cnorm = malloc(K * sizeof *cnorm);
    beat_vq_code_norms(cb, K, d, cnorm);
    float *scratch = malloc(beat_vq_search_scratch(K, 2) * sizeof(float));
    int32_t *direct = malloc(n * sizeof *direct), *folded = malloc(2 * n * sizeof *folded);
    beat_vq_search(NULL, z, n, d, cb, K, direct, NULL);
    bb_pool *pool = bb_pool_new(2);
    for (int r = 0; r < 2 * n; r++) folded[r] = -7;
    beat_vq_search_rows(pool, x, n, t, lda, fold, K, cnorm, inv, 1, folded, 2, scratch);
    bb_pool_free(pool);
    int differ = 0, untouched = 0;
    for (int r = 0; r < n; r++) {
        differ += folded[2 * r] != direct[r];
        untouched += folded[2 * r + 1] == -7; /* idx_stride 2 leaves the odd slots */
    }
    free(x), free(W), free(cb), free(z), free(norms), free(fold), free(inv), free(cnorm);
    free(scratch), free(direct), free(folded);
    TEST_EQ_INT(differ, 0);
    TEST_EQ_INT(untouched, n);
}

/* ------------------------------------------------------------------------------------------
 * VQ loss and straight-through */

static void test_vq_hand_worked(void) {
    /* z = (0.6, 0.8), C = {(1, 0), (0, 1)}: distances 0.8 and 0.4 -> code 1, q = (0, 1).
     * loss = mean((z-q)^2) + 0.5 mean((z-q)^2) = 1.5 * 0.4 / 2 = 0.3; st = q.
     * Backward with dst = (1, 2): dz = dst + (z - q) / 2 = (1.3, 1.9);
     * dC[1] = 2 (q - z) / 2 = (-0.6, 0.2); dC[0] = 0. */
    const float z[2] = {0.6f, 0.8f}, cb[4] = {1, 0, 0, 1};
    int32_t idx[1];
    beat_vq_search(NULL, z, 1, 2, cb, 2, idx, NULL);
    TEST_EQ_INT(idx[0], 1);
    float st[2], dz[2] = {1, 2}, dcb[4] = {0};
    double loss = beat_vq_forward(NULL, z, cb, idx, 1, 2, NULL, NULL, st);
    TEST_NEAR(loss, 0.3, 1e-6);
    TEST_NEAR(st[0], 0.0, 1e-7);
    TEST_NEAR(st[1], 1.0, 1e-7);
    beat_vq_backward(NULL, z, cb, idx, 1, 2, 2, NULL, NULL, 1.0f, dz, dcb, NULL, NULL);
    TEST_NEAR(dz[0], 1.3, 1e-6);
    TEST_NEAR(dz[1], 1.9, 1e-6);
    TEST_NEAR(dcb[0], 0.0, 0);
    TEST_NEAR(dcb[1], 0.0, 0);
    TEST_NEAR(dcb[2], -0.6, 1e-6);
    TEST_NEAR(dcb[3], 0.2, 1e-6);
}

/* L = VQ(z, C) + <R, st(z)> with z = normalise(x): codes and sg values frozen at the base
 * point, so the central differences see the stop-gradient semantics. */
typedef struct vq_case {
    int n, d, K;
    float *R, *z_sg, *q_sg;
    int32_t *idx;
    bb_pool *pool;
    int fused;
} vq_case;

static double vq_run(beat_manual_case *c, int want_grad) {
    vq_case *v = c->user;
    nn_tensor *x = c->params[0], *cb = c->params[1];
    const size_t cells = (size_t)v->n * v->d;
    float *z = malloc(cells * sizeof *z), *norms = malloc(v->n * sizeof *norms);
    float *st = malloc(cells * sizeof *st);
    memcpy(z, x->data, cells * sizeof *z);
    beat_l2norm_forward(v->pool, z, v->n, v->d, norms);
    if (!v->idx) { /* base point: record codes, sg(z), sg(q) */
        v->idx = malloc(v->n * sizeof *v->idx);
        beat_vq_search(v->pool, z, v->n, v->d, cb->data, v->K, v->idx, NULL);
        v->z_sg = malloc(cells * sizeof *z);
        v->q_sg = malloc(cells * sizeof *z);
        memcpy(v->z_sg, z, cells * sizeof *z);
        for (int r = 0; r < v->n; r++)
            memcpy(v->q_sg + r * v->d, cb->data + v->idx[r] * v->d, v->d * sizeof(float));
    }
    double L = beat_vq_forward(v->pool, z, cb->data, v->idx, v->n, v->d, v->z_sg, v->q_sg, st);
    for (size_t i = 0; i < cells; i++) L += (double)v->R[i] * st[i];
    if (want_grad) {
        float *dz = c->grads[0];
        memcpy(dz, v->R, cells * sizeof *dz); /* dL/dst */
        /* the normalisation backward fused (2-thread run) or separate (1 thread) */
        beat_vq_backward(v->pool, z, cb->data, v->idx, v->n, v->d, v->K, v->z_sg, v->q_sg, 1.0f,
                         dz, c->grads[1], NULL, v->fused ? norms : NULL);
        if (!v->fused) beat_l2norm_backward(v->pool, z, norms, dz, v->n, v->d);
    }
    free(z), free(norms), free(st);
    return L;
}

static void test_vq_straight_through_gradcheck(void) {
    for (int threads = 1; threads <= 2; threads++) {
        vq_case v = {9, 7, 5, NULL, NULL, NULL, NULL, bb_pool_new(threads), threads == 2};
        nn_tensor *x = nn_tensor_new2(v.n, v.d, 1), *cb = nn_tensor_new2(v.K, v.d, 1);
        float *xs = rand_floats((size_t)v.n * v.d, 8, -1, 1), *cs = rand_floats((size_t)v.K * v.d, 9, -0.6f, 0.6f);
        nn_tensor_copy_from(x, xs);
        nn_tensor_copy_from(cb, cs);
        v.R = rand_floats((size_t)v.n * v.d, 10, -1, 1);
        nn_tensor *params[2] = {x, cb};
        beat_manual_case c = {vq_run, params, 2, NULL, &v};
        char msg[256];
        int ok = beat_test_gradcheck(&c, 1e-2, 1e-2, 5e-3, 0, 64, msg, sizeof msg);
        int codes_used = 0;
        for (int r = 0; r < v.n; r++) codes_used |= 1 << v.idx[r];
        beat_manual_case_free(&c);
        nn_tensor_free(x), nn_tensor_free(cb), free(xs), free(cs), free(v.R), free(v.idx);
        free(v.z_sg), free(v.q_sg);
        bb_pool_free(v.pool);
        if (!ok) bb_test_fail(__FILE__, __LINE__, "vq gradcheck (%d threads): %s", threads, msg);
        if (!ok) return;
        TEST_TRUE(__builtin_popcount((unsigned)codes_used) >= 2);
    }
}

static void test_l2norm_zero_row_is_finite(void) {
    float x[6] = {0, 0, 0, 3, 4, 0}, norms[2];
    beat_l2norm_forward(NULL, x, 2, 3, norms);
    TEST_NEAR(x[0], 0.0, 0);
    TEST_NEAR(x[3], 0.6, 1e-7);
    TEST_NEAR(x[4], 0.8, 1e-7);
    float g[6] = {1, 1, 1, 1, 0, 0};
    beat_l2norm_backward(NULL, x, norms, g, 2, 3);
    TEST_TRUE(isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]));
    /* (g - z (z.g)) / |x| = ((1, 0) - (0.6, 0.8) 0.6) / 5 = (0.128, -0.096) */
    TEST_NEAR(g[3], 0.128, 1e-6);
    TEST_NEAR(g[4], -0.096, 1e-6);
}

/* ------------------------------------------------------------------------------------------
 * Orthogonality */

static void test_orth_hand_worked(void) {
    /* chunks (1, 0) and (1, 1): cosine 1/sqrt 2, squared 0.5 on both ordered pairs -> 0.5;
     * orthogonal chunks (0, 2) and (3, 0) -> 0 */
    const float a[4] = {1, 0, 1, 1}, b[4] = {0, 2, 3, 0};
    TEST_NEAR(beat_orth_forward(NULL, a, 4, 1, 2, 2), 0.5, 1e-6);
    TEST_NEAR(beat_orth_forward(NULL, b, 4, 1, 2, 2), 0.0, 1e-7);
    /* both rows together: the mean over entities */
    const float ab[8] = {1, 0, 1, 1, 0, 2, 3, 0};
    TEST_NEAR(beat_orth_forward(NULL, ab, 4, 2, 2, 2), 0.25, 1e-6);
    TEST_NEAR(beat_orth_forward(NULL, ab, 4, 2, 1, 4), 0.0, 0); /* T = 1: no pairs */
}

typedef struct orth_case {
    int n, T, t, ld;
    bb_pool *pool;
} orth_case;

static double orth_run(beat_manual_case *c, int want_grad) {
    orth_case *o = c->user;
    const float *x = c->params[0]->data;
    double L = beat_orth_forward(o->pool, x, o->ld, o->n, o->T, o->t);
    if (want_grad) beat_orth_backward(o->pool, x, o->ld, o->n, o->T, o->t, 1.0f, c->grads[0]);
    return L;
}

static void test_orth_gradcheck(void) {
    orth_case o = {6, 4, 5, 23, bb_pool_new(2)}; /* rows padded to 23 floats */
    nn_tensor *x = nn_tensor_new2(o.n, o.ld, 1);
    float *xs = rand_floats((size_t)o.n * o.ld, 11, -1, 1);
    nn_tensor_copy_from(x, xs);
    nn_tensor *params[1] = {x};
    beat_manual_case c = {orth_run, params, 1, NULL, &o};
    char msg[256];
    int ok = beat_test_gradcheck(&c, 1e-2, 1e-2, 5e-3, 0, 138, msg, sizeof msg);
    /* the padding columns get no gradient */
    float pad = 0;
    for (int r = 0; r < o.n; r++) pad += fabsf(c.grads[0][r * o.ld + 21]) + fabsf(c.grads[0][r * o.ld + 22]);
    beat_manual_case_free(&c);
    nn_tensor_free(x), free(xs);
    bb_pool_free(o.pool);
    if (!ok) bb_test_fail(__FILE__, __LINE__, "orth gradcheck: %s", msg);
    if (!ok) return;
    TEST_NEAR(pad, 0.0, 0);
}

/* ------------------------------------------------------------------------------------------
 * Behaviour vectors and reconstruction */

/* beat_vq_forward_rec = beat_vq_forward then beat_rec_build, bit for bit, with and without
 * the macro rows, frozen sg values or not, on 1 and 2 threads. */
static void test_vq_forward_rec_equals_two_passes(void) {
    const int n = 7, T = 3, d = 12, K = 5;
    float *z = rand_floats((size_t)n * T * d, 51, -1, 1), *cb = rand_floats((size_t)K * d, 52, -1, 1);
    float *add = rand_floats((size_t)n * d, 53, -1, 1), *zs = rand_floats((size_t)n * T * d, 54, -1, 1);
    float *qs = rand_floats((size_t)n * T * d, 55, -1, 1);
    int32_t idx[21];
    for (int r = 0; r < n * T; r++) idx[r] = (r * 3 + 1) % K;
    const size_t cells = (size_t)n * T * d;
    float *st1 = malloc(cells * sizeof(float)), *st2 = malloc(cells * sizeof(float));
    float *rec1 = malloc(cells * sizeof(float)), *rec2 = malloc(cells * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_new(threads);
        for (int variant = 0; variant < 4; variant++) {
            const float *a = variant & 1 ? add : NULL;
            const float *z_sg = variant & 2 ? zs : NULL, *q_sg = variant & 2 ? qs : NULL;
            double l1 = beat_vq_forward(pool, z, cb, idx, (int64_t)n * T, d, z_sg, q_sg, st1);
            beat_rec_build(pool, st1, a, n, T, d, rec1);
            double l2 = beat_vq_forward_rec(pool, z, cb, idx, n, T, d, z_sg, q_sg, st2, a, rec2);
            TEST_TRUE(l1 == l2);
            TEST_TRUE(memcmp(st1, st2, cells * sizeof(float)) == 0);
            TEST_TRUE(memcmp(rec1, rec2, cells * sizeof(float)) == 0);
        }
        bb_pool_free(pool);
    }
    free(z), free(cb), free(add), free(zs), free(qs), free(st1), free(st2), free(rec1), free(rec2);
}

static void test_rec_build_and_macro_gradient(void) {
    /* T = 2, d = 2: rec[e, k] = micro[e, k] + macro[e] */
    const float micro[4] = {1, 2, 3, 4}, macro[2] = {10, 20};
    float rec[4], dmac[2] = {99, 99};
    beat_rec_build(NULL, micro, macro, 1, 2, 2, rec);
    TEST_NEAR(rec[0], 11, 0);
    TEST_NEAR(rec[3], 24, 0);
    beat_rec_build(NULL, NULL, macro, 1, 2, 2, rec); /* no micro: macro repeated */
    TEST_NEAR(rec[2], 10, 0);
    TEST_NEAR(rec[3], 20, 0);
    beat_rec_build(NULL, micro, NULL, 1, 2, 2, rec); /* no macro */
    TEST_NEAR(rec[2], 3, 0);
    const float drec[4] = {1, 2, 3, 4};
    beat_rec_backward_macro(NULL, drec, 1, 2, 2, dmac); /* overwrites */
    TEST_NEAR(dmac[0], 4, 0);
    TEST_NEAR(dmac[1], 6, 0);
}

static void test_pair_index_order(void) {
    const int32_t ent[6] = {2, 0, 2, 1, 0, 2};
    int64_t off[4];
    int32_t pairs[6];
    beat_pair_index ix = {3, off, pairs};
    beat_pair_index_build(&ix, ent, 6);
    const int64_t want_off[4] = {0, 2, 3, 6};
    const int32_t want_pairs[6] = {1, 4, 3, 0, 2, 5};
    for (int k = 0; k < 4; k++) TEST_EQ_INT(off[k], want_off[k]);
    for (int k = 0; k < 6; k++) TEST_EQ_INT(pairs[k], want_pairs[k]);
}

static void test_recon_hand_worked(void) {
    /* W = 1: rec_u = (1), rec_i = (0, 1, 3); pairs (0,0) (0,1) (0,2) with labels (1, 0, 1):
     * s = (0, 1, 3), shat = (0, 1/3, 1), errors (-1, 1/3, 0): RMSE = sqrt(10/27) */
    const float ru[1] = {1}, ri[3] = {0, 1, 3}, label[3] = {1, 0, 1};
    const int32_t pu[3] = {0, 0, 0}, pi[3] = {0, 1, 2};
    float scores[3];
    beat_recon_state st = beat_recon_forward(NULL, ru, ri, 1, pu, pi, label, 3, scores, NULL);
    TEST_NEAR(st.loss, sqrt(10.0 / 27.0), 1e-7);
    TEST_EQ_INT(st.argmin, 0);
    TEST_EQ_INT(st.argmax, 2);
    /* dL/ds: a = e / (P L); ds_1 = a_1 / R (the only pair that is neither min nor max),
     * R = 3: a_1 = (1/3) / (3 sqrt(10/27)) */
    int64_t offu[2], offi[4];
    int32_t pairs_u[3], pairs_i[3];
    beat_pair_index bu = {1, offu, pairs_u}, bi = {3, offi, pairs_i};
    beat_pair_index_build(&bu, pu, 3);
    beat_pair_index_build(&bi, pi, 3);
    float g[3], dru[1], dri[3];
    beat_recon_backward(NULL, &st, ru, ri, 1, pu, pi, label, 3, scores, &bu, &bi, 1.0f, g, dru, dri,
                        1, NULL, NULL);
    const double L = sqrt(10.0 / 27.0), a1 = (1.0 / 3.0) / (3.0 * L);
    TEST_NEAR(g[1], a1 / 3.0, 1e-6);
    TEST_NEAR(dri[1], g[1] * 1.0, 1e-7); /* ds_1/dri_1 = ru = 1 */
}

typedef struct recon_case {
    int nu, ni, W, P;
    int32_t *pu, *pi;
    float *label;
    bb_pool *pool;
    int macro_mismatch; /* calls whose fused macro sums differ from beat_rec_backward_macro */
    int score_mismatch; /* calls whose user-by-user scores differ from the pair-order ones */
} recon_case;

static double recon_run(beat_manual_case *c, int want_grad) {
    recon_case *r = c->user;
    float *scores = malloc(r->P * sizeof *scores), *g = malloc(r->P * sizeof *g);
    const float *ru = c->params[0]->data, *ri = c->params[1]->data;
    int64_t *offu = malloc((r->nu + 1) * sizeof *offu), *offi = malloc((r->ni + 1) * sizeof *offi);
    int32_t *pau = malloc(r->P * sizeof *pau), *pai = malloc(r->P * sizeof *pai);
    beat_pair_index bu = {r->nu, offu, pau}, bi = {r->ni, offi, pai};
    beat_pair_index_build(&bu, r->pu, r->P);
    beat_pair_index_build(&bi, r->pi, r->P);
    beat_recon_state st = beat_recon_forward(r->pool, ru, ri, r->W, r->pu, r->pi, r->label, r->P, scores, NULL);
    /* user by user: the same scores, bit for bit */
    float *by_user = malloc(r->P * sizeof *by_user);
    beat_recon_forward(r->pool, ru, ri, r->W, r->pu, r->pi, r->label, r->P, by_user, &bu);
    r->score_mismatch += memcmp(scores, by_user, r->P * sizeof *by_user) != 0;
    free(by_user);
    if (want_grad) {
        /* rows of W = 3 tokens of 2: the fused macro sums equal beat_rec_backward_macro's */
        float *dmu = malloc((size_t)r->nu * 2 * sizeof *dmu), *dmi = malloc((size_t)r->ni * 2 * sizeof *dmi);
        float *wmu = malloc((size_t)r->nu * 2 * sizeof *wmu), *wmi = malloc((size_t)r->ni * 2 * sizeof *wmi);
        beat_recon_backward(r->pool, &st, ru, ri, r->W, r->pu, r->pi, r->label, r->P, scores, &bu,
                            &bi, 0.7f, g, c->grads[0], c->grads[1], 3, dmu, dmi);
        beat_rec_backward_macro(NULL, c->grads[0], r->nu, 3, 2, wmu);
        beat_rec_backward_macro(NULL, c->grads[1], r->ni, 3, 2, wmi);
        r->macro_mismatch += memcmp(dmu, wmu, (size_t)r->nu * 2 * sizeof *dmu) != 0;
        r->macro_mismatch += memcmp(dmi, wmi, (size_t)r->ni * 2 * sizeof *dmi) != 0;
        free(dmu), free(dmi), free(wmu), free(wmi);
    }
    free(offu), free(offi), free(pau), free(pai);
    free(scores), free(g);
    return 0.7 * st.loss;
}

static void test_recon_gradcheck(void) {
    recon_case r = {4, 5, 6, 12, NULL, NULL, NULL, bb_pool_new(2), 0, 0};
    r.pu = malloc(r.P * sizeof *r.pu), r.pi = malloc(r.P * sizeof *r.pi);
    r.label = malloc(r.P * sizeof *r.label);
    for (int p = 0; p < r.P; p++) r.pu[p] = p % r.nu, r.pi[p] = (p * 7 + 1) % r.ni, r.label[p] = p < 6;
    nn_tensor *ru = nn_tensor_new2(r.nu, r.W, 1), *ri = nn_tensor_new2(r.ni, r.W, 1);
    float *a = rand_floats((size_t)r.nu * r.W, 12, -1, 1), *b = rand_floats((size_t)r.ni * r.W, 13, -1, 1);
    nn_tensor_copy_from(ru, a);
    nn_tensor_copy_from(ri, b);
    nn_tensor *params[2] = {ru, ri};
    beat_manual_case c = {recon_run, params, 2, NULL, &r};
    char msg[256];
    /* min and max switch pairs at some perturbations: those elements are kinks */
    int ok = beat_test_gradcheck(&c, 1e-3, 1e-3, 1e-2, 1, 64, msg, sizeof msg);
    beat_manual_case_free(&c);
    nn_tensor_free(ru), nn_tensor_free(ri), free(a), free(b), free(r.pu), free(r.pi), free(r.label);
    bb_pool_free(r.pool);
    TEST_EQ_INT(r.macro_mismatch, 0);
    TEST_EQ_INT(r.score_mismatch, 0);
    if (!ok) bb_test_fail(__FILE__, __LINE__, "recon gradcheck: %s", msg);
}

/* ------------------------------------------------------------------------------------------
 * Statistics */

static void test_usage_dead_codes_hand_made(void) {
    const int32_t idx[6] = {0, 0, 2, 5, 5, 5};
    int64_t counts[8];
    beat_usage_count(idx, 6, 8, counts);
    const int64_t want[8] = {2, 0, 1, 0, 0, 3, 0, 0};
    for (int k = 0; k < 8; k++) TEST_EQ_INT(counts[k], want[k]);
    beat_usage_summary s = beat_usage_summarise(counts, 8);
    TEST_EQ_INT(s.total, 6);
    TEST_EQ_INT(s.used, 3);
    TEST_EQ_INT(s.dead, 5);
    /* p = (1/3, 1/6, 1/2): exp(H) = 2.7494592739972052 */
    TEST_NEAR(s.perplexity, 2.7494592739972052, 1e-12);
    const int64_t uniform[4] = {5, 5, 5, 5}, none[3] = {0, 0, 0};
    s = beat_usage_summarise(uniform, 4);
    TEST_NEAR(s.perplexity, 4.0, 1e-12);
    TEST_EQ_INT(s.dead, 0);
    s = beat_usage_summarise(none, 3);
    TEST_EQ_INT(s.dead, 3);
    TEST_NEAR(s.perplexity, 0.0, 0);
}

static void test_nmi_values(void) {
    const int32_t a[6] = {0, 0, 0, 1, 1, 1}, b[6] = {0, 0, 1, 1, 2, 2};
    const int32_t relabel[6] = {7, 7, 7, 3, 3, 3};
    /* scikit-learn normalized_mutual_info_score(a, b) (arithmetic) = 0.5158037429793888 */
    TEST_NEAR(beat_nmi(a, b, 6), 0.5158037429793888, 1e-12);
    TEST_NEAR(beat_nmi(b, a, 6), 0.5158037429793888, 1e-12);
    TEST_NEAR(beat_nmi(a, relabel, 6), 1.0, 1e-12);
    const int32_t x[4] = {0, 0, 1, 1}, y[4] = {0, 1, 0, 1}, c[4] = {4, 4, 4, 4};
    TEST_NEAR(beat_nmi(x, y, 4), 0.0, 1e-12);
    TEST_NEAR(beat_nmi(x, c, 4), 0.0, 0);
    TEST_NEAR(beat_nmi(c, c, 4), 1.0, 0);
}

/* ------------------------------------------------------------------------------------------
 * Chunked products */

/* beat_gemm_rows_chunks / beat_gemm_at_b_chunks = T beat_gemm_rows / beat_gemm_at_b calls
 * (and beat_l2norm_forward), bit for bit, on 1 and 2 threads, with several row blocks; and
 * chunk 1's product against a double-precision loop. */
static void test_gemm_chunks_equal_separate_calls(void) {
    const int n = 300, T = 3, t = 5, d = 7;
    const int D = T * t, W = T * d;
    float *x = rand_floats((size_t)n * D, 61, -1, 1), *w = rand_floats((size_t)T * t * d, 62, -1, 1);
    float *dz = rand_floats((size_t)n * W, 63, -1, 1), *dx0 = rand_floats((size_t)n * D, 64, -1, 1);
    const size_t zc = (size_t)n * W, xc = (size_t)n * D, gc = (size_t)T * t * d;
    float *z1 = malloc(zc * sizeof(float)), *z2 = malloc(zc * sizeof(float));
    float *n1 = malloc((size_t)n * T * sizeof(float)), *n2 = malloc((size_t)n * T * sizeof(float));
    float *dx1 = malloc(xc * sizeof(float)), *dx2 = malloc(xc * sizeof(float));
    float *g1 = rand_floats(gc, 65, -1, 1), *g2 = malloc(gc * sizeof(float));
    memcpy(g2, g1, gc * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_new(threads);
        for (int k = 0; k < T; k++)
            beat_gemm_rows(pool, 0, n, d, t, x + k * t, D, w + k * t * d, d, 0.0f, z1 + k * d, W);
        /* chunk 1, row 17 before normalisation, against a double loop */
        double ref = 0;
        for (int c = 0; c < t; c++) ref += (double)x[17 * D + t + c] * w[t * d + c * d + 3];
        TEST_NEAR(z1[17 * W + d + 3], ref, 1e-5);
        beat_l2norm_forward(pool, z1, (int64_t)n * T, d, n1);
        beat_gemm_rows_chunks(pool, 0, n, T, d, t, x, D, t, w, d, (int64_t)t * d, 0.0f, z2, W, d,
                              n2);
        TEST_TRUE(memcmp(z1, z2, zc * sizeof(float)) == 0);
        TEST_TRUE(memcmp(n1, n2, (size_t)n * T * sizeof(float)) == 0);
        memcpy(dx1, dx0, xc * sizeof(float)), memcpy(dx2, dx0, xc * sizeof(float));
        for (int k = 0; k < T; k++)
            beat_gemm_rows(pool, 1, n, t, d, dz + k * d, W, w + k * t * d, d, 1.0f, dx1 + k * t, D);
        beat_gemm_rows_chunks(pool, 1, n, T, t, d, dz, W, d, w, d, (int64_t)t * d, 1.0f, dx2, D, t,
                              NULL);
        TEST_TRUE(memcmp(dx1, dx2, xc * sizeof(float)) == 0);
        for (int k = 0; k < T; k++)
            beat_gemm_at_b(pool, t, d, n, x + k * t, D, dz + k * d, W, g1 + k * t * d, d);
        beat_gemm_at_b_chunks(pool, T, t, d, n, x, D, t, dz, W, d, g2, d, (int64_t)t * d);
        TEST_TRUE(memcmp(g1, g2, gc * sizeof(float)) == 0);
        bb_pool_free(pool);
    }
    free(x), free(w), free(dz), free(dx0), free(z1), free(z2), free(n1), free(n2), free(dx1);
    free(dx2), free(g1), free(g2);
}

const bb_test bb_suite_beat_kernels[] = {
    {"search_matches_brute_force", test_search_matches_brute_force},
    {"search_ties_go_to_lowest_index", test_search_ties_go_to_lowest_index},
    {"search_folded_matches_direct", test_search_folded_matches_direct},
    {"vq_hand_worked", test_vq_hand_worked},
    {"vq_straight_through_gradcheck", test_vq_straight_through_gradcheck},
    {"l2norm_zero_row_is_finite", test_l2norm_zero_row_is_finite},
    {"orth_hand_worked", test_orth_hand_worked},
    {"orth_gradcheck", test_orth_gradcheck},
    {"vq_forward_rec_equals_two_passes", test_vq_forward_rec_equals_two_passes},
    {"rec_build_and_macro_gradient", test_rec_build_and_macro_gradient},
    {"pair_index_order", test_pair_index_order},
    {"recon_hand_worked", test_recon_hand_worked},
    {"recon_gradcheck", test_recon_gradcheck},
    {"usage_dead_codes_hand_made", test_usage_dead_codes_hand_made},
    {"nmi_values", test_nmi_values},
    {"gemm_chunks_equal_separate_calls", test_gemm_chunks_equal_separate_calls},
    {NULL, NULL},
};
