/* nn_optim — flat parameter registry, Adam/AdamW, gradient clipping and initialisers. */
#include "models/nn/nn_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------------ */
/* registry */

nn_params *nn_params_new(void) { return bb_calloc(1, sizeof(nn_params)); }

void nn_params_free(nn_params *ps) {
    if (!ps) return;
    for (int i = 0; i < ps->n; i++) {
        free(ps->items[i]);
        free(ps->names[i]);
    }
    free(ps->items);
    free(ps->names);
    free(ps->offsets);
    free(ps->data);
    free(ps->grad);
    free(ps->m);
    free(ps->v);
    free(ps);
}

nn_tensor *nn_params_add(nn_params *ps, const char *name, int ndim, const int64_t *shape) {
    BB_ASSERT(!ps->finalized, "nn_params_add(\"%s\") after nn_params_finalize", name);
    BB_ASSERT(!nn_params_find(ps, name), "parameter \"%s\" declared twice", name);
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->items = bb_realloc(ps->items, (size_t)ps->cap * sizeof *ps->items);
        ps->names = bb_realloc(ps->names, (size_t)ps->cap * sizeof *ps->names);
        ps->offsets = bb_realloc(ps->offsets, (size_t)ps->cap * sizeof *ps->offsets);
    }
    nn_tensor *t = bb_calloc(1, sizeof *t);
    nn_tensor_set_shape(t, ndim, shape);
    t->requires_grad = 1;
    ps->names[ps->n] = bb_strdup(name);
    t->name = ps->names[ps->n];
    ps->offsets[ps->n] = ps->total;
    ps->items[ps->n] = t;
    ps->total += t->numel;
    ps->n++;
    return t;
}

nn_tensor *nn_params_add1(nn_params *ps, const char *name, int64_t n) {
    int64_t s[1] = {n};
    return nn_params_add(ps, name, 1, s);
}

nn_tensor *nn_params_add2(nn_params *ps, const char *name, int64_t rows, int64_t cols) {
    int64_t s[2] = {rows, cols};
    return nn_params_add(ps, name, 2, s);
}

void nn_params_finalize(nn_params *ps) {
    BB_ASSERT(!ps->finalized, "nn_params_finalize called twice");
    size_t n = (size_t)(ps->total ? ps->total : 1);
    ps->data = bb_calloc(n, sizeof(float));
    ps->grad = bb_calloc(n, sizeof(float));
    ps->m = bb_calloc(n, sizeof(float));
    ps->v = bb_calloc(n, sizeof(float));
    for (int i = 0; i < ps->n; i++) {
        ps->items[i]->data = ps->data + ps->offsets[i];
        ps->items[i]->grad = ps->grad + ps->offsets[i];
    }
    ps->finalized = 1;
}

nn_tensor *nn_params_find(const nn_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->names[i], name) == 0) return ps->items[i];
    return NULL;
}

void nn_params_zero_grad(nn_params *ps) {
    BB_ASSERT(ps->finalized, "nn_params_zero_grad before nn_params_finalize");
    memset(ps->grad, 0, (size_t)ps->total * sizeof(float));
}

void nn_params_reset_moments(nn_params *ps) {
    BB_ASSERT(ps->finalized, "nn_params_reset_moments before nn_params_finalize");
    memset(ps->m, 0, (size_t)ps->total * sizeof(float));
    memset(ps->v, 0, (size_t)ps->total * sizeof(float));
    ps->step = 0;
}

double nn_params_grad_norm(const nn_params *ps) {
    double s = 0;
    for (int i = 0; i < ps->n; i++) {
        const nn_tensor *t = ps->items[i];
        if (!t->requires_grad) continue;
        for (int64_t k = 0; k < t->numel; k++) s += (double)t->grad[k] * t->grad[k];
    }
    return sqrt(s);
}

double nn_params_clip_grad_norm(nn_params *ps, double max_norm) {
    double norm = nn_params_grad_norm(ps);
    /* torch: coef = max_norm / (norm + 1e-6), applied only when < 1 */
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        for (int i = 0; i < ps->n; i++) {
            nn_tensor *t = ps->items[i];
            if (!t->requires_grad) continue;
            for (int64_t k = 0; k < t->numel; k++) t->grad[k] = (float)(t->grad[k] * coef);
        }
    }
    return norm;
}

/* ------------------------------------------------------------------------------------------ */
/* Adam / AdamW */

nn_adam nn_adam_default(float lr) {
    nn_adam o = {lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0};
    return o;
}

nn_adam nn_adamw_default(float lr, float weight_decay) {
    nn_adam o = {lr, 0.9f, 0.999f, 1e-8f, weight_decay, 1};
    return o;
}

void nn_adam_step(nn_params *ps, const nn_adam *opt) {
    BB_ASSERT(ps->finalized, "nn_adam_step before nn_params_finalize");
    ps->step++;
    /* bias corrections 1 - beta^t (Kingma & Ba 2015, Alg. 1), in double */
    double bc1 = 1.0 - pow((double)opt->beta1, (double)ps->step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)ps->step);
    float b1 = opt->beta1, b2 = opt->beta2, lr = opt->lr, eps = opt->eps;
    float wd = opt->weight_decay;
    float step_size = (float)((double)lr / bc1);
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    for (int i = 0; i < ps->n; i++) {
        nn_tensor *t = ps->items[i];
        if (!t->requires_grad) continue;
        float *p = t->data, *g = t->grad;
        float *m = ps->m + ps->offsets[i], *v = ps->v + ps->offsets[i];
        for (int64_t k = 0; k < t->numel; k++) {
            float gk = g[k];
            if (wd != 0.0f) {
                if (opt->decoupled)
                    p[k] -= lr * wd * p[k]; /* AdamW: decay outside the moments */
                else
                    gk += wd * p[k]; /* Adam: L2 term in the gradient */
            }
            m[k] = b1 * m[k] + (1.0f - b1) * gk;
            v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
            /* torch: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
            p[k] -= step_size * m[k] / (sqrtf(v[k]) * inv_sqrt_bc2 + eps);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* initialisers */

void nn_init_xavier_uniform(nn_tensor *t, bb_rng *r) {
    double fan_in, fan_out;
    if (t->ndim == 1) {
        fan_in = fan_out = (double)t->numel;
    } else {
        double receptive = (double)t->numel / (double)(t->shape[t->ndim - 2] * t->shape[t->ndim - 1]);
        fan_in = (double)t->shape[t->ndim - 2] * receptive;
        fan_out = (double)t->shape[t->ndim - 1] * receptive;
    }
    double a = sqrt(6.0 / (fan_in + fan_out));
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = (float)((2.0 * bb_rng_uniform(r) - 1.0) * a);
}

void nn_init_normal(nn_tensor *t, bb_rng *r, float mean, float std) {
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = (float)((double)mean + (double)std * bb_rng_normal(r));
}

void nn_init_uniform(nn_tensor *t, bb_rng *r, float lo, float hi) {
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = (float)((double)lo + ((double)hi - (double)lo) * bb_rng_uniform(r));
}

void nn_init_constant(nn_tensor *t, float value) { nn_tensor_fill(t, value); }
