/* beat_recon — BEAT's behaviour reconstruction and micro orthogonality, as fused
 * forward/backward kernels (DESIGN §4.2-4.3).
 *
 * Orthogonality (micro quantisers). Each entity's graph vector x (D = T t wide) is cut into
 * T chunks of t; with c_k = x_k / ||x_k|| the cosine Gram matrix G_kl = c_k . c_l, and
 *     L_orth = mean over entities and ordered pairs k != l of G_kl^2
 * (0 when T = 1). Backward: dc_k = w * 4/N * sum_{l != k} G_kl c_l, N = n T (T-1), then
 * through the normalisation, added into dx.
 *
 * Behaviour vector. rec(e) (T d wide) = micro tokens of e concatenated + its macro token
 * repeated T times: rec[e, k] = micro[e, k] + macro[e]. Without macro (ablation) it is the
 * micro tokens; without micro it is the macro token repeated T times.
 *
 * Reconstruction. For a batch of P pairs (u_p, i_p) with labels y_p in {0, 1}:
 *     s_p = rec(u_p) . rec(i_p),  m = min_p s_p, M = max_p s_p,
 *     shat_p = (s_p - m) / (M - m),  L_rec = sqrt(mean_p (shat_p - y_p)^2)   (RMSE)
 * The min and max are differentiable through the (first) pair that attains them. A range
 * below 1e-12 is clamped to 1e-12; a loss of exactly 0 gets a zero gradient.
 * rec(u) . rec(i) is also BEAT's ranking score.
 *
 * Backward of the pair products runs per entity over its own pairs (a CSR index built by
 * beat_pair_index_build), so each entity's gradient is summed in pair order by one thread:
 * deterministic for any thread count, no atomics.
 *
 * Threads: bb_pool (NULL = serial), fixed contiguous splits; reductions in double per
 * part, then in part order.
 */
#ifndef BEAT_RECON_H
#define BEAT_RECON_H

#include <stdint.h>

#include "models/base/bb_pool.h"

/* ---- orthogonality ------------------------------------------------------------------------ */

/* x: n rows, row r at x + r * ldx, holding T chunks of t floats. */
double beat_orth_forward(bb_pool *pool, const float *x, int64_t ldx, int64_t n, int T, int t);
/* The serial core: the sum over rows of each row's sum of squared off-diagonal cosines
 * (beat_orth_forward divides the total by n T (T-1)). */
double beat_orth_rows(const float *x, int64_t ldx, int64_t n, int T, int t);
/* dx (same layout) += w * dL_orth/dx. */
void beat_orth_backward(bb_pool *pool, const float *x, int64_t ldx, int64_t n, int T, int t,
                        float w, float *dx);

/* ---- behaviour vectors --------------------------------------------------------------------- */

/* rec (n, T, d); micro (n, T, d) and macro (n, d) may each be NULL, not both. */
void beat_rec_build(bb_pool *pool, const float *micro, const float *macro, int64_t n, int T,
                    int d, float *rec);
/* beat_rec_build on the calling thread (same operations). */
void beat_rec_build_rows(const float *micro, const float *macro, int64_t n, int T, int d,
                         float *rec);
/* dmacro (n, d) = sum_k drec[e, k] (overwritten). (The micro gradient is drec itself.) */
void beat_rec_backward_macro(bb_pool *pool, const float *drec, int64_t n, int T, int d,
                             float *dmacro);

/* ---- reconstruction ------------------------------------------------------------------------ */

/* Pairs of each entity in pair order: entity e owns pairs[off[e] .. off[e+1]). */
typedef struct beat_pair_index {
    int64_t n;      /* entities */
    int64_t *off;   /* n + 1, caller-owned */
    int32_t *pairs; /* P, caller-owned */
} beat_pair_index;

/* Counting sort of the P entity ids ent[p] in [0, n). */
void beat_pair_index_build(beat_pair_index *ix, const int32_t *ent, int64_t P);

typedef struct beat_recon_state {
    double loss;      /* RMSE */
    double smin, smax;
    int64_t argmin, argmax;
} beat_recon_state;

/* scores (P) receives s_p; rows of rec_u / rec_i are W = T d wide. by_user (may be NULL)
 * indexes the pairs by user: the products then run user by user (each user row read once;
 * the same bits). */
beat_recon_state beat_recon_forward(bb_pool *pool, const float *rec_u, const float *rec_i,
                                    int64_t W, const int32_t *pu, const int32_t *pi,
                                    const float *label, int64_t P, float *scores,
                                    const beat_pair_index *by_user);
/* drec_u / drec_i = w * dL_rec/drec, overwriting every row of the two indexes (rows without
 * pairs become zero). gscratch: P floats. With dmacro_u / dmacro_i not NULL, each also
 * receives beat_rec_backward_macro of its drec (rows W = T d wide), bit for bit, in the same
 * pass. */
void beat_recon_backward(bb_pool *pool, const beat_recon_state *st, const float *rec_u,
                         const float *rec_i, int64_t W, const int32_t *pu, const int32_t *pi,
                         const float *label, int64_t P, const float *scores,
                         const beat_pair_index *by_user, const beat_pair_index *by_item,
                         float w, float *gscratch, float *drec_u, float *drec_i, int T,
                         float *dmacro_u, float *dmacro_i);

#endif
