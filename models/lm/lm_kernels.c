/* lm_kernels — forward/backward pairs of the decoder's ops (see lm_kernels.h).
 *
 * Formulas: layernorm (Ba et al. 2016), scaled dot-product attention with a causal mask
 * (Vaswani et al. 2017, eq. 1), GELU tanh approximation (Hendrycks & Gimpel 2016, §2;
 * GPT-2's choice), softmax cross-entropy. Written after llm.c's CPU kernels (Karpathy),
 * but every matmul, including the per-head attention products, is a cblas_sgemm.
 */
#include "models/lm/lm_kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"

/* The hot element-wise loops need GCC's dynamic vector cost model (-O2 only vectorises
 * loops without an epilogue); it does not relax floating-point semantics. */
#if defined(__GNUC__) && !defined(__clang__)
#define LM_VECTORIZE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define LM_VECTORIZE
#endif

/* ===================================== exp ========================================== */

static inline float expf_inline(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) with the 1.5 * 2^23 trick (exact in round-to-nearest). */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* r = x - n ln2, ln 2 split in a high part exact in float and a low correction. */
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    /* Taylor polynomial of exp on |r| <= ln2/2, degree 7: error < 1e-7 relative. */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666671633720398f +
                                                  r * (0.0416666679084300995f +
                                                       r * (0.00833333376795053482f +
                                                            r * (0.00138888892252022028f +
                                                                 r * 0.000198412701138295233f))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

float lm_expf(float x) { return expf_inline(x); }

LM_VECTORIZE void lm_exp_array(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = expf_inline(x[i]);
}

/* =================================== embedding ====================================== */

// ids (B,T), wte (V,C), wpe (maxT,C) -> out (B,T,C)
void lm_embed_forward(float *out, const int32_t *ids, const int32_t *inject_row,
                      const float *inject_vec, const float *wte, const float *wpe, int B, int T,
                      int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)b * T + t;
            float *o = out + row * C;
            int32_t k = inject_row ? inject_row[row] : -1;
            const float *src = k >= 0 ? inject_vec + (size_t)k * C : wte + (size_t)ids[row] * C;
            const float *pos = wpe + (size_t)t * C;
            for (int c = 0; c < C; c++) o[c] = src[c] + pos[c];
        }
    }
}

// dout (B,T,C) -> dwte (V,C) +=, dwpe (maxT,C) +=, dinject (n_inject,C) +=
void lm_embed_backward(float *dwte, float *dwpe, float *dinject, const float *dout,
                       const int32_t *ids, const int32_t *inject_row, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)b * T + t;
            const float *d = dout + row * C;
            int32_t k = inject_row ? inject_row[row] : -1;
            float *dst = k >= 0 ? (dinject ? dinject + (size_t)k * C : NULL)
                                : (dwte ? dwte + (size_t)ids[row] * C : NULL);
            if (dst)
                for (int c = 0; c < C; c++) dst[c] += d[c];
            if (dwpe) {
                float *dp = dwpe + (size_t)t * C;
                for (int c = 0; c < C; c++) dp[c] += d[c];
            }
        }
    }
}

/* =================================== layernorm ====================================== */

#define LN_EPS 1e-5f

// inp (N,C), w (C), b (C) -> out (N,C), mean (N), rstd (N)
LM_VECTORIZE void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C) {
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float m = 0.0f, v = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= (float)C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= (float)C;
        float s = 1.0f / sqrtf(v + LN_EPS);
        float *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
        mean[i] = m;
        rstd[i] = s;
    }
}

// dout (N,C) -> dinp (N,C) +=, dw (C) +=, db (C) += (dw/db NULL when frozen)
// dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * w
LM_VECTORIZE void lm_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                                        const float *inp, const float *w, const float *mean,
                                        const float *rstd, int N, int C) {
    for (int i = 0; i < N; i++) {
        const float *d = dout + (size_t)i * C, *x = inp + (size_t)i * C;
        float m = mean[i], s = rstd[i];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s, dnorm = w[c] * d[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= (float)C;
        dnorm_norm_mean /= (float)C;
        float *dx = dinp + (size_t)i * C;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s, dnorm = w[c] * d[c];
            dx[c] += s * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
        }
        if (dw)
            for (int c = 0; c < C; c++) dw[c] += (x[c] - m) * s * d[c];
        if (db)
            for (int c = 0; c < C; c++) db[c] += d[c];
    }
}

