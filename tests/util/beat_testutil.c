/* beat_testutil — see beat_testutil.h. */
#include "tests/util/beat_testutil.h"

#include <stdlib.h>
#include <string.h>

nn_tensor *beat_test_manual_loss(nn_tape *tp, nn_tensor **params, int n_params, void *ctx) {
    beat_manual_case *c = ctx;
    if (!c->grads) c->grads = calloc((size_t)n_params, sizeof *c->grads);
    for (int k = 0; k < n_params; k++) {
        if (!c->grads[k]) c->grads[k] = malloc((size_t)params[k]->numel * sizeof(float));
        memset(c->grads[k], 0, (size_t)params[k]->numel * sizeof(float));
    }
    double L = c->run(c, 1);
    /* sum_k <p_k - sg(p_k), G_k> is exactly 0 with gradient G_k; adding the constant L
     * gives the value L without the rounding of a large <p, G> term */
    nn_tensor *acc = nn_tape_tensor1(tp, 1);
    acc->data[0] = (float)L;
    for (int k = 0; k < n_params; k++) {
        nn_tensor *g = nn_tape_from(tp, params[k]->ndim, params[k]->shape, c->grads[k]);
        nn_tensor *zero = nn_sub(tp, params[k], nn_detach(tp, params[k]));
        acc = nn_add(tp, acc, nn_sum(tp, nn_mul(tp, zero, g)));
    }
    return acc;
}

void beat_manual_case_free(beat_manual_case *c) {
    if (!c->grads) return;
    for (int k = 0; k < c->n_params; k++) free(c->grads[k]);
    free(c->grads);
    c->grads = NULL;
}

int beat_test_gradcheck(beat_manual_case *c, double step, double abs_floor, double tol,
                        int skip_kinks, int64_t max_elems, char *msg, int cap) {
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = step;
    o.abs_floor = abs_floor;
    o.skip_kinks = skip_kinks;
    if (max_elems > 0) o.max_elems = max_elems;
    nn_gradcheck_report rep;
    double e = nn_gradcheck(beat_test_manual_loss, c, c->params, c->n_params, &o, &rep);
    nn_gradcheck_format(&rep, msg, cap);
    return e <= tol && rep.n_checked > 0;
}
