/* beat_sar — semantic alignment regularisation of BEAT stage 2 (DESIGN §5; Feng et al., AAAI
 * 2026, "SAR").
 *
 * For one sequence: E (n_e, C) = the L2-normalised LM input embeddings (wte rows) of its
 * explanation tokens, constants (the LM is frozen); Q (2S, C) = the L2-normalised slot
 * vectors (the projected behaviour tokens). For each text position s:
 *     j(s) = argmax_j cos(E_s, Q_j)   (first index on ties),   v_s = cos(E_s, Q_j(s))
 *     A_s  = normalise(v_s Q_j(s))
 * and SAR = MSE(A A^T, sg(E E^T)) over the n_e x n_e entries. Over a batch the squared
 * errors of all sequences are pooled: SAR = sum_b ||A_b A_b^T - E_b E_b^T||^2 / sum_b n_b^2,
 * so every valid (s, s') pair of the batch weighs the same. j(s) is piecewise constant, so
 * the gradient flows through Q_j(s) (and v_s, whose effect normalise removes up to its sign).
 *
 * Built from nn tape ops (nn_ops.h), which have their own gradient checks; the composite is
 * checked by central differences in tests/test_explain_beat.c.
 */
#ifndef BEAT_SAR_H
#define BEAT_SAR_H

#include <stdint.h>

#include "models/nn/nn_tape.h"

/* slots: (B, Q, C) tape tensor (Q = 2S rows per sequence); e_rows[b]: n_e[b] raw (not yet
 * normalised) embedding rows of C floats for sequence b (sequences with n_e[b] == 0 add
 * nothing). Returns the pooled SAR scalar (0 when no sequence has text). */
nn_tensor *beat_sar_loss(nn_tape *tp, nn_tensor *slots, const float *const *e_rows,
                         const int *n_e);

#endif
