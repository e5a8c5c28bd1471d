/* Tests for BEAT's semantic supervision on the nn tape (models/beat/beat_sup.h): InfoNCE by
 * hand and by nn_gradcheck, the masked phrase reconstruction by nn_gradcheck and against a
 * straightforward full-attention reference (the masked-query folding must not change the
 * loss or its gradients), the fused stage-1 pass against the tape (same loss and gradients,
 * bit-identical runs), and the mask picking. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/base/bb_pool.h"
#include "models/beat/beat_stage1_micro.h"
#include "models/beat/beat_sup.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/nn_testutil.h"

/* ------------------------------------------------------------------------------------------
 * InfoNCE */

static void test_infonce_hand_value(void) {
    /* a = normalise(mu + mi) = (e1, e2), s = (e1, e2): logits diag 1/tau = 5, off 0;
     * loss = -log(e^5 / (e^5 + 1)) = log(1 + e^-5) */
    nn_tape *tp = nn_tape_new();
    const float mu[4] = {2, 0, 0, 0}, mi[4] = {0, 0, 0, 3}, sent[4] = {1, 0, 0, 7};
    nn_tensor *a = nn_tape_from(tp, 2, (int64_t[]){2, 2}, mu);
    nn_tensor *b = nn_tape_from(tp, 2, (int64_t[]){2, 2}, mi);
    nn_tensor *s = nn_tape_from(tp, 2, (int64_t[]){2, 2}, sent);
    nn_tensor *l = beat_macro_infonce(tp, a, b, s, 0.2f);
    double got = l->data[0];
    nn_tape_free(tp);
    TEST_NEAR(got, log1p(exp(-5.0)), 1e-6);
}

typedef struct infonce_ctx {
    nn_tensor *sent;
} infonce_ctx;

static nn_tensor *infonce_loss(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)n;
    infonce_ctx *c = ctx;
    return beat_macro_infonce(tp, p[0], p[1], c->sent, 0.2f);
}

static void test_infonce_gradcheck(void) {
    nn_tensor *mu = nn_test_rand2(5, 6, 21), *mi = nn_test_rand2(5, 6, 22);
    infonce_ctx c = {nn_test_rand2(5, 6, 23)};
    c.sent->requires_grad = 0;
    nn_tensor *params[2] = {mu, mi};
    char msg[512];
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.abs_floor = 1e-2; /* a float32 loss of ~3: differences below 1e-5 are rounding */
    int ok = nn_test_gradcheck_opts(infonce_loss, &c, params, 2, &o, 5e-3, msg, sizeof msg);
    nn_tensor_free(mu), nn_tensor_free(mi), nn_tensor_free(c.sent);
    if (!ok) bb_test_fail(__FILE__, __LINE__, "infonce gradcheck: %s", msg);
}

/* ------------------------------------------------------------------------------------------
 * Micro: the module, a batch, and a full-attention reference */

typedef struct micro_fix {
    nn_params *ps;
    beat_micro_sup sup;
    int B, T, d, H, M;
    float *phrases;
    int32_t len[3], masked[6];
    nn_tensor *tokens;
    int reference; /* 0: beat_micro_sup_loss, 1: full attention */
} micro_fix;

static void micro_fix_init(micro_fix *f) {
    memset(f, 0, sizeof *f);
    f->B = 3, f->T = 4, f->d = 8, f->H = 2, f->M = 2;
    f->ps = nn_params_new();
    beat_micro_sup_declare(&f->sup, f->ps, "test.sup", f->d, f->T, f->H);
    nn_params_finalize(f->ps);
    bb_rng r;
    bb_rng_seed(&r, 31, "test/beat/sup");
    beat_micro_sup_init(&f->sup, &r);
    /* non-zero biases, so a misplaced bias shows */
    nn_init_uniform(f->sup.self_attn.bq, &r, -0.5f, 0.5f);
    nn_init_uniform(f->sup.self_attn.bv, &r, -0.5f, 0.5f);
    nn_init_uniform(f->sup.self_attn.bo, &r, -0.5f, 0.5f);
    nn_init_uniform(f->sup.cross_attn.bq, &r, -0.5f, 0.5f);
    nn_init_uniform(f->sup.cross_attn.bv, &r, -0.5f, 0.5f);
    nn_init_uniform(f->sup.cross_attn.bo, &r, -0.5f, 0.5f);
    const int32_t len[3] = {4, 2, 1};
    /* entity 0 masks positions 1 and 3; entity 1 position 0; entity 2 (one phrase) position 0,
     * its second slot unused */
    const int32_t masked[6] = {1, 3, 0, -1, 0, -1};
    memcpy(f->len, len, sizeof len);
    memcpy(f->masked, masked, sizeof masked);
    f->phrases = calloc((size_t)f->B * f->T * f->d, sizeof(float));
    for (int b = 0; b < f->B; b++)
        for (int j = 0; j < len[b]; j++)
            for (int c = 0; c < f->d; c++)
                f->phrases[((size_t)b * f->T + j) * f->d + c] = 2.0f * bb_rng_uniformf(&r) - 1.0f;
    f->tokens = nn_test_rand(3, (int64_t[]){f->B, f->T, f->d}, 32, -1, 1);
}

