/* explain_head — fused vocabulary softmax cross-entropy with a tape hook. See
 * explain_head.h. */
#include "baselines/explain_head.h"

#include <cblas.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_kernels.h"
#include "models/nn/nn_ops.h"

nn_tensor *bb_xhead_nll(nn_tape *tp, nn_tensor *H, nn_tensor *W, nn_tensor *b,
                        const int32_t *targets, double *nll_sum) {
    int64_t N = nn_tensor_rows(H), d = nn_tensor_cols(H);
    BB_ASSERT(W->ndim == 2 && W->shape[0] == d, "xhead: W must be (%lld, V)", (long long)d);
    int64_t V = W->shape[1];
    BB_ASSERT(b->numel == V, "xhead: bias has %lld entries, vocabulary %lld", (long long)b->numel,
              (long long)V);
    BB_ASSERT(N > 0, "xhead: no rows");
    int want = tp->grad_enabled && (H->requires_grad || W->requires_grad || b->requires_grad);

    int32_t *rows = nn_tape_scratch(tp, (size_t)(N ? N : 1) * sizeof *rows);
    int32_t *tg = nn_tape_scratch(tp, (size_t)(N ? N : 1) * sizeof *tg);
    int64_t n = 0;
    for (int64_t r = 0; r < N; r++) {
        if (targets[r] == NN_IGNORE_INDEX) continue;
        BB_ASSERT(targets[r] >= 0 && targets[r] < V,
                  "xhead: target %d of row %lld outside [0, %lld)", (int)targets[r], (long long)r,
                  (long long)V);
        rows[n] = (int32_t)r;
        tg[n++] = targets[r];
    }
    int64_t chunk = n < BB_XHEAD_CHUNK ? (n ? n : 1) : BB_XHEAD_CHUNK;
    float *logits = nn_tape_scratch(tp, (size_t)(chunk * V) * sizeof *logits);
    float *hc = nn_tape_scratch(tp, (size_t)(chunk * d) * sizeof *hc);
    float *ghc = want ? nn_tape_scratch(tp, (size_t)(chunk * d) * sizeof *ghc) : NULL;
    nn_tensor *gh = want ? nn_tape_tensor(tp, H->ndim, H->shape) : NULL;
    nn_tensor *gw = want ? nn_tape_tensor2(tp, d, V) : NULL;
    nn_tensor *gb = want ? nn_tape_tensor1(tp, V) : NULL;
    float scale = n ? (float)(1.0 / (double)n) : 0.0f;
    double total = 0;
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
        int64_t m = n - c0 < chunk ? n - c0 : chunk;
        for (int64_t k = 0; k < m; k++)
            memcpy(hc + k * d, H->data + (int64_t)rows[c0 + k] * d, (size_t)d * sizeof *hc);
        /* logits (m,V) = hc (m,d) W (d,V) + b */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)V, (int)d, 1.0f, hc,
                    (int)d, W->data, (int)V, 0.0f, logits, (int)V);
        for (int64_t k = 0; k < m; k++) {
            float *x = logits + k * V;
            for (int64_t v = 0; v < V; v++) x[v] += b->data[v];
        }
        total += lm_crossentropy_forward_backward(logits, tg + c0, (int)m, (int)V,
                                                  want ? scale : 0.0f, NULL);
        if (!want) continue;
        /* logits now hold dloss/dlogits: G_W += hc^T dl, G_b += colsum dl, G_H rows = dl W^T */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)V, (int)m, 1.0f, hc,
                    (int)d, logits, (int)V, 1.0f, gw->data, (int)V);
        for (int64_t k = 0; k < m; k++) {
            const float *x = logits + k * V;
            for (int64_t v = 0; v < V; v++) gb->data[v] += x[v];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)d, (int)V, 1.0f, logits,
                    (int)V, W->data, (int)V, 0.0f, ghc, (int)d);
        for (int64_t k = 0; k < m; k++)
            memcpy(gh->data + (int64_t)rows[c0 + k] * d, ghc + k * d, (size_t)d * sizeof *ghc);
    }
    double mean = n ? total / (double)n : 0.0;
    if (nll_sum) *nll_sum = total;
    if (!want) {
        nn_tensor *out = nn_tape_tensor1(tp, 1);
        out->data[0] = (float)mean;
        return out;
    }
    /* value: the mean loss; gradients: exactly G_H, G_W, G_b (see the header) */
    nn_tensor *hook = nn_add(tp, nn_sum(tp, nn_mul(tp, H, gh)), nn_sum(tp, nn_mul(tp, W, gw)));
    hook = nn_add(tp, hook, nn_sum(tp, nn_mul(tp, b, gb)));
    return nn_add_scalar(tp, hook, (float)(mean - (double)hook->data[0]));
}
