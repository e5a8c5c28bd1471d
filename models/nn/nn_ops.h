/* nn_ops — differentiable ops on a tape (forward now, backward at nn_tape_backward).
 *
 * Every op takes the tape first and returns a fresh tensor in the tape's arena (valid
 * until nn_tape_reset). Inputs are never modified; their gradients are accumulated (+=)
 * during backward when they have requires_grad. Shape mismatches are programming errors
 * and abort with BB_ASSERT naming the op and both shapes.
 *
 * Broadcasting (add/sub/mul): b either has a's shape, or a's trailing dims (e.g. a bias
 * row (C) against (R,C), or a (T,T) mask against (B,T,T)), or a's shape with last dim 1
 * (a per-row factor (R,1) against (R,C)), or one element.
 *
 * "Rows" below means the tensor seen as (numel / C, C) with C its last dimension.
 *
 * Implemented in: nn_ops_basic.c (matmul, elementwise, reductions, losses),
 * nn_ops_index.c (gather/scatter, reshape/transpose, concat/slice),
 * nn_ops_act.c (activations, softmax, layernorm, normalise, dropout, cross-entropy),
 * nn_sparse.c (CSR products, see nn_sparse.h).
 */
#ifndef NN_OPS_H
#define NN_OPS_H

#include <stdint.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn_tape.h"

#define NN_IGNORE_INDEX (-1) /* cross-entropy target meaning "no loss here" */

/* ---- products --------------------------------------------------------------------------- */

/* op(a) (M,K) x op(b) (K,N) -> (M,N), op = transpose when trans_* is set (cblas_sgemm). */
nn_tensor *nn_matmul(nn_tape *tp, nn_tensor *a, nn_tensor *b, int trans_a, int trans_b);
/* Batched: a (B,M,K), b (B,K,N) -> (B,M,N) with the same transposes per batch. */
nn_tensor *nn_bmm(nn_tape *tp, nn_tensor *a, nn_tensor *b, int trans_a, int trans_b);

/* ---- element-wise ----------------------------------------------------------------------- */

nn_tensor *nn_add(nn_tape *tp, nn_tensor *a, nn_tensor *b); /* a + b (b broadcast) */
nn_tensor *nn_sub(nn_tape *tp, nn_tensor *a, nn_tensor *b); /* a - b */
nn_tensor *nn_mul(nn_tape *tp, nn_tensor *a, nn_tensor *b); /* a * b */
nn_tensor *nn_scale(nn_tape *tp, nn_tensor *a, float s);    /* a * s */
nn_tensor *nn_add_scalar(nn_tape *tp, nn_tensor *a, float s);
nn_tensor *nn_square(nn_tape *tp, nn_tensor *a);

/* ---- reductions and losses ---------------------------------------------------------------- */

nn_tensor *nn_sum(nn_tape *tp, nn_tensor *a);       /* all elements -> (1) */
nn_tensor *nn_mean(nn_tape *tp, nn_tensor *a);      /* -> (1) */
nn_tensor *nn_sum_last(nn_tape *tp, nn_tensor *a);  /* (..., C) -> (..., 1) */
nn_tensor *nn_mean_last(nn_tape *tp, nn_tensor *a); /* (..., C) -> (..., 1) */
/* mean((a - b)^2) over all elements -> (1); b may be a constant target. */
nn_tensor *nn_mse(nn_tape *tp, nn_tensor *a, nn_tensor *b);

/* ---- indexing ------------------------------------------------------------------------------ */

/* Embedding lookup: table (N,D), idx[n] in [0,N) -> (n,D). Repeated rows accumulate. */
nn_tensor *nn_gather_rows(nn_tape *tp, nn_tensor *table, const int32_t *idx, int64_t n);
/* out (n_out,D) zero, then out[idx[i]] += src[i] for src (n,D). */
nn_tensor *nn_scatter_add_rows(nn_tape *tp, nn_tensor *src, const int32_t *idx,
                               int64_t n_out);

/* ---- shape and indexing ---------------------------------------------------------------------- */

/* Same values, new shape (same numel). The output shares a's data (do not write into it). */
nn_tensor *nn_reshape(nn_tape *tp, nn_tensor *a, int ndim, const int64_t *shape);
/* Swap dims d0 and d1 (copy), e.g. (B,T,H,hs) -> (B,H,T,hs) with d0=1, d1=2. */
nn_tensor *nn_transpose(nn_tape *tp, nn_tensor *a, int d0, int d1);
/* Concatenate n_parts tensors along axis (all other dims equal). */
nn_tensor *nn_concat(nn_tape *tp, nn_tensor **parts, int n_parts, int axis);
/* [start, start+len) of axis (copy). */
nn_tensor *nn_slice(nn_tape *tp, nn_tensor *a, int axis, int64_t start, int64_t len);
/* n_parts equal slices of axis into out[0..n_parts). */
void nn_split(nn_tape *tp, nn_tensor *a, int axis, int n_parts, nn_tensor **out);
/* Stop-gradient ("sg" in BEAT's losses): same data, no gradient flows back. */
nn_tensor *nn_detach(nn_tape *tp, nn_tensor *a);

/* ---- activations and normalisation (over the last dim where it matters) ---------------------- */

nn_tensor *nn_gelu(nn_tape *tp, nn_tensor *a); /* tanh approximation (GPT-2) */
nn_tensor *nn_tanh(nn_tape *tp, nn_tensor *a);
nn_tensor *nn_sigmoid(nn_tape *tp, nn_tensor *a);
nn_tensor *nn_relu(nn_tape *tp, nn_tensor *a); /* kink at 0: gradient 0 there */
nn_tensor *nn_exp(nn_tape *tp, nn_tensor *a);
nn_tensor *nn_log(nn_tape *tp, nn_tensor *a);  /* a > 0 */
nn_tensor *nn_sqrt(nn_tape *tp, nn_tensor *a); /* a > 0 for a finite gradient */
nn_tensor *nn_softmax(nn_tape *tp, nn_tensor *a);
nn_tensor *nn_log_softmax(nn_tape *tp, nn_tensor *a);
/* Rows (R, V) of logits, targets[R] in [0, V) or NN_IGNORE_INDEX -> (1): mean over
 * non-ignored rows of -log softmax[target] (0 when every row is ignored). */
nn_tensor *nn_cross_entropy(nn_tape *tp, nn_tensor *logits, const int32_t *targets);
/* x / max(||x||_2, 1e-12) per row (cosine similarity = normalise + matmul). */
nn_tensor *nn_l2_normalize(nn_tape *tp, nn_tensor *a);
/* LayerNorm per row; gamma, beta (C) or NULL; eps 1e-5 as GPT-2. */
nn_tensor *nn_layernorm(nn_tape *tp, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        float eps);
/* Inverted dropout with mask from rng (keep prob 1-p, scale 1/(1-p)); p <= 0 returns a
 * itself (evaluation). */
nn_tensor *nn_dropout(nn_tape *tp, nn_tensor *a, float p, bb_rng *rng);
/* (..., T, T): entries with column > row become -inf (apply before nn_softmax). */
nn_tensor *nn_causal_mask(nn_tape *tp, nn_tensor *a);

/* ---- no-grad helpers (plain functions, no tape) ------------------------------------------- */

/* Per row (seen as (R,C)): max value and its first index. Either output may be NULL. */
void nn_row_max(const nn_tensor *a, float *max_out, int32_t *argmax_out);

#endif