static void micro_fix_free(micro_fix *f) {
    nn_params_free(f->ps);
    nn_tensor_free(f->tokens);
    free(f->phrases);
}

static nn_tensor *lin(nn_tape *tp, nn_tensor *x, nn_tensor *w, nn_tensor *b) {
    nn_tensor *y = nn_matmul(tp, x, w, 0, 0);
    return b ? nn_add(tp, y, b) : y;
}

/* Standard multi-head attention over every position, read at the masked ones. */
static nn_tensor *reference_loss(nn_tape *tp, const micro_fix *f) {
    const int B = f->B, T = f->T, d = f->d, H = f->H, hs = d / H, M = f->M;
    const beat_micro_sup *s = &f->sup;
    nn_tensor *phr = nn_tape_from(tp, 2, (int64_t[]){(int64_t)B * T, d}, f->phrases);
    nn_tensor *parts[2] = {phr, s->mask_vec};
    nn_tensor *table = nn_concat(tp, parts, 2, 0);
    int32_t xidx[12], sel[6];
    float keymask[2 * 3 * 4 * 4], target[6 * 8];
    int n_sel = 0;
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < T; j++) xidx[b * T + j] = b * T + j;
        for (int m = 0; m < M; m++) {
            int p = f->masked[b * M + m];
            if (p < 0) continue;
            xidx[b * T + p] = B * T + p;
            sel[n_sel] = b * T + p;
            memcpy(target + n_sel * d, f->phrases + ((size_t)b * T + p) * d, d * sizeof(float));
            n_sel++;
        }
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++)
                    keymask[((b * H + h) * T + i) * T + j] = j < f->len[b] ? 0.0f : -1e9f;
    }
    nn_tensor *x = nn_gather_rows(tp, table, xidx, (int64_t)B * T);
    const beat_attn *sa = &s->self_attn;
    nn_tensor *heads[3];
    nn_tensor *w[3] = {sa->wq, sa->wk, sa->wv}, *bias[3] = {sa->bq, NULL, sa->bv};
    for (int k = 0; k < 3; k++) {
        nn_tensor *y = lin(tp, x, w[k], bias[k]);
        y = nn_transpose(tp, nn_reshape(tp, y, 4, (int64_t[]){B, T, H, hs}), 1, 2);
        heads[k] = nn_reshape(tp, y, 3, (int64_t[]){(int64_t)B * H, T, hs});
    }
    nn_tensor *sc = nn_scale(tp, nn_bmm(tp, heads[0], heads[1], 0, 1), 1.0f / sqrtf((float)hs));
    sc = nn_add(tp, sc, nn_tape_from(tp, 3, (int64_t[]){(int64_t)B * H, T, T}, keymask));
    nn_tensor *o = nn_bmm(tp, nn_softmax(tp, sc), heads[2], 0, 0);
    o = nn_transpose(tp, nn_reshape(tp, o, 4, (int64_t[]){B, H, T, hs}), 1, 2);
    nn_tensor *h = lin(tp, nn_reshape(tp, o, 2, (int64_t[]){(int64_t)B * T, d}), sa->wo, sa->bo);
    const beat_attn *ca = &s->cross_attn;
    nn_tensor *tok = nn_reshape(tp, f->tokens, 2, (int64_t[]){(int64_t)B * T, d});
    nn_tensor *q2 = nn_reshape(tp, lin(tp, h, ca->wq, ca->bq), 3, (int64_t[]){B, T, d});
    nn_tensor *k2 = nn_reshape(tp, lin(tp, tok, ca->wk, NULL), 3, (int64_t[]){B, T, d});
    nn_tensor *v2 = nn_reshape(tp, lin(tp, tok, ca->wv, ca->bv), 3, (int64_t[]){B, T, d});
    nn_tensor *s2 = nn_scale(tp, nn_bmm(tp, q2, k2, 0, 1), 1.0f / sqrtf((float)d));
    nn_tensor *o2 = nn_reshape(tp, nn_bmm(tp, nn_softmax(tp, s2), v2, 0, 0), 2,
                               (int64_t[]){(int64_t)B * T, d});
    nn_tensor *out = lin(tp, o2, ca->wo, ca->bo);
    nn_tensor *pred = nn_gather_rows(tp, out, sel, n_sel);
    return nn_mse(tp, pred, nn_tape_from(tp, 2, (int64_t[]){n_sel, d}, target));
}

