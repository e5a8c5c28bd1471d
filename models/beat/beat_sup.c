/* beat_sup — macro InfoNCE and micro masked phrase reconstruction on the nn tape
 * (DESIGN §4.4-4.5). Definitions and the masked-query folding in beat_sup.h. */
#include "models/beat/beat_sup.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"

/* ------------------------------------------------------------------------------------------
 * Macro: InfoNCE with in-batch negatives */

nn_tensor *beat_macro_infonce(nn_tape *tp, nn_tensor *mu, nn_tensor *mi, nn_tensor *sent,
                              float tau) {
    BB_ASSERT(mu->ndim == 2 && nn_tensor_same_shape(mu, mi) && nn_tensor_same_shape(mu, sent),
              "beat_macro_infonce: mu, mi and sent must share one (n, d) shape");
    BB_ASSERT(tau > 0, "beat_macro_infonce: temperature must be positive, got %g", (double)tau);
    const int64_t n = mu->shape[0];
    nn_tensor *a = nn_l2_normalize(tp, nn_add(tp, mu, mi));
    nn_tensor *s = nn_l2_normalize(tp, sent);
    nn_tensor *logits = nn_scale(tp, nn_matmul(tp, a, s, 0, 1), 1.0f / tau);
    int32_t *targets = nn_tape_scratch(tp, (size_t)n * sizeof *targets);
    for (int64_t p = 0; p < n; p++) targets[p] = (int32_t)p;
    return nn_cross_entropy(tp, logits, targets);
}

/* ------------------------------------------------------------------------------------------
 * Micro: parameters */

static nn_tensor *add_param(nn_params *ps, const char *prefix, const char *name, int ndim,
                            int64_t a, int64_t b) {
    char full[160];
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    int64_t shape[2] = {a, b};
    return nn_params_add(ps, full, ndim, shape);
}

static void declare_attn(beat_attn *at, nn_params *ps, const char *prefix, const char *which,
                         int d) {
    char p[128];
    snprintf(p, sizeof p, "%s.%s", prefix, which);
    at->wq = add_param(ps, p, "wq", 2, d, d);
    at->bq = add_param(ps, p, "bq", 1, d, 1);
    at->wk = add_param(ps, p, "wk", 2, d, d);
    at->wv = add_param(ps, p, "wv", 2, d, d);
    at->bv = add_param(ps, p, "bv", 1, d, 1);
    at->wo = add_param(ps, p, "wo", 2, d, d);
    at->bo = add_param(ps, p, "bo", 1, d, 1);
}

void beat_micro_sup_declare(beat_micro_sup *s, nn_params *ps, const char *prefix, int d, int T,
                            int heads) {
    BB_ASSERT(d >= 1 && T >= 1 && heads >= 1 && d % heads == 0,
              "beat_micro_sup: heads %d must divide the width %d (T %d)", heads, d, T);
    memset(s, 0, sizeof *s);
    s->d = d, s->T = T, s->heads = heads;
    s->mask_vec = add_param(ps, prefix, "mask", 2, T, d);
    declare_attn(&s->self_attn, ps, prefix, "self", d);
    declare_attn(&s->cross_attn, ps, prefix, "cross", d);
}

static void init_attn(beat_attn *at, bb_rng *r) {
    nn_init_xavier_uniform(at->wq, r);
    nn_init_xavier_uniform(at->wk, r);
    nn_init_xavier_uniform(at->wv, r);
    nn_init_xavier_uniform(at->wo, r);
    nn_init_constant(at->bq, 0.0f);
    nn_init_constant(at->bv, 0.0f);
    nn_init_constant(at->bo, 0.0f);
}

void beat_micro_sup_init(beat_micro_sup *s, bb_rng *r) {
    nn_init_xavier_uniform(s->mask_vec, r);
    init_attn(&s->self_attn, r);
    init_attn(&s->cross_attn, r);
}

int beat_micro_mask_count(int T, double mask_ratio) {
    int m = (int)floor(mask_ratio * (double)T);
    if (m < 1) m = 1; /* floor(0.2 T) is 0 below T = 5: keep one masked phrase */
    return m > T ? T : m;
}

