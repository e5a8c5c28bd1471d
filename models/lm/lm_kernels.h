/* lm_kernels — the fused forward/backward kernels of the GPT-style decoder (llm.c style).
 *
 * Every op comes as a forward/backward pair, side by side in lm_kernels.c, on raw float
 * arrays in row-major layout. Shapes use N = B*T rows, C = d_model, OC output channels,
 * NH heads of size hs = C/NH, V vocabulary entries. Every matmul is one cblas_sgemm call
 * (OpenBLAS). Backward functions ACCUMULATE (+=) into the input and weight gradients;
 * a weight-gradient pointer of NULL means "frozen": that work is skipped entirely.
 *
 * The kernels are single-threaded; lm_model splits a batch across threads by sequence, so
 * each thread calls them on its own rows (fixed split: bit-identical results for a given
 * thread count). The caller must keep OpenBLAS at one thread while its own threads run.
 */
#ifndef LM_KERNELS_H
#define LM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* exp(x) for float, vectorisable (Cody–Waite reduction + degree-7 polynomial), relative
 * error below 2e-7 on [-87, 88]; inputs are clamped to that range. Used by every softmax
 * and by GELU so they run at SIMD speed without -ffast-math, bit-identically everywhere. */
float lm_expf(float x);
/* out[i] = lm_expf(x[i]) (out may equal x). */
void lm_exp_array(float *out, const float *x, size_t n);

/* ---- embedding: out (N,C) = wte[ids] + wpe[t]; injected rows take vec instead of wte ---- */
/* inject_row: for each of the N rows, -1 (token) or k (use inject_vec row k). */
void lm_embed_forward(float *out, const int32_t *ids, const int32_t *inject_row,
                      const float *inject_vec, const float *wte, const float *wpe, int B, int T,
                      int C);
/* dwte, dwpe, dinject may each be NULL (not wanted). */
void lm_embed_backward(float *dwte, float *dwpe, float *dinject, const float *dout,
                       const int32_t *ids, const int32_t *inject_row, int B, int T, int C);

/* ---- layernorm over the last dim: inp (N,C) -> out (N,C); mean, rstd (N) saved ---------- */
void lm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C);
void lm_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C);

/* ---- linear: out (N,OC) = inp (N,C) W^T + bias, W (OC,C), bias (OC) or NULL ---------------- */
void lm_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                       int C, int OC);
/* dinp (N,C) += dout W; dw (OC,C) += dout^T inp; dbias (OC) += column sums of dout.
 * dinp may be NULL (first layer needs no input gradient when nothing is injected). */
void lm_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC);

/* ---- causal multi-head attention: qkv (B,T,3C) -> out (B,T,C); att (B,NH,T,T) probs ------ */
void lm_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* dqkv (B,T,3C) +=; scratch holds T*T floats. */
void lm_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                           const float *att, int B, int T, int C, int NH);

/* ---- GELU, tanh approximation (Hendrycks & Gimpel 2016, eq. for GPT-2): (n) -> (n) ------- */
void lm_gelu_forward(float *out, const float *inp, size_t n);
void lm_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n); /* += */

/* ---- residual: out = a + b (n); backward is dout added to both inputs' gradients -------- */
void lm_residual_forward(float *out, const float *a, const float *b, size_t n);
void lm_residual_backward(float *da, float *db, const float *dout, size_t n); /* += */

/* ---- softmax cross-entropy: logits (M,V), targets (M) in [0,V) -------------------------- */
/* Returns the summed loss (double) and, when dlogits_scale != 0, overwrites logits in place
 * with dloss/dlogits = (softmax - onehot) * dlogits_scale. losses (M) may be NULL. */
double lm_crossentropy_forward_backward(float *logits, const int32_t *targets, int M, int V,
                                        float dlogits_scale, float *losses);
/* Causal softmax in place: row i of p (rows, cols; row stride ld) is normalised over its
 * first offset + i + 1 columns and zeroed over the rest of [0, cols). The KV cache uses it
 * with offset = cached positions. */
void lm_causal_softmax_rows(float *p, int rows, int cols, int ld, int offset);
/* Row-wise softmax in place (M,V), for sampling and tests. */
void lm_softmax_rows(float *x, int M, int V);

#endif