/* ===================================== linear ======================================= */

// inp (N,C), w (OC,C), bias (OC) -> out (N,OC) = inp w^T + bias
void lm_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int C, int OC) {
    if (bias)
        for (int i = 0; i < N; i++) memcpy(out + (size_t)i * OC, bias, (size_t)OC * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C,
                bias ? 1.0f : 0.0f, out, OC);
}

// dout (N,OC) -> dinp (N,C) += dout w; dw (OC,C) += dout^T inp; dbias (OC) += sum_rows dout
LM_VECTORIZE void lm_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout,
                                     const float *inp, const float *w, int N, int C, int OC) {
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f,
                    dinp, C);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                    dw, C);
    if (dbias)
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * OC;
            for (int o = 0; o < OC; o++) dbias[o] += d[o];
        }
}

/* ==================================== attention ===================================== */

/* Softmax of row t over columns [0, t] (causal); columns beyond are set to zero. */
LM_VECTORIZE static void causal_softmax_row(float *p, int valid, int T) {
    float mx = p[0];
    for (int j = 1; j < valid; j++) mx = p[j] > mx ? p[j] : mx;
    for (int j = 0; j < valid; j++) p[j] = expf_inline(p[j] - mx);
    float sum = 0.0f;
    for (int j = 0; j < valid; j++) sum += p[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < valid; j++) p[j] *= inv;
    for (int j = valid; j < T; j++) p[j] = 0.0f;
}

void lm_causal_softmax_rows(float *p, int rows, int cols, int ld, int offset) {
    for (int i = 0; i < rows; i++) {
        int valid = offset + i + 1 < cols ? offset + i + 1 : cols;
        causal_softmax_row(p + (size_t)i * ld, valid, cols);
    }
}

/* Causal blocking: queries go in blocks of ATT_BLOCK rows and block [r0, r1) only meets
 * keys [0, r1), so the products skip most of the masked upper triangle (5/8 of the full
 * work at T = 4 blocks) while each sgemm stays large enough to run at full speed. */
#define ATT_BLOCK 64

// qkv (B,T,3C) -> out (B,T,C), att (B,NH,T,T) = softmax(q k^T / sqrt(hs) + causal mask)
void lm_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const float *k = q + C, *v = q + 2 * C;
            float *p = att + ((size_t)b * NH + h) * T * T;
            float *y = out + (size_t)b * T * C + (size_t)h * hs;
            for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
                int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, m = r1 - r0;
                float *pb = p + (size_t)r0 * T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r1, hs, scale,
                            q + (size_t)r0 * C3, C3, k, C3, 0.0f, pb, T);
                for (int t = r0; t < r1; t++) causal_softmax_row(p + (size_t)t * T, t + 1, T);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs, r1, 1.0f, pb, T, v,
                            C3, 0.0f, y + (size_t)r0 * C, C);
            }
        }
    }
}

// dout (B,T,C) -> dqkv (B,T,3C) +=; softmax backward dS = P * (dP - rowsum(P * dP))
LM_VECTORIZE void lm_attention_backward(float *dqkv, float *scratch, const float *dout,
                                        const float *qkv, const float *att, int B, int T, int C,
                                        int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * T * C3 + (size_t)h * hs;
            const float *q = qkv + off, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
            const float *p = att + ((size_t)b * NH + h) * T * T;
            const float *dy = dout + (size_t)b * T * C + (size_t)h * hs;
            for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
                int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, m = r1 - r0;
                const float *pb = p + (size_t)r0 * T, *dyb = dy + (size_t)r0 * C;
                float *dp = scratch; /* (m, r1) with row stride T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r1, hs, 1.0f, dyb, C, v, C3,
                            0.0f, dp, T);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, m, 1.0f, pb, T, dyb, C,
                            1.0f, dv, C3);
                for (int t = r0; t < r1; t++) {
                    const float *pr = p + (size_t)t * T;
                    float *dr = dp + (size_t)(t - r0) * T;
                    float dot = 0.0f;
                    for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
                    /* P is zero above the diagonal, so the masked part of dS is zero too. */
                    for (int j = 0; j < r1; j++) dr[j] = pr[j] * (dr[j] - dot);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs, r1, scale, dp, T, k,
                            C3, 1.0f, dq + (size_t)r0 * C3, C3);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, m, scale, dp, T,
                            q + (size_t)r0 * C3, C3, 1.0f, dk, C3);
            }
        }
    }
}