void beat_micro_pick_masks(bb_rng *rng, int B, int M, const int32_t *len, int32_t *masked) {
    for (int b = 0; b < B; b++) {
        int32_t pos[64];
        int L = len[b];
        BB_ASSERT(L >= 1 && L <= 64, "beat_micro_pick_masks: length %d outside [1, 64]", L);
        for (int j = 0; j < L; j++) pos[j] = j;
        int m = M < L ? M : L;
        for (int k = 0; k < m; k++) { /* partial Fisher-Yates */
            int j = k + (int)bb_rng_below(rng, (uint64_t)(L - k));
            int32_t t = pos[k];
            pos[k] = pos[j];
            pos[j] = t;
        }
        for (int k = 1; k < m; k++) /* ascending, for readable logs */
            for (int q = k; q > 0 && pos[q - 1] > pos[q]; q--) {
                int32_t t = pos[q];
                pos[q] = pos[q - 1];
                pos[q - 1] = t;
            }
        for (int k = 0; k < M; k++) masked[(size_t)b * M + k] = k < m ? pos[k] : -1;
    }
}

/* ------------------------------------------------------------------------------------------
 * Micro: forward */

/* (d, d) weight seen as H heads of hs columns -> (H, d, hs). */
static nn_tensor *heads_of(nn_tape *tp, nn_tensor *w, int d, int H) {
    int64_t s3[3] = {d, H, d / H};
    return nn_transpose(tp, nn_reshape(tp, w, 3, s3), 0, 1);
}

static nn_tensor *linear(nn_tape *tp, nn_tensor *x, nn_tensor *w, nn_tensor *b) {
    nn_tensor *y = nn_matmul(tp, x, w, 0, 0);
    return b ? nn_add(tp, y, b) : y;
}

