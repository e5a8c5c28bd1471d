/* nn_testutil — see nn_testutil.h. */
#include "tests/util/nn_testutil.h"

#include "models/base/bb_rng.h"

nn_tensor *nn_test_rand(int ndim, const int64_t *shape, uint64_t seed, float lo, float hi) {
    nn_tensor *t = nn_tensor_new(ndim, shape, 1);
    bb_rng r;
    bb_rng_seed(&r, seed, "nn/test/rand");
    nn_init_uniform(t, &r, lo, hi);
    return t;
}

nn_tensor *nn_test_rand2(int64_t rows, int64_t cols, uint64_t seed) {
    int64_t s[2] = {rows, cols};
    return nn_test_rand(2, s, seed, -1.0f, 1.0f);
}

nn_tensor *nn_test_weighted_sum(nn_tape *tp, nn_tensor *out, uint64_t seed) {
    nn_tensor *w = nn_tape_tensor(tp, out->ndim, out->shape);
    bb_rng r;
    bb_rng_seed_indexed(&r, seed, "nn/test/weights", (uint64_t)out->numel);
    nn_init_uniform(w, &r, -1.0f, 1.0f);
    return nn_sum(tp, nn_mul(tp, out, w));
}

int nn_test_gradcheck(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                      double step, double tol, int skip_kinks, char *msg, int cap) {
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = step;
    o.skip_kinks = skip_kinks;
    return nn_test_gradcheck_opts(fn, ctx, params, n_params, &o, tol, msg, cap);
}

int nn_test_gradcheck_opts(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                           const nn_gradcheck_opts *opts, double tol, char *msg, int cap) {
    nn_gradcheck_report rep;
    double err = nn_gradcheck(fn, ctx, params, n_params, opts, &rep);
    nn_gradcheck_format(&rep, msg, cap);
    /* a check that looked at nothing proves nothing */
    return err <= tol && rep.n_checked > 0;
}
