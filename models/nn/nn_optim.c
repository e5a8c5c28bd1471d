/* nn_optim — flat parameter registry, Adam/AdamW, gradient clipping and initialisers. */
#include "models/nn/nn_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/base/bb_simd.h"

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
    bb_aligned_free(ps->data);
    bb_aligned_free(ps->grad);
    bb_aligned_free(ps->m);
    bb_aligned_free(ps->v);
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
    ps->data = bb_aligned_calloc(n, sizeof(float));
    ps->grad = bb_aligned_calloc(n, sizeof(float));
    ps->m = bb_aligned_calloc(n, sizeof(float));
    ps->v = bb_aligned_calloc(n, sizeof(float));
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

nn_adam_consts nn_adam_consts_at(const nn_adam *opt, int64_t step) {
    /* bias corrections 1 - beta^t (Kingma & Ba 2015, Alg. 1), in double */
    double bc1 = 1.0 - pow((double)opt->beta1, (double)step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)step);
    nn_adam_consts c = {opt->beta1,
                        opt->beta2,
                        1.0f - opt->beta1,
                        1.0f - opt->beta2,
                        (float)((double)opt->lr / bc1),
                        (float)(1.0 / sqrt(bc2)),
                        opt->eps};
    return c;
}

void nn_adam_apply(const nn_adam_consts *c, float *p, float *m, float *v, const float *g,
                   size_t n) {
    const bb_vec8f b1 = bb_splat8(c->b1), b2 = bb_splat8(c->b2),
                   c1 = bb_splat8(c->one_minus_b1), c2 = bb_splat8(c->one_minus_b2),
                   ss = bb_splat8(c->step_size), ib = bb_splat8(c->inv_sqrt_bc2),
                   eps = bb_splat8(c->eps);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        bb_vec8f gv = bb_load8(g + k);
        bb_vec8f mv = b1 * bb_load8(m + k) + c1 * gv;
        bb_vec8f vv = b2 * bb_load8(v + k) + c2 * gv * gv;
        bb_vec8f pv = bb_load8(p + k) - ss * mv / (bb_sqrt8(vv) * ib + eps);
        bb_store8(m + k, mv);
        bb_store8(v + k, vv);
        bb_store8(p + k, pv);
    }
    for (; k < n; k++) {
        float gk = g[k];
        m[k] = c->b1 * m[k] + c->one_minus_b1 * gk;
        v[k] = c->b2 * v[k] + c->one_minus_b2 * gk * gk;
        /* torch: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
        p[k] -= c->step_size * m[k] / (sqrtf(v[k]) * c->inv_sqrt_bc2 + c->eps);
    }
}

void nn_adam_step(nn_params *ps, const nn_adam *opt) {
    BB_ASSERT(ps->finalized, "nn_adam_step before nn_params_finalize");
    ps->step++;
    const nn_adam_consts c = nn_adam_consts_at(opt, ps->step);
    const float lr = opt->lr, wd = opt->weight_decay;
    for (int i = 0; i < ps->n; i++) {
        nn_tensor *t = ps->items[i];
        if (!t->requires_grad) continue;
        float *p = t->data, *g = t->grad;
        float *m = ps->m + ps->offsets[i], *v = ps->v + ps->offsets[i];
        if (wd == 0.0f) {
            nn_adam_apply(&c, p, m, v, g, (size_t)t->numel);
            continue;
        }
        /* weight decay: the same update from a changed gradient or parameter */
        for (int64_t k = 0; k < t->numel; k++) {
            float gk = g[k];
            if (opt->decoupled)
                p[k] -= lr * wd * p[k]; /* AdamW: decay outside the moments */
            else
                gk += wd * p[k]; /* Adam: L2 term in the gradient */
            m[k] = c.b1 * m[k] + c.one_minus_b1 * gk;
            v[k] = c.b2 * v[k] + c.one_minus_b2 * gk * gk;
            p[k] -= c.step_size * m[k] / (sqrtf(v[k]) * c.inv_sqrt_bc2 + c.eps);
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