static nn_tensor *micro_loss(nn_tape *tp, nn_tensor **p, int n, void *ctx) {
    (void)p, (void)n;
    micro_fix *f = ctx;
    if (f->reference) return reference_loss(tp, f);
    beat_micro_batch mb = {f->B, f->M, f->phrases, f->len, f->masked};
    return beat_micro_sup_loss(tp, &f->sup, &mb, f->tokens);
}

static void test_micro_gradcheck(void) {
    micro_fix f;
    micro_fix_init(&f);
    /* every parameter of the module, and the tokens */
    nn_tensor *params[20];
    int n = 0;
    params[n++] = f.tokens;
    for (int k = 0; k < f.ps->n; k++) params[n++] = f.ps->items[k];
    char msg[512];
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.abs_floor = 1e-2;
    int ok = nn_test_gradcheck_opts(micro_loss, &f, params, n, &o, 5e-3, msg, sizeof msg);
    micro_fix_free(&f);
    if (!ok) bb_test_fail(__FILE__, __LINE__, "micro supervision gradcheck: %s", msg);
}

static void test_micro_equals_full_attention(void) {
    micro_fix f;
    micro_fix_init(&f);
    nn_tape *tp = nn_tape_new();
    double value[2];
    float *grads[2][2];
    for (int which = 0; which < 2; which++) {
        f.reference = which;
        nn_tape_reset(tp);
        nn_params_zero_grad(f.ps);
        nn_tensor_zero_grad(f.tokens);
        nn_tensor *l = micro_loss(tp, NULL, 0, &f);
        value[which] = l->data[0];
        nn_tape_backward(tp, l);
        grads[which][0] = malloc((size_t)f.tokens->numel * sizeof(float));
        memcpy(grads[which][0], f.tokens->grad, (size_t)f.tokens->numel * sizeof(float));
        grads[which][1] = malloc((size_t)f.ps->total * sizeof(float));
        memcpy(grads[which][1], f.ps->grad, (size_t)f.ps->total * sizeof(float));
    }
    double worst_tok = 0, worst_par = 0, norm = 0;
    for (int64_t i = 0; i < f.tokens->numel; i++)
        worst_tok = fmax(worst_tok, fabs(grads[0][0][i] - grads[1][0][i]));
    for (int64_t i = 0; i < f.ps->total; i++) {
        worst_par = fmax(worst_par, fabs(grads[0][1][i] - grads[1][1][i]));
        norm = fmax(norm, fabs(grads[1][1][i]));
    }
    nn_tape_free(tp);
    micro_fix_free(&f);
    for (int w = 0; w < 2; w++) free(grads[w][0]), free(grads[w][1]);
    TEST_TRUE(value[0] > 1e-3); /* a loss that can tell them apart */
    TEST_NEAR(value[0], value[1], 1e-6 * fmax(1.0, fabs(value[1])));
    TEST_NEAR(worst_tok, 0.0, 1e-5);
    TEST_NEAR(worst_par, 0.0, 1e-5 * fmax(1.0, norm));
}

/* The fused pass (beat_stage1_micro.h) against the tape version: loss, token and parameter
 * gradients (times the weight), with 1 and 2 threads; a second run is bit-identical. The
 * token rows are handed in shuffled, as a batch's rows are. */
