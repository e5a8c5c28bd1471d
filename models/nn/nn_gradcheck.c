/* nn_gradcheck — central differences against the tape's analytic gradients.
 *
 * The perturbed value is rounded to float, so the step actually taken is measured
 * ((double)(float)(p + h) - p) and the difference quotient divides by it; the losses are
 * read as double. Elements are sampled with a fixed rng stream, so a failing check names
 * the same element on every run. */
#include "models/nn/nn_gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"

nn_gradcheck_opts nn_gradcheck_defaults(void) {
    nn_gradcheck_opts o = {1e-2, 1e-3, 64, 0, 0.1};
    return o;
}

static double eval_loss(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                        nn_tape *tp) {
    nn_tape_reset(tp);
    nn_tape_set_grad(tp, 0);
    nn_tensor *loss = fn(tp, params, n_params, ctx);
    BB_ASSERT(loss && loss->numel == 1, "gradcheck: the loss callback must return a scalar");
    return (double)loss->data[0];
}

double nn_gradcheck(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                    const nn_gradcheck_opts *opts, nn_gradcheck_report *report) {
    nn_gradcheck_opts o = opts ? *opts : nn_gradcheck_defaults();
    nn_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    rep.worst_param = -1;
    for (int i = 0; i < n_params; i++) {
        BB_ASSERT(params[i]->grad && params[i]->requires_grad,
                  "gradcheck: parameter %d has no gradient buffer (make it with_grad)", i);
        nn_tensor_zero_grad(params[i]);
    }

    /* analytic pass */
    nn_tape *tp = nn_tape_new();
    nn_tensor *loss = fn(tp, params, n_params, ctx);
    BB_ASSERT(loss && loss->numel == 1, "gradcheck: the loss callback must return a scalar");
    rep.loss = (double)loss->data[0];
    nn_tape_backward(tp, loss);

    bb_rng rng;
    for (int i = 0; i < n_params; i++) {
        nn_tensor *p = params[i];
        int64_t n_check = p->numel < o.max_elems ? p->numel : o.max_elems;
        bb_rng_seed_indexed(&rng, 0, "nn/gradcheck", (uint64_t)i);
        for (int64_t c = 0; c < n_check; c++) {
            int64_t e = n_check == p->numel ? c : (int64_t)bb_rng_below(&rng, (uint64_t)p->numel);
            float orig = p->data[e];
            double analytic = (double)p->grad[e];
            p->data[e] = (float)((double)orig + o.step);
            double hp = (double)p->data[e] - (double)orig;
            double lp = eval_loss(fn, ctx, params, n_params, tp);
            p->data[e] = (float)((double)orig - o.step);
            double hm = (double)orig - (double)p->data[e];
            double lm = eval_loss(fn, ctx, params, n_params, tp);
            p->data[e] = orig;
            double numeric = (lp - lm) / (hp + hm);
            if (o.skip_kinks) {
                double right = (lp - rep.loss) / hp, left = (rep.loss - lm) / hm;
                double scale = fmax(fmax(fabs(right), fabs(left)), o.abs_floor);
                if (fabs(right - left) / scale > o.kink_tol) {
                    rep.n_skipped++;
                    continue;
                }
            }
            double denom = fmax(fmax(fabs(analytic), fabs(numeric)), o.abs_floor);
            double rel = fabs(analytic - numeric) / denom;
            if (rep.worst_param < 0 || !(rel <= rep.max_rel_err)) { /* NaN counts as worst */
                rep.max_rel_err = isnan(rel) ? INFINITY : rel;
                rep.worst_param = i;
                rep.worst_elem = e;
                rep.worst_analytic = analytic;
                rep.worst_numeric = numeric;
            }
            rep.n_checked++;
        }
    }
    nn_tape_free(tp);
    if (report) *report = rep;
    return rep.max_rel_err;
}

void nn_gradcheck_format(const nn_gradcheck_report *r, char *buf, int cap) {
    snprintf(buf, (size_t)cap,
             "max rel err %.3g at param %d elem %lld: analytic %.9g numeric %.9g "
             "(checked %lld, skipped %lld, loss %.9g)",
             r->max_rel_err, r->worst_param, (long long)r->worst_elem, r->worst_analytic,
             r->worst_numeric, (long long)r->n_checked, (long long)r->n_skipped, r->loss);
}
