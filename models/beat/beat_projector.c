/* beat_projector — see beat_projector.h (DESIGN §5). */
#include "models/beat/beat_projector.h"

#include <stdio.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"

void beat_projector_add(beat_projector *p, nn_params *ps, const char *prefix, int d_in, int d_out) {
    BB_ASSERT(d_in > 0 && d_out > 0, "beat_projector: widths %d -> %d", d_in, d_out);
    p->d_in = d_in;
    p->d_out = d_out;
    p->d_hidden = (d_in + d_out) / 2;
    if (p->d_hidden < 1) p->d_hidden = 1;
    char name[128];
    snprintf(name, sizeof name, "%s.w1", prefix);
    p->w1 = nn_params_add2(ps, name, d_in, p->d_hidden);
    snprintf(name, sizeof name, "%s.b1", prefix);
    p->b1 = nn_params_add1(ps, name, p->d_hidden);
    snprintf(name, sizeof name, "%s.w2", prefix);
    p->w2 = nn_params_add2(ps, name, p->d_hidden, d_out);
    snprintf(name, sizeof name, "%s.b2", prefix);
    p->b2 = nn_params_add1(ps, name, d_out);
}

void beat_projector_init(beat_projector *p, bb_rng *r) {
    nn_init_xavier_uniform(p->w1, r);
    nn_init_xavier_uniform(p->w2, r);
    nn_init_constant(p->b1, 0.0f);
    nn_init_constant(p->b2, 0.0f);
}

nn_tensor *beat_projector_forward(nn_tape *tp, const beat_projector *p, nn_tensor *x) {
    BB_ASSERT(x->ndim == 2 && x->shape[1] == p->d_in, "beat_projector: input width %lld, expected %d",
              (long long)x->shape[x->ndim - 1], p->d_in);
    nn_tensor *h = nn_gelu(tp, nn_add(tp, nn_matmul(tp, x, p->w1, 0, 0), p->b1));
    return nn_add(tp, nn_matmul(tp, h, p->w2, 0, 0), p->b2);
}
