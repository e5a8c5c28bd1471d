/* explain_head — the word-vocabulary output layer of PETER and NRT with a fused
 * softmax cross-entropy, for the rows of a batch that have a target.
 *
 *   loss = mean over rows r with targets[r] != NN_IGNORE_INDEX of
 *          -log softmax(H[r] W + b)[targets[r]]          H (N,d), W (d,V), b (V)
 *
 * Why fused: with a 10k-word vocabulary this layer is nearly all of the work, and the tape
 * path (nn_matmul, nn_add, nn_cross_entropy) keeps two (N,V) buffers, exponentiates in
 * double and runs over padded rows too. Here the rows with a target are gathered first,
 * processed in chunks of BB_XHEAD_CHUNK rows (logits = one sgemm, then lm_kernels' SIMD
 * softmax cross-entropy that overwrites them with dloss/dlogits), and the gradients
 * G_H = dlogits W^T, G_W = H^T dlogits, G_b = column sums are formed at once.
 *
 * Tape hook: the returned scalar is  sum(H * sg(G_H)) + sum(W * sg(G_W)) + sum(b * sg(G_b))
 * + c, with the constant c chosen so that its value is the mean loss; its tape gradients
 * are exactly G_H, G_W, G_b times whatever scales the loss downstream, so it composes with
 * the rest of a model's objective like any op (and gradient checks see a plain function).
 * In evaluation (grad mode off, or nothing requires grad) only the value is computed.
 *
 * Threads: sgemm uses the OpenBLAS threads set with nn_set_threads; the softmax runs on
 * the calling thread, rows in order: the result is bit-identical for a thread count.
 */
#ifndef BB_EXPLAIN_HEAD_H
#define BB_EXPLAIN_HEAD_H

#include <stdint.h>

#include "models/nn/nn_tape.h"

#define BB_XHEAD_CHUNK 512

/* *nll_sum (may be NULL) gets the summed loss (double) over the counted rows. */
nn_tensor *bb_xhead_nll(nn_tape *tp, nn_tensor *H, nn_tensor *W, nn_tensor *b,
                        const int32_t *targets, double *nll_sum);

#endif
