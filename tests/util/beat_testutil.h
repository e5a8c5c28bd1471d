/* beat_testutil — helpers shared by the tests of models/beat (tests/test_beat_*.c).
 *
 * Gradient checks of fused kernels with nn_gradcheck. The stage-1 kernels compute their
 * forward and backward by hand, outside the nn tape. beat_test_manual_loss adapts such a
 * pair to nn_gradcheck's callback: it runs the hand-written forward (value L) and backward
 * (gradients G_k of the parameters, which must not be written into the parameters' own
 * grads), and returns the tape scalar
 *     L + sum_k <p_k - sg(p_k), G_k>
 * whose value is exactly L and whose tape gradient with respect to p_k is exactly G_k. nn_gradcheck
 * then compares G_k with central differences of the hand-written forward, element by
 * element: the analytic side is the kernel's backward, the numeric side its forward.
 */
#ifndef BEAT_TESTUTIL_H
#define BEAT_TESTUTIL_H

#include <stdint.h>

#include "models/nn/nn.h"

typedef struct beat_manual_case beat_manual_case;
struct beat_manual_case {
    /* forward at the parameters' current values; fills grads[k] (numel of params[k], zeroed
     * by the adapter before the call) with the analytic gradient when want_grad */
    double (*run)(beat_manual_case *c, int want_grad);
    nn_tensor **params;
    int n_params;
    float **grads; /* owned by the adapter (allocated on first use) */
    void *user;
};

nn_tensor *beat_test_manual_loss(nn_tape *tp, nn_tensor **params, int n_params, void *ctx);
void beat_manual_case_free(beat_manual_case *c);

/* Runs nn_gradcheck on a manual case; returns 1 when max rel err <= tol (and something was
 * checked), else 0 with the report line in msg. */
int beat_test_gradcheck(beat_manual_case *c, double step, double abs_floor, double tol,
                        int skip_kinks, int64_t max_elems, char *msg, int cap);

#endif
