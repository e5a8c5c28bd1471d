/* nn_ops_act — activations, softmax family, cross-entropy, L2 row normalisation,
 * LayerNorm, dropout and the causal mask. Each forward is followed by its backward, which
 * adds (+=) into input gradients. Row ops work over the last dim: (R, C). */
#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_ops_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* element-wise unary: (...) -> (...) */

/* GELU, tanh approximation as in GPT-2 (Hendrycks & Gimpel 2016, eq. 2):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
#define NN_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define NN_GELU_C 0.044715f

static nn_tensor *unary(nn_tape *tp, nn_op op, nn_tensor *a) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    const float *x = a->data;
    float *y = out->data;
    int64_t N = a->numel;
    switch (op) {
    case NN_OP_GELU:
        for (int64_t i = 0; i < N; i++) {
            float u = NN_GELU_K * (x[i] + NN_GELU_C * x[i] * x[i] * x[i]);
            y[i] = 0.5f * x[i] * (1.0f + tanhf(u));
        }
        break;
    case NN_OP_TANH:
        for (int64_t i = 0; i < N; i++) y[i] = tanhf(x[i]);
        break;
    case NN_OP_SIGMOID:
        /* two branches so exp never overflows */
        for (int64_t i = 0; i < N; i++) {
            if (x[i] >= 0) {
                y[i] = 1.0f / (1.0f + expf(-x[i]));
            } else {
                float e = expf(x[i]);
                y[i] = e / (1.0f + e);
            }
        }
        break;
    case NN_OP_RELU:
        for (int64_t i = 0; i < N; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
        break;
    case NN_OP_EXP:
        for (int64_t i = 0; i < N; i++) y[i] = expf(x[i]);
        break;
    case NN_OP_LOG:
        for (int64_t i = 0; i < N; i++) y[i] = logf(x[i]);
        break;
    case NN_OP_SQRT:
        for (int64_t i = 0; i < N; i++) y[i] = sqrtf(x[i]);
        break;
    default: BB_ASSERT(0, "unary: op %s is not element-wise", nn_op_name(op));
    }
    nn_tape_record(tp, op, out, a, NULL, NULL);
    return out;
}

nn_tensor *nn_gelu(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_GELU, a); }
nn_tensor *nn_tanh(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_TANH, a); }
nn_tensor *nn_sigmoid(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_SIGMOID, a); }
nn_tensor *nn_relu(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_RELU, a); }
nn_tensor *nn_exp(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_EXP, a); }
nn_tensor *nn_log(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_LOG, a); }
nn_tensor *nn_sqrt(nn_tape *tp, nn_tensor *a) { return unary(tp, NN_OP_SQRT, a); }

