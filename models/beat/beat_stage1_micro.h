/* beat_stage1_micro — BEAT's micro supervision (masked phrase reconstruction, DESIGN §4.5)
 * as one fused forward/backward over a side's batch entities, for stage-1 training.
 *
 * It computes exactly the function of beat_micro_sup_loss (beat_sup.h, the tape version,
 * which stays the reference: a test checks that both give the same loss and gradients), with
 * the same folding of the projections, but without a tape: the products over the masked
 * slots are a handful of pool-parallel sgemm calls over all the slots of the side, the
 * attention over the T positions runs per slot in registers, and the weight-only products
 * (W_o W_q2 W_k2^T, W_v2 W_o2) are computed once per call rather than once per thread.
 *
 * Per valid masked slot s of entity b at position p (x_j = mask_vec[j] at the entity's
 * masked positions, its phrase vector elsewhere; Z_j its micro tokens):
 *     a_h   = softmax_{j < len} ((q_p W_k,h^T) . x_j / sqrt(hs)),  q_p = mask_vec[p] W_q + b_q
 *     v_h   = (sum_j a_h,j x_j) W_v,h                       (the H heads side by side)
 *     q2    = v G + c2,   G = W_o W_q2 W_k2^T,  c2 = b_v G + b_o W_q2 W_k2^T + b_q2 W_k2^T
 *     out   = (sum_j softmax_j (q2 . Z_j / sqrt(d)) Z_j) F + f,  F = W_v2 W_o2, f = b_v2 W_o2 + b_o2
 *     loss  = mean over the valid slots and the d columns of (out - phrase_p)^2
 * Backward: weight * dloss is added into dtokens (the rows of the entities' tokens) and into
 * the module's parameter gradients (->grad, added to).
 *
 * Threads: entities are split across the pool in fixed contiguous parts (an entity's slots
 * and token rows belong to one part); products split rows or output columns
 * (beat_gemm.h); per-part sums are added in part order. Bit-identical for a given thread
 * count.
 *
 * Ownership: the caller owns the workspace (beat_micro_ws_free); inputs are borrowed.
 */
#ifndef BEAT_STAGE1_MICRO_H
#define BEAT_STAGE1_MICRO_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_pool.h"
#include "models/beat/beat_sup.h"

typedef struct beat_micro_rows {
    int B, M;                    /* entities, masked slots per entity */
    const int32_t *len;          /* (B): phrases of each entity, 1..T */
    const int32_t *masked;       /* (B, M): masked positions (< len), -1 = unused slot */
    const float *phrases;        /* entity b's (T, d) phrase vectors start at */
    const int32_t *phrase_row;   /*   phrases + phrase_row[b] T d (zero beyond len) */
    const float *tokens;         /* entity b's (T, d) micro tokens start at */
    float *dtokens;              /*   tokens + token_row[b] T d; gradients are added to */
    const int32_t *token_row;    /*   dtokens at the same offsets */
} beat_micro_rows;

/* Growable scratch, reused across calls (zero-initialise it before the first call). */
typedef struct beat_micro_ws {
    float *f;
    size_t fcap;
    int32_t *i;
    size_t icap;
} beat_micro_ws;
void beat_micro_ws_free(beat_micro_ws *ws);

/* The loss (MSE over the valid slots; 0 when there is none) of the batch; its gradient
 * times `weight` is added into r->dtokens and the module's ->grad tensors. */
double beat_micro_sup_fused(bb_pool *pool, const beat_micro_sup *s, const beat_micro_rows *r,
                            float weight, beat_micro_ws *ws);

#endif