nn_tensor *beat_micro_sup_loss(nn_tape *tp, const beat_micro_sup *s, const beat_micro_batch *mb,
                               nn_tensor *tokens) {
    const int B = mb->B, M = mb->M, T = s->T, d = s->d, H = s->heads, hs = d / H;
    BB_ASSERT(B >= 1 && M >= 1, "beat_micro_sup_loss: empty batch (B %d, M %d)", B, M);
    BB_ASSERT(tokens->numel == (int64_t)B * T * d, "beat_micro_sup_loss: tokens must be (%d, %d, %d)",
              B, T, d);
    const int64_t BT = (int64_t)B * T, BM = (int64_t)B * M;

    /* input sequence: phrases with the masked positions replaced by the mask vectors */
    nn_tensor *phr = nn_tape_from(tp, 2, (int64_t[]){BT, d}, mb->phrases);
    nn_tensor *parts[2] = {phr, s->mask_vec};
    nn_tensor *table = nn_concat(tp, parts, 2, 0);
    int32_t *xidx = nn_tape_scratch(tp, (size_t)BT * sizeof *xidx);
    int32_t *qidx = nn_tape_scratch(tp, (size_t)BM * sizeof *qidx);
    int32_t *valid = nn_tape_scratch(tp, (size_t)BM * sizeof *valid);
    float *target = nn_tape_scratch(tp, (size_t)BM * d * sizeof *target);
    float *keymask = nn_tape_scratch(tp, (size_t)BM * H * T * sizeof *keymask);
    int64_t n_valid = 0;
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < T; j++) xidx[(int64_t)b * T + j] = (int32_t)((int64_t)b * T + j);
        for (int m = 0; m < M; m++) {
            int32_t p = mb->masked[(size_t)b * M + m];
            BB_ASSERT(p < mb->len[b], "beat_micro_sup_loss: masked position %d beyond length %d",
                      p, mb->len[b]);
            qidx[(int64_t)b * M + m] = p >= 0 ? p : 0; /* unused slot: computed, not scored */
            if (p < 0) continue;
            xidx[(int64_t)b * T + p] = (int32_t)(BT + p);
            valid[n_valid] = (int32_t)((int64_t)b * M + m);
            memcpy(target + n_valid * d, mb->phrases + ((int64_t)b * T + p) * d,
                   (size_t)d * sizeof(float));
            n_valid++;
        }
        for (int r = 0; r < M * H; r++) /* keys: the entity's len real positions */
            for (int j = 0; j < T; j++)
                keymask[((int64_t)b * M * H + r) * T + j] = j < mb->len[b] ? 0.0f : -1e9f;
    }
    BB_ASSERT(n_valid > 0, "beat_micro_sup_loss: no masked position to score");
    nn_tensor *x = nn_reshape(tp, nn_gather_rows(tp, table, xidx, BT), 3, (int64_t[]){B, T, d});

    /* Self-attention, queries at the masked slots only. A slot's query input is the mask
     * vector of its position, so there are T distinct queries: q W_k^T is computed per
     * position and gathered per slot. score_j = (q_h W_k,h^T) . x_j / sqrt(hs). */
    const beat_attn *sa = &s->self_attn, *ca = &s->cross_attn;
    nn_tensor *q = linear(tp, s->mask_vec, sa->wq, sa->bq);                  /* (T, d) */
    q = nn_transpose(tp, nn_reshape(tp, q, 3, (int64_t[]){T, H, hs}), 0, 1); /* (H, T, hs) */
    nn_tensor *qk = nn_bmm(tp, q, heads_of(tp, sa->wk, d, H), 0, 1);         /* (H, T, d) */
    qk = nn_reshape(tp, nn_transpose(tp, qk, 0, 1), 2, (int64_t[]){T, (int64_t)H * d});
    qk = nn_reshape(tp, nn_gather_rows(tp, qk, qidx, BM), 3, (int64_t[]){B, (int64_t)M * H, d});
    nn_tensor *sc = nn_scale(tp, nn_bmm(tp, qk, x, 0, 1), 1.0f / sqrtf((float)hs));
    sc = nn_add(tp, sc, nn_tape_from(tp, 3, (int64_t[]){B, (int64_t)M * H, T}, keymask));
    nn_tensor *ctx = nn_bmm(tp, nn_softmax(tp, sc), x, 0, 0); /* (B, MH, d) */
    ctx = nn_transpose(tp, nn_reshape(tp, ctx, 3, (int64_t[]){BM, H, d}), 0, 1); /* (H, BM, d) */
    nn_tensor *v = nn_bmm(tp, ctx, heads_of(tp, sa->wv, d, H), 0, 0);             /* (H, BM, hs) */
    v = nn_reshape(tp, nn_transpose(tp, v, 0, 1), 2, (int64_t[]){BM, d});

    /* The self-attention output h = (v + b_v) W_o + b_o feeds only the cross-attention query
     * q2 = h W_q2 + b_q2, which feeds only q2 W_k2^T. The three maps fold into one:
     *     q2 W_k2^T = v G + (b_v G + (b_o W_q2 + b_q2) W_k2^T),  G = W_o W_q2 W_k2^T,
     * so one (BM, d) x (d, d) product replaces three; the d^3 products of the weights are
     * on the tape, so every weight still gets its gradient. */
    nn_tensor *wq2k = nn_matmul(tp, ca->wq, ca->wk, 0, 1);       /* W_q2 W_k2^T */
    nn_tensor *G = nn_matmul(tp, sa->wo, wq2k, 0, 0);            /* W_o W_q2 W_k2^T */
    nn_tensor *row_bv = nn_reshape(tp, sa->bv, 2, (int64_t[]){1, d});
    nn_tensor *row_bo = nn_reshape(tp, sa->bo, 2, (int64_t[]){1, d});
    nn_tensor *row_bq2 = nn_reshape(tp, ca->bq, 2, (int64_t[]){1, d});
    nn_tensor *c2 = nn_add(tp, nn_matmul(tp, row_bv, G, 0, 0),
                           nn_add(tp, nn_matmul(tp, row_bo, wq2k, 0, 0),
                                  nn_matmul(tp, row_bq2, ca->wk, 0, 1)));
    nn_tensor *q2 = nn_add(tp, nn_matmul(tp, v, G, 0, 0), nn_reshape(tp, c2, 1, (int64_t[]){d}));
    q2 = nn_reshape(tp, q2, 3, (int64_t[]){B, M, d});

    /* cross-attention (one head) from the masked slots to the T micro tokens; its value and
     * output maps fold too: out = ctx2 (W_v2 W_o2) + (b_v2 W_o2 + b_o2) */
    nn_tensor *tok = nn_reshape(tp, tokens, 3, (int64_t[]){B, T, d});
    nn_tensor *sc2 = nn_scale(tp, nn_bmm(tp, q2, tok, 0, 1), 1.0f / sqrtf((float)d));
    nn_tensor *ctx2 = nn_bmm(tp, nn_softmax(tp, sc2), tok, 0, 0); /* (B, M, d) */
    ctx2 = nn_reshape(tp, ctx2, 2, (int64_t[]){BM, d});
    nn_tensor *F = nn_matmul(tp, ca->wv, ca->wo, 0, 0);
    nn_tensor *f = nn_add(tp, nn_matmul(tp, nn_reshape(tp, ca->bv, 2, (int64_t[]){1, d}), ca->wo, 0, 0),
                          nn_reshape(tp, ca->bo, 2, (int64_t[]){1, d}));
    nn_tensor *out = nn_add(tp, nn_matmul(tp, ctx2, F, 0, 0), nn_reshape(tp, f, 1, (int64_t[]){d}));

    nn_tensor *pred = nn_gather_rows(tp, out, valid, n_valid);
    nn_tensor *tgt = nn_tape_from(tp, 2, (int64_t[]){n_valid, d}, target);
    return nn_mse(tp, pred, tgt);
}
