/* beat_sup — BEAT's semantic supervision of the behaviour tokens (DESIGN §4.4-4.5), built
 * from nn tape ops (models/nn), so gradients reach the token rows handed in as tape leaves.
 *
 * Macro supervision (InfoNCE, van den Oord et al. 2018). For n pairs with a training
 * explanation: a_p = normalise(macro(u_p) + macro(i_p)), s_p = normalise(sentence vector of
 * the explanation), logits = a s^T / tau, loss = mean_p -log softmax(logits_p)[p]: each pair
 * against the other explanations of the batch (in-batch negatives), behaviour -> text.
 *
 * Micro supervision (masked phrase reconstruction). An entity brings its first T phrase
 * vectors P (len <= T of them); M = max(1, floor(mask_ratio T)) positions (at most len) are
 * replaced by learned mask vectors (one per position); H-head self-attention runs over that
 * sequence (keys limited to the len real positions); single-head cross-attention goes from
 * its output to the entity's T micro tokens; loss = MSE between the outputs and the true
 * phrase vectors at the masked positions. Attention layers are torch.nn.MultiheadAttention
 * style linear maps (weights stored (in, out), biases) without residuals or norms, so the
 * reconstruction must come through the micro tokens.
 *
 * Only the masked positions reach the loss, so only their outputs are computed, with the
 * projections folded into the attention (equal to full attention read at those positions up
 * to float rounding — a test checks it — and O(B d^2) instead of O(B T d^2)):
 *     score_j = q . (x_j W_k) / sqrt(h) = (q W_k^T) . x_j / sqrt(h)
 *     sum_j a_j (x_j W_v + b_v)         = (sum_j a_j x_j) W_v + b_v     (sum_j a_j = 1)
 * a masked slot's query input is its position's mask vector (T distinct queries), and
 * consecutive linear maps are multiplied out (W_o W_q2 W_k2^T, W_v2 W_o2), leaving three
 * (B M, d) x (d, d) products per step instead of eight.
 * There is no key bias: it adds the same q . b_k to every score of a query and cancels in
 * the softmax (its gradient is zero in any implementation).
 *
 * Ownership: the module's tensors are parameters of the caller's nn_params registry
 * (declared by beat_micro_sup_declare, initialised after nn_params_finalize).
 */
#ifndef BEAT_SUP_H
#define BEAT_SUP_H

#include <stdint.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tape.h"

/* mu, mi (n, d): macro tokens of the pairs' users and items (tape leaves with grad);
 * sent (n, d): the explanations' sentence vectors (constant). Returns the (1) loss. */
nn_tensor *beat_macro_infonce(nn_tape *tp, nn_tensor *mu, nn_tensor *mi, nn_tensor *sent,
                              float tau);

typedef struct beat_attn {
    nn_tensor *wq, *bq; /* (d, d), (d) */
    nn_tensor *wk;      /* (d, d) */
    nn_tensor *wv, *bv; /* (d, d), (d) */
    nn_tensor *wo, *bo; /* (d, d), (d) */
} beat_attn;

typedef struct beat_micro_sup {
    int d, T, heads;
    nn_tensor *mask_vec;  /* (T, d): the learned mask vector of each position */
    beat_attn self_attn;  /* heads heads */
    beat_attn cross_attn; /* one head */
} beat_micro_sup;

/* Declares the parameters "<prefix>.mask", "<prefix>.self.wq", ... in ps (before finalize). */
void beat_micro_sup_declare(beat_micro_sup *s, nn_params *ps, const char *prefix, int d, int T,
                            int heads);
/* Xavier-uniform weights and mask vectors, zero biases (after finalize). */
void beat_micro_sup_init(beat_micro_sup *s, bb_rng *r);

/* Masked positions per entity: max(1, floor(mask_ratio * T)). */
int beat_micro_mask_count(int T, double mask_ratio);

typedef struct beat_micro_batch {
    int B;                 /* entities */
    int M;                 /* masked slots per entity */
    const float *phrases;  /* (B, T, d): first len phrase vectors, zero beyond */
    const int32_t *len;    /* (B): 1..T */
    const int32_t *masked; /* (B, M): masked positions, each < len; -1 = unused slot */
} beat_micro_batch;

/* tokens (B, T, d): the entities' micro tokens (tape leaf). Returns the (1) MSE over the
 * used masked slots. */
nn_tensor *beat_micro_sup_loss(nn_tape *tp, const beat_micro_sup *s, const beat_micro_batch *mb,
                               nn_tensor *tokens);

/* Picks the masked positions of each entity: a uniform M-subset (min(M, len) of them) of
 * [0, len) per entity, in entity order, from rng; the rest of the slots get -1. */
void beat_micro_pick_masks(bb_rng *rng, int B, int M, const int32_t *len, int32_t *masked);

#endif