void nn_bw_unary(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    const float *x = a->data, *y = n->out->data, *g = n->out->grad;
    float *ga = nn_tape_grad(tp, a);
    int64_t N = a->numel;
    switch (n->op) {
    case NN_OP_GELU:
        for (int64_t i = 0; i < N; i++) {
            float x2 = x[i] * x[i];
            float t = tanhf(NN_GELU_K * (x[i] + NN_GELU_C * x2 * x[i]));
            float du = NN_GELU_K * (1.0f + 3.0f * NN_GELU_C * x2);
            ga[i] += g[i] * (0.5f * (1.0f + t) + 0.5f * x[i] * (1.0f - t * t) * du);
        }
        break;
    case NN_OP_TANH:
        for (int64_t i = 0; i < N; i++) ga[i] += g[i] * (1.0f - y[i] * y[i]);
        break;
    case NN_OP_SIGMOID:
        for (int64_t i = 0; i < N; i++) ga[i] += g[i] * y[i] * (1.0f - y[i]);
        break;
    case NN_OP_RELU:
        for (int64_t i = 0; i < N; i++) ga[i] += x[i] > 0 ? g[i] : 0.0f;
        break;
    case NN_OP_EXP:
        for (int64_t i = 0; i < N; i++) ga[i] += g[i] * y[i];
        break;
    case NN_OP_LOG:
        for (int64_t i = 0; i < N; i++) ga[i] += g[i] / x[i];
        break;
    case NN_OP_SQRT:
        for (int64_t i = 0; i < N; i++) ga[i] += g[i] * 0.5f / y[i];
        break;
    default: BB_ASSERT(0, "unary backward: op %s is not element-wise", nn_op_name(n->op));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* softmax / log-softmax over the last dim: (R, C) -> (R, C); max subtracted first */

/* Row max m and log(sum exp(x - m)). Keeping the two apart matters: (x - m) is exact
 * for nearby values and small, whereas x - (m + log s) rounds at the scale of m. */
static void row_max_logsum(const float *x, int64_t C, float *max_out, float *logsum_out) {
    float m = x[0];
    for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
    double s = 0;
    for (int64_t c = 0; c < C; c++) s += exp((double)(x[c] - m));
    *max_out = m;
    *logsum_out = (float)log(s);
}

nn_tensor *nn_softmax(nn_tape *tp, nn_tensor *a) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    for (int64_t r = 0; r < R; r++) {
        const float *x = a->data + r * C;
        float *y = out->data + r * C;
        float m = x[0];
        for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
        double s = 0;
        for (int64_t c = 0; c < C; c++) {
            y[c] = expf(x[c] - m);
            s += y[c];
        }
        float inv = (float)(1.0 / s);
        for (int64_t c = 0; c < C; c++) y[c] *= inv;
    }
    nn_tape_record(tp, NN_OP_SOFTMAX, out, a, NULL, NULL);
    return out;
}

void nn_bw_softmax(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    float *ga = nn_tape_grad(tp, a);
    for (int64_t r = 0; r < R; r++) {
        const float *y = n->out->data + r * C, *g = n->out->grad + r * C;
        double dot = 0;
        for (int64_t c = 0; c < C; c++) dot += (double)g[c] * y[c];
        for (int64_t c = 0; c < C; c++) ga[r * C + c] += y[c] * (g[c] - (float)dot);
    }
}

nn_tensor *nn_log_softmax(nn_tape *tp, nn_tensor *a) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    for (int64_t r = 0; r < R; r++) {
        const float *x = a->data + r * C;
        float m, logsum;
        row_max_logsum(x, C, &m, &logsum);
        for (int64_t c = 0; c < C; c++) out->data[r * C + c] = (x[c] - m) - logsum;
    }
    nn_tape_record(tp, NN_OP_LOG_SOFTMAX, out, a, NULL, NULL);
    return out;
}

void nn_bw_log_softmax(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    float *ga = nn_tape_grad(tp, a);
    for (int64_t r = 0; r < R; r++) {
        const float *y = n->out->data + r * C, *g = n->out->grad + r * C;
        double gs = 0;
        for (int64_t c = 0; c < C; c++) gs += g[c];
        for (int64_t c = 0; c < C; c++) ga[r * C + c] += g[c] - expf(y[c]) * (float)gs;
    }
}

/* cross-entropy: logits (R, V), targets (R) -> (1) = mean over rows with a target of
 * -log softmax(logits)[target]; NN_IGNORE_INDEX rows add nothing. Keeps only each row's
 * max and log-sum for backward (probabilities are recomputed), so (R, V) logits cost no
 * second (R, V) buffer. */
nn_tensor *nn_cross_entropy(nn_tape *tp, nn_tensor *logits, const int32_t *targets) {
    int64_t R = nn_tensor_rows(logits), V = nn_tensor_cols(logits), one = 1;
    nn_tensor *out = nn_tape_out(tp, 1, &one, logits, NULL, NULL);
    float *stats = nn_tape_scratch(tp, (size_t)R * 2 * sizeof(float)); /* max, log-sum */
    int32_t *tg = nn_tape_scratch(tp, (size_t)R * sizeof(int32_t));
    double total = 0;
    int64_t count = 0;
    for (int64_t r = 0; r < R; r++) {
        tg[r] = targets[r];
        if (tg[r] == NN_IGNORE_INDEX) continue;
        BB_ASSERT(tg[r] >= 0 && tg[r] < V, "cross_entropy: target of row %lld is %d, vocab %lld",
                  (long long)r, (int)tg[r], (long long)V);
        row_max_logsum(logits->data + r * V, V, &stats[2 * r], &stats[2 * r + 1]);
        total += (double)stats[2 * r + 1] - (double)(logits->data[r * V + tg[r]] - stats[2 * r]);
        count++;
    }
    out->data[0] = count ? (float)(total / (double)count) : 0.0f;
    nn_node *n = nn_tape_record(tp, NN_OP_CROSS_ENTROPY, out, logits, NULL, NULL);
    if (n) {
        n->aux = stats;
        n->aux2 = tg;
        n->iattr[0] = count;
    }
    return out;
}

