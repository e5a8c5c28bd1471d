/* beat_projector — the two-layer projector of BEAT stage 2 (DESIGN §5): behaviour tokens of
 * text width d into the frozen LM's input space,
 *     y = W2 gelu(W1 x + b1) + b2,   d -> h = (d + d_model) / 2 -> d_model,
 * one per side (user, item). GELU (tanh approximation, as the LM's MLP) between the layers:
 * the design names two linear layers; a non-linearity between them is what makes two layers
 * more than one. Weights Xavier uniform, biases zero.
 *
 *   beat_projector p;
 *   beat_projector_add(&p, params, "user_proj", d, d_model);  // before nn_params_finalize
 *   nn_params_finalize(params);
 *   beat_projector_init(&p, &rng);
 *   nn_tensor *y = beat_projector_forward(tp, &p, x);          // (n, d) -> (n, d_model)
 *
 * Ownership: the tensors live in the caller's registry.
 */
#ifndef BEAT_PROJECTOR_H
#define BEAT_PROJECTOR_H

#include "models/base/bb_rng.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tape.h"

typedef struct beat_projector {
    int d_in, d_hidden, d_out;
    nn_tensor *w1, *b1; /* (d_in, d_hidden), (d_hidden) */
    nn_tensor *w2, *b2; /* (d_hidden, d_out), (d_out) */
} beat_projector;

/* Declares "<prefix>.w1", ".b1", ".w2", ".b2" in ps (not yet finalized). */
void beat_projector_add(beat_projector *p, nn_params *ps, const char *prefix, int d_in, int d_out);
void beat_projector_init(beat_projector *p, bb_rng *r);
/* x (n, d_in) -> (n, d_out). */
nn_tensor *beat_projector_forward(nn_tape *tp, const beat_projector *p, nn_tensor *x);

#endif