/* ====================================== GELU ======================================== */

#define GELU_K0 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_K1 0.044715f

/* tanh(u) = 1 - 2 / (exp(2u) + 1); saturates cleanly through the clamped exp. */
static inline float tanh_inline(float u) { return 1.0f - 2.0f / (expf_inline(2.0f * u) + 1.0f); }

// inp (n) -> out (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
LM_VECTORIZE void lm_gelu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float t = tanh_inline(GELU_K0 * (x + GELU_K1 * x * x * x));
        out[i] = 0.5f * x * (1.0f + t);
    }
}

// dout (n) -> dinp (n) += dout * (0.5 (1 + t) + 0.5 x (1 - t^2) k0 (1 + 3 k1 x^2))
LM_VECTORIZE void lm_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float t = tanh_inline(GELU_K0 * (x + GELU_K1 * x * x * x));
        float du = GELU_K0 * (1.0f + 3.0f * GELU_K1 * x * x);
        dinp[i] += dout[i] * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
    }
}

/* ==================================== residual ====================================== */

// a (n), b (n) -> out (n) = a + b
LM_VECTORIZE void lm_residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

// dout (n) -> da (n) +=, db (n) +=
LM_VECTORIZE void lm_residual_backward(float *da, float *db, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) da[i] += dout[i];
    for (size_t i = 0; i < n; i++) db[i] += dout[i];
}

/* ============================ softmax and cross-entropy ============================== */

LM_VECTORIZE static float row_max(const float *x, int V) {
    float mx = x[0];
    for (int j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

LM_VECTORIZE static void sub_exp(float *x, float mx, int V) {
    for (int j = 0; j < V; j++) x[j] = expf_inline(x[j] - mx);
}

/* Sum in double: the loss feeds finite-difference checks, where float sums are too noisy. */
static double row_sum(const float *x, int V) {
    double s = 0.0;
    for (int j = 0; j < V; j++) s += x[j];
    return s;
}

LM_VECTORIZE static void scale_row(float *x, float s, int V) {
    for (int j = 0; j < V; j++) x[j] *= s;
}

// logits (M,V), targets (M) -> sum_i [logsumexp(logits_i) - logits_i[target_i]];
// in place: logits <- (softmax - onehot) * dlogits_scale when dlogits_scale != 0
double lm_crossentropy_forward_backward(float *logits, const int32_t *targets, int M, int V,
                                        float dlogits_scale, float *losses) {
    double total = 0.0;
    for (int i = 0; i < M; i++) {
        float *x = logits + (size_t)i * V;
        int32_t y = targets[i];
        BB_ASSERT(y >= 0 && y < V, "cross-entropy target %d outside the vocabulary [0, %d)", y, V);
        float mx = row_max(x, V);
        double xy = (double)x[y] - mx;
        sub_exp(x, mx, V);
        double sum = row_sum(x, V);
        double loss = log(sum) - xy;
        total += loss;
        if (losses) losses[i] = (float)loss;
        if (dlogits_scale != 0.0f) {
            scale_row(x, (float)(1.0 / sum) * dlogits_scale, V);
            x[y] -= dlogits_scale;
        }
    }
    return total;
}

void lm_softmax_rows(float *x, int M, int V) {
    for (int i = 0; i < M; i++) {
        float *r = x + (size_t)i * V;
        sub_exp(r, row_max(r, V), V);
        scale_row(r, (float)(1.0 / row_sum(r, V)), V);
    }
}