static void test_micro_fused_equals_tape(void) {
    micro_fix f;
    micro_fix_init(&f);
    const int B = f.B, T = f.T, d = f.d;
    const float weight = 1.7f;
    nn_tape *tp = nn_tape_new();
    nn_params_zero_grad(f.ps);
    nn_tensor_zero_grad(f.tokens);
    nn_tensor *l = micro_loss(tp, NULL, 0, &f);
    const double want = l->data[0];
    nn_tape_backward(tp, l);
    float *want_tok = malloc((size_t)f.tokens->numel * sizeof(float));
    float *want_par = malloc((size_t)f.ps->total * sizeof(float));
    memcpy(want_tok, f.tokens->grad, (size_t)f.tokens->numel * sizeof(float));
    memcpy(want_par, f.ps->grad, (size_t)f.ps->total * sizeof(float));
    nn_tape_free(tp);
    /* entity b's tokens at table row token_row[b], phrases at phrase_row[b] */
    const int32_t token_row[3] = {2, 0, 1}, phrase_row[3] = {0, 1, 2};
    float *table = calloc((size_t)B * T * d, sizeof(float));
    float *dtable = calloc((size_t)B * T * d, sizeof(float));
    float *first_par = malloc((size_t)f.ps->total * sizeof(float));
    float *first_tok = malloc((size_t)B * T * d * sizeof(float));
    for (int b = 0; b < B; b++)
        memcpy(table + (size_t)token_row[b] * T * d, f.tokens->data + (size_t)b * T * d,
               (size_t)T * d * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_new(threads);
        beat_micro_ws ws = {0};
        for (int run = 0; run < 2; run++) {
            nn_params_zero_grad(f.ps);
            memset(dtable, 0, (size_t)B * T * d * sizeof(float));
            beat_micro_rows mr = {B, f.M, f.len, f.masked, f.phrases, phrase_row,
                                  table, dtable, token_row};
            double got = beat_micro_sup_fused(pool, &f.sup, &mr, weight, &ws);
            TEST_NEAR(got, want, 1e-6 * fmax(1.0, fabs(want)));
            double worst_tok = 0, worst_par = 0, norm = 0;
            for (int b = 0; b < B; b++)
                for (int c = 0; c < T * d; c++) {
                    float g = dtable[(size_t)token_row[b] * T * d + c];
                    worst_tok = fmax(worst_tok, fabs(g - weight * want_tok[(size_t)b * T * d + c]));
                }
            for (int64_t i = 0; i < f.ps->total; i++) {
                worst_par = fmax(worst_par, fabs(f.ps->grad[i] - weight * want_par[i]));
                norm = fmax(norm, fabs(weight * want_par[i]));
            }
            TEST_NEAR(worst_tok, 0.0, 1e-5);
            TEST_NEAR(worst_par, 0.0, 1e-5 * fmax(1.0, norm));
            if (run == 0) {
                memcpy(first_par, f.ps->grad, (size_t)f.ps->total * sizeof(float));
                memcpy(first_tok, dtable, (size_t)B * T * d * sizeof(float));
            } else {
                TEST_TRUE(memcmp(first_par, f.ps->grad, (size_t)f.ps->total * sizeof(float)) == 0);
                TEST_TRUE(memcmp(first_tok, dtable, (size_t)B * T * d * sizeof(float)) == 0);
            }
        }
        beat_micro_ws_free(&ws);
        bb_pool_free(pool);
    }
    TEST_TRUE(want > 1e-3);
    free(table), free(dtable), free(first_par), free(first_tok), free(want_tok), free(want_par);
    micro_fix_free(&f);
}

/* ------------------------------------------------------------------------------------------
 * Masks */

static void test_mask_count(void) {
    TEST_EQ_INT(beat_micro_mask_count(5, 0.2), 1);
    TEST_EQ_INT(beat_micro_mask_count(10, 0.2), 2);
    TEST_EQ_INT(beat_micro_mask_count(12, 0.2), 2);  /* floor(2.4) */
    TEST_EQ_INT(beat_micro_mask_count(3, 0.2), 1);   /* floor(0.6) = 0 -> at least one */
    TEST_EQ_INT(beat_micro_mask_count(4, 1.0), 4);
}

static void test_mask_picking(void) {
    const int B = 4, M = 2;
    const int32_t len[4] = {5, 1, 2, 4};
    int32_t masked[8], again[8];
    int hits[4][5] = {{0}};
    bb_rng r, r2;
    bb_rng_seed(&r, 5, "beat/micro-mask");
    for (int round = 0; round < 400; round++) {
        beat_micro_pick_masks(&r, B, M, len, masked);
        for (int b = 0; b < B; b++) {
            int want = M < len[b] ? M : len[b];
            for (int k = 0; k < M; k++) {
                int32_t p = masked[b * M + k];
                if (k >= want) {
                    TEST_EQ_INT(p, -1);
                    continue;
                }
                TEST_TRUE(p >= 0 && p < len[b]);
                if (k > 0) TEST_TRUE(masked[b * M + k - 1] < p); /* distinct, ascending */
                hits[b][p]++;
            }
        }
    }
    /* every position of entity 0 gets masked, roughly 400 * 2 / 5 = 160 times each */
    for (int p = 0; p < 5; p++) TEST_TRUE(hits[0][p] > 100 && hits[0][p] < 220);
    TEST_EQ_INT(hits[1][0], 400);
    /* same stream, same picks */
    bb_rng_seed(&r, 9, "beat/micro-mask");
    bb_rng_seed(&r2, 9, "beat/micro-mask");
    beat_micro_pick_masks(&r, B, M, len, masked);
    beat_micro_pick_masks(&r2, B, M, len, again);
    TEST_TRUE(memcmp(masked, again, sizeof masked) == 0);
}

const bb_test bb_suite_beat_sup[] = {
    {"infonce_hand_value", test_infonce_hand_value},
    {"infonce_gradcheck", test_infonce_gradcheck},
    {"micro_gradcheck", test_micro_gradcheck},
    {"micro_equals_full_attention", test_micro_equals_full_attention},
    {"micro_fused_equals_tape", test_micro_fused_equals_tape},
    {"mask_count", test_mask_count},
    {"mask_picking", test_mask_picking},
    {NULL, NULL},
};
