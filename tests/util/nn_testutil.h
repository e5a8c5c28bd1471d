/* nn_testutil — helpers shared by the tests of models/nn (tests/test_nn_*.c).
 *
 * nn_test_rand(): a heap tensor with gradient, filled from a fixed rng stream.
 * nn_test_weighted_sum(): sum(out .* W) with W a fixed pseudo-random tensor derived from
 *   (seed, out's numel); using it as the loss makes every output element matter with a
 *   distinct weight, so a transposed or misplaced gradient cannot cancel out.
 * NN_TEST_GRADCHECK(): runs nn_gradcheck with a given step and tolerance and fails the
 *   test with the worst element when the max relative error is above the tolerance. */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <stdint.h>

#include "models/nn/nn.h"
#include "tests/testhelp.h"

nn_tensor *nn_test_rand(int ndim, const int64_t *shape, uint64_t seed, float lo, float hi);
nn_tensor *nn_test_rand2(int64_t rows, int64_t cols, uint64_t seed);
nn_tensor *nn_test_weighted_sum(nn_tape *tp, nn_tensor *out, uint64_t seed);
/* Runs the check; on failure writes the report line into msg and returns 0. */
int nn_test_gradcheck(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                      double step, double tol, int skip_kinks, char *msg, int cap);
/* Same with full options (step, abs_floor, kinks). */
int nn_test_gradcheck_opts(nn_loss_fn fn, void *ctx, nn_tensor **params, int n_params,
                           const nn_gradcheck_opts *opts, double tol, char *msg, int cap);

#define NN_TEST_GRADCHECK(fn, ctx, params, n_params, step, tol)                          \
    do {                                                                                 \
        char nn_msg_[512];                                                               \
        if (!nn_test_gradcheck((fn), (ctx), (params), (n_params), (step), (tol), 0,      \
                               nn_msg_, (int)sizeof nn_msg_)) {                          \
            bb_test_fail(__FILE__, __LINE__, "gradcheck %s: %s", #fn, nn_msg_);          \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define NN_TEST_GRADCHECK_OPTS(fn, ctx, params, n_params, opts, tol)                   \
    do {                                                                                 \
        char nn_msg_[512];                                                               \
        if (!nn_test_gradcheck_opts((fn), (ctx), (params), (n_params), (opts), (tol),    \
                                    nn_msg_, (int)sizeof nn_msg_)) {                     \
            bb_test_fail(__FILE__, __LINE__, "gradcheck %s: %s", #fn, nn_msg_);          \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define NN_TEST_GRADCHECK_KINKS(fn, ctx, params, n_params, step, tol)                    \
    do {                                                                                 \
        char nn_msg_[512];                                                               \
        if (!nn_test_gradcheck((fn), (ctx), (params), (n_params), (step), (tol), 1,      \
                               nn_msg_, (int)sizeof nn_msg_)) {                          \
            bb_test_fail(__FILE__, __LINE__, "gradcheck %s: %s", #fn, nn_msg_);          \
            return;                                                                      \
        }                                                                                \
    } while (0)

#endif
