/* beat_vq — BEAT's vector quantisers, as fused forward/backward kernels (DESIGN §4.2).
 *
 * A quantiser maps rows z (n, d) — already projected into the text width and L2-normalised
 * — to their nearest codeword of a codebook C (K, d):
 *     idx_r = argmin_k ||z_r - c_k||^2   (squared Euclidean; ties go to the lowest k)
 *     q_r   = c_{idx_r}
 *     st_r  = z_r + sg(q_r - z_r)        straight-through output (van den Oord et al. 2017)
 *     loss  = mean((sg(z) - q)^2) + 0.5 mean((z - sg(q))^2)   (codebook + commitment)
 * The search expands ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2 and computes z C^T with sgemm
 * in row chunks; ||z||^2 is the same for every k, so it is left out of the comparison (it
 * cannot change the argmin and would only add rounding).
 *
 * Stop-gradients. Every sg() quantity can be supplied from a base point instead of the
 * current values: z_sg (the z inside the codebook term), q_sg (the q of the commitment
 * term and of the straight-through offset, st = z + (q_sg - z_sg)). Pass NULL for both in
 * training (they are then z and q themselves). Gradient checks freeze them at the base
 * point, where finite differences of the loss then equal the analytic gradient exactly as
 * the stop-gradient semantics define it.
 *
 * Backward, given dst = dL/dst (the gradient arriving at the straight-through output):
 *     dz  = dst + w * (z - q_sg) / (n d)          (straight-through + commitment)
 *     dC[idx_r] += w * 2 (q_r - z_sg_r) / (n d)    (codebook term)
 * w is the loss weight (1 in BEAT). dz overwrites dst in place.
 *
 * Normalisation: z = x / max(||x||, 1e-12) per row, as nn_l2_normalize; backward
 * dx = (dz - z (z.dz)) / ||x|| (1/eps on clamped rows), in place.
 *
 * Threads: every kernel takes a bb_pool (NULL = serial) and splits rows (or, for the
 * codebook gradient's final sum, codes) into fixed contiguous parts; reductions are summed
 * per part and then in part order, so results are bit-identical for a given thread count.
 * The search hands fixed blocks of rows to the pool's threads as they come free
 * (beat_blocks, beat_gemm.h); each runs single-threaded sgemm on chunks of its block
 * (OpenBLAS must be at one thread: models/beat never mixes the two levels) and scans the
 * scores while they are in cache. A row's code depends only on the row.
 */
#ifndef BEAT_VQ_H
#define BEAT_VQ_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_pool.h"

#define BEAT_L2_EPS 1e-12

/* idx[r] for n rows of z against K codewords of cb (both row-major, width d). scratch holds
 * beat_vq_search_scratch(K, threads of pool) floats, or is NULL (allocated per call). */
void beat_vq_search(bb_pool *pool, const float *z, int64_t n, int d, const float *cb, int K,
                    int32_t *idx, float *scratch);
size_t beat_vq_search_scratch(int K, int threads);

/* The general search beat_vq_search runs on: scores_rk = A_r . B_k for A (n rows of kdim,
 * row stride lda) and B (K, kdim); idx[r * idx_stride] = argmin_k cnorm[k] - 2 scale_r
 * scores_rk (scale NULL: 1; else scale[r * scale_stride]). cnorm[k] = ||c_k||^2 of the
 * codebook. scratch: threads x 1024 x K floats.
 * Folding a projection into the codebook uses it: for z = x W / ||x W||,
 *     z . c = x . (c W^T) / ||x W||,
 * so A = x (t wide), B = C W^T (K, t), scale = 1 / ||x W|| gives the same comparison with
 * inner dimension t instead of d (equal up to float rounding). */
void beat_vq_search_rows(bb_pool *pool, const float *A, int64_t n, int kdim, int lda,
                         const float *B, int K, const float *cnorm, const float *scale,
                         int64_t scale_stride, int32_t *idx, int64_t idx_stride,
                         float *scratch);
void beat_vq_code_norms(const float *cb, int K, int d, float *cnorm);

/* The serial cores of the pool kernels, for callers that run their own per-thread pipelines
 * over row blocks (beat_stage1's forward); the same per-row operations, so the same bits.
 *   beat_vq_search_block: beat_vq_search_rows on the calling thread; scores holds
 *     beat_vq_search_block_scratch(K) floats.
 *   beat_vq_forward_rows: beat_vq_forward's st, and its two sums (codebook, commitment terms
 *     before the means) added into sums[0], sums[1].
 *   beat_l2norm_rows: beat_l2norm_forward on the calling thread. */
void beat_vq_search_block(const float *A, int64_t n, int kdim, int lda, const float *B, int K,
                          const float *cnorm, const float *scale, int64_t scale_stride,
                          int32_t *idx, int64_t idx_stride, float *scores);
size_t beat_vq_search_block_scratch(int K);
void beat_vq_forward_rows(const float *z, const float *cb, const int32_t *idx, int64_t n, int d,
                          const float *z_sg, const float *q_sg, float *st, double sums[2]);
void beat_l2norm_rows(float *x, int64_t n, int d, float *norms);

/* st (n, d) = z + (q_sg - z_sg); returns the loss value (codebook + 0.5 commitment). */
double beat_vq_forward(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                       int64_t n, int d, const float *z_sg, const float *q_sg, float *st);

/* beat_vq_forward over n entities' T rows each (z, st (n T, d)), which also writes the
 * behaviour vectors rec (n T, d) = st + add[entity] (add (n, d), or NULL for rec = st) in the
 * same pass: beat_vq_forward then beat_rec_build (beat_recon.h), bit for bit. */
double beat_vq_forward_rec(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                           int64_t n, int T, int d, const float *z_sg, const float *q_sg,
                           float *st, const float *add, float *rec);

/* dz_inout: dst on entry, dz on return. dcb (K, d) is added to. scratch holds
 * beat_vq_backward_scratch(K, d, threads) floats (per-thread sums of the codebook term,
 * added in thread order), or is NULL. With norms (the denominators of z = x / |x|) not
 * NULL, each row also goes through the normalisation backward in the same pass, so
 * dz_inout ends as dL/dx — the same numbers as beat_l2norm_backward afterwards. */
void beat_vq_backward(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                      int64_t n, int d, int K, const float *z_sg, const float *q_sg, float w,
                      float *dz_inout, float *dcb, float *scratch, const float *norms);
size_t beat_vq_backward_scratch(int K, int d, int threads);

/* In place: x (n, d) -> x / max(||x||, eps); norms[r] = that denominator. */
void beat_l2norm_forward(bb_pool *pool, float *x, int64_t n, int d, float *norms);
/* In place: dz -> dx for z = normalised rows and their norms. */
void beat_l2norm_backward(bb_pool *pool, const float *z, const float *norms, float *dz,
                          int64_t n, int d);

#endif