void nn_bw_cross_entropy(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    int64_t R = nn_tensor_rows(a), V = nn_tensor_cols(a), count = n->iattr[0];
    if (!count) return;
    const float *stats = n->aux;
    const int32_t *tg = n->aux2;
    float k = (float)((double)n->out->grad[0] / (double)count);
    float *ga = nn_tape_grad(tp, a);
    for (int64_t r = 0; r < R; r++) {
        if (tg[r] == NN_IGNORE_INDEX) continue;
        const float *x = a->data + r * V;
        float *g = ga + r * V;
        float m = stats[2 * r], logsum = stats[2 * r + 1];
        for (int64_t c = 0; c < V; c++) g[c] += k * expf((x[c] - m) - logsum);
        g[tg[r]] -= k;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* L2 row normalisation: y = x / max(||x||, eps), eps = 1e-12 (torch F.normalize) */

#define NN_L2_EPS 1e-12

nn_tensor *nn_l2_normalize(nn_tape *tp, nn_tensor *a) {
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    float *norms = nn_tape_scratch(tp, (size_t)R * sizeof(float));
    for (int64_t r = 0; r < R; r++) {
        const float *x = a->data + r * C;
        double s = 0;
        for (int64_t c = 0; c < C; c++) s += (double)x[c] * x[c];
        double nrm = sqrt(s);
        if (nrm < NN_L2_EPS) nrm = NN_L2_EPS;
        norms[r] = (float)nrm;
        for (int64_t c = 0; c < C; c++) out->data[r * C + c] = (float)(x[c] / nrm);
    }
    nn_node *n = nn_tape_record(tp, NN_OP_L2_NORMALIZE, out, a, NULL, NULL);
    if (n) n->aux = norms;
    return out;
}

void nn_bw_l2_normalize(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    int64_t R = nn_tensor_rows(a), C = nn_tensor_cols(a);
    const float *norms = n->aux;
    float *ga = nn_tape_grad(tp, a);
    for (int64_t r = 0; r < R; r++) {
        const float *y = n->out->data + r * C, *g = n->out->grad + r * C;
        float inv = 1.0f / norms[r];
        if ((double)norms[r] <= NN_L2_EPS) { /* clamped: y = x / eps is linear */
            for (int64_t c = 0; c < C; c++) ga[r * C + c] += g[c] * inv;
            continue;
        }
        /* d(x/|x|) = (I - y y^T) / |x| */
        double dot = 0;
        for (int64_t c = 0; c < C; c++) dot += (double)y[c] * g[c];
        for (int64_t c = 0; c < C; c++) ga[r * C + c] += (g[c] - y[c] * (float)dot) * inv;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* LayerNorm over the last dim (Ba et al. 2016): x (R, C), gamma (C), beta (C) -> (R, C);
 * gamma/beta may be NULL (no affine). Biased variance, eps inside the sqrt as in torch. */

nn_tensor *nn_layernorm(nn_tape *tp, nn_tensor *x, nn_tensor *gamma, nn_tensor *beta,
                        float eps) {
    int64_t R = nn_tensor_rows(x), C = nn_tensor_cols(x);
    BB_ASSERT(!gamma || gamma->numel == C, "layernorm: gamma has %lld elements, rows have %lld",
              (long long)gamma->numel, (long long)C);
    BB_ASSERT(!beta || beta->numel == C, "layernorm: beta has %lld elements, rows have %lld",
              (long long)beta->numel, (long long)C);
    nn_tensor *out = nn_tape_out(tp, x->ndim, x->shape, x, gamma, beta);
    float *stats = nn_tape_scratch(tp, (size_t)R * 2 * sizeof(float)); /* mean, rstd */
    for (int64_t r = 0; r < R; r++) {
        const float *xr = x->data + r * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) var += ((double)xr[c] - mean) * ((double)xr[c] - mean);
        var /= (double)C;
        float rstd = (float)(1.0 / sqrt(var + (double)eps));
        stats[2 * r] = (float)mean;
        stats[2 * r + 1] = rstd;
        for (int64_t c = 0; c < C; c++) {
            float v = (xr[c] - (float)mean) * rstd;
            if (gamma) v *= gamma->data[c];
            if (beta) v += beta->data[c];
            out->data[r * C + c] = v;
        }
    }
    nn_node *n = nn_tape_record(tp, NN_OP_LAYERNORM, out, x, gamma, beta);
    if (n) {
        n->aux = stats;
        n->fattr[0] = eps;
    }
    return out;
}

void nn_bw_layernorm(nn_tape *tp, nn_node *n) {
    nn_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    int64_t R = nn_tensor_rows(x), C = nn_tensor_cols(x);
    const float *stats = n->aux;
    float *gx = x->requires_grad ? nn_tape_grad(tp, x) : NULL;
    float *gg = gamma && gamma->requires_grad ? nn_tape_grad(tp, gamma) : NULL;
    float *gb = beta && beta->requires_grad ? nn_tape_grad(tp, beta) : NULL;
    for (int64_t r = 0; r < R; r++) {
        const float *xr = x->data + r * C, *g = n->out->grad + r * C;
        float mean = stats[2 * r], rstd = stats[2 * r + 1];
        /* llm.c layernorm_backward: dx = rstd (dnorm - mean(dnorm) - norm mean(dnorm norm)) */
        double dmean = 0, dnorm_norm = 0;
        for (int64_t c = 0; c < C; c++) {
            float norm = (xr[c] - mean) * rstd;
            float dnorm = gamma ? g[c] * gamma->data[c] : g[c];
            dmean += dnorm;
            dnorm_norm += (double)dnorm * norm;
            if (gg) gg[c] += g[c] * norm;
            if (gb) gb[c] += g[c];
        }
        dmean /= (double)C;
        dnorm_norm /= (double)C;
        if (!gx) continue;
        for (int64_t c = 0; c < C; c++) {
            float norm = (xr[c] - mean) * rstd;
            float dnorm = gamma ? g[c] * gamma->data[c] : g[c];
            gx[r * C + c] += rstd * (dnorm - (float)dmean - norm * (float)dnorm_norm);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* dropout (inverted): keep with probability 1-p and scale by 1/(1-p); p <= 0 returns a */

nn_tensor *nn_dropout(nn_tape *tp, nn_tensor *a, float p, bb_rng *rng) {
    if (p <= 0.0f) return a;
    BB_ASSERT(p < 1.0f, "dropout: p must be < 1, got %g", (double)p);
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    float *mask = nn_tape_scratch(tp, (size_t)a->numel * sizeof(float));
    float keep_scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < a->numel; i++) {
        mask[i] = bb_rng_uniformf(rng) >= p ? keep_scale : 0.0f;
        out->data[i] = a->data[i] * mask[i];
    }
    nn_node *n = nn_tape_record(tp, NN_OP_DROPOUT, out, a, NULL, NULL);
    if (n) n->aux = mask;
    return out;
}

void nn_bw_dropout(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    const float *mask = n->aux;
    float *ga = nn_tape_grad(tp, a);
    for (int64_t i = 0; i < a->numel; i++) ga[i] += n->out->grad[i] * mask[i];
}

/* ------------------------------------------------------------------------------------------ */
/* causal mask: (..., T, T) with entries j > i set to -inf (before a softmax) */

nn_tensor *nn_causal_mask(nn_tape *tp, nn_tensor *a) {
    BB_ASSERT(a->ndim >= 2 && a->shape[a->ndim - 1] == a->shape[a->ndim - 2],
              "causal_mask: needs (..., T, T), got %d-D with last dims %lld, %lld", a->ndim,
              (long long)a->shape[a->ndim >= 2 ? a->ndim - 2 : 0],
              (long long)a->shape[a->ndim - 1]);
    nn_tensor *out = nn_tape_out(tp, a->ndim, a->shape, a, NULL, NULL);
    int64_t T = a->shape[a->ndim - 1], B = a->numel / (T * T);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                int64_t k = (b * T + i) * T + j;
                out->data[k] = j > i ? -INFINITY : a->data[k];
            }
    nn_tape_record(tp, NN_OP_CAUSAL_MASK, out, a, NULL, NULL);
    return out;
}

void nn_bw_causal_mask(nn_tape *tp, nn_node *n) {
    nn_tensor *a = n->in[0];
    int64_t T = a->shape[a->ndim - 1], B = a->numel / (T * T);
    float *ga = nn_tape_grad(tp, a);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j <= i; j++) {
                int64_t k = (b * T + i) * T + j;
                ga[k] += n->out->grad[k];
            }
}
