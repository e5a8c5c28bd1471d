/* nn_gradcheck — central-difference gradient checks for ops and whole models.
 *
 * The caller supplies a callback that builds a scalar loss on a (fresh) tape from the
 * given parameter tensors. The checker runs it once with backward to get the analytic
 * gradients, then for up to max_elems elements of each parameter evaluates
 *     numeric = (L(p + h) - L(p - h)) / (2h)
 * (losses read as double) and compares:
 *     rel = |analytic - numeric| / max(|analytic|, |numeric|, abs_floor).
 * The callback must be deterministic (re-seed any rng inside it, e.g. for dropout).
 *
 * Kinks (relu, max, |x|): with skip_kinks set, an element is skipped when the two
 * one-sided differences (L(p+h)-L(p))/h and (L(p)-L(p-h))/h disagree by more than
 * kink_tol relative — a kink lies inside [p-h, p+h] and the central difference means
 * nothing there (ggml's test-grad0 does the same).
 *
 * Parameters are heap tensors (nn_tensor_new with grad) or registry parameters; their
 * data is perturbed and restored; their grads are zeroed and then hold the analytic
 * gradient on return.
 */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stdint.h>

#include "models/nn/nn_tape.h"

typedef nn_tensor *(*nn_loss_fn)(nn_tape *tp, nn_tensor **params, int n_params, void *ctx);

typedef struct nn_gradcheck_opts {
    double step;         /* h; default 1e-2 */
    double abs_floor;    /* denominator floor; default 1e-3 */
    int64_t max_elems;   /* per parameter; default 64 (evenly spaced when numel is larger) */
    int skip_kinks;      /* default 0 */
    double kink_tol;     /* default 0.1 */
} nn_gradcheck_opts;

typedef struct nn_gradcheck_report {
    double max_rel_err;  /* over all checked elements */
    int worst_param;     /* index into params, -1 if nothing checked */
    int64_t worst_elem;
    double worst_analytic, worst_numeric;
    int64_t n_checked, n_skipped;
    double loss;         /* loss at the unperturbed point */
} nn_gradcheck_report;

nn_gradcheck_opts nn_gradcheck_defaults(void);
/* Runs the check; returns max_rel_err (also in *report, which may be NULL). */
double nn_gradcheck(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                    const nn_gradcheck_opts *opts, nn_gradcheck_report *report);
/* One line: "max rel err 1.2e-04 at param 1 elem 7: analytic 0.5 numeric 0.50006 (n=64)". */
void nn_gradcheck_format(const nn_gradcheck_report *r, char *buf, int cap);

#endif
