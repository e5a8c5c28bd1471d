/* nn_optim — the parameter registry, Adam/AdamW, gradient clipping, initialisers.
 *
 * Registry (llm.c's flat layout): declare every parameter with nn_params_add(), then call
 * nn_params_finalize() once; it allocates ONE block each for values, gradients and the
 * two Adam moments and points every parameter's data/grad at its slice (in the order of
 * declaration). Zeroing all gradients is one memset; a checkpoint is one write of `data`.
 *
 *     nn_params *ps = nn_params_new();
 *     nn_tensor *emb = nn_params_add2(ps, "user_emb", n_users, 64);
 *     nn_tensor *w   = nn_params_add(ps, "w", 2, (int64_t[]){64, 64});
 *     nn_params_finalize(ps);                 // data zeroed; now initialise:
 *     bb_rng r; bb_rng_seed(&r, seed, "lightgcn/init");
 *     nn_init_xavier_uniform(emb, &r);
 *     ... each step: nn_params_zero_grad(ps); forward; backward; nn_adam_step(ps, &opt);
 *     nn_params_free(ps);
 *
 * Ownership: the registry owns the parameter structs, their names and the blocks; the
 * nn_tensor pointers returned by nn_params_add stay valid until nn_params_free. Before
 * finalize, parameters have no data (NULL). A parameter with requires_grad = 0 is frozen:
 * the optimizer skips it (its grad slice still exists and is zeroed with the rest).
 * The four blocks are cache-line aligned (bb_aligned_calloc: 64 bytes), so a parameter
 * whose offset is a multiple of 16 floats starts on a line and a 64-float row spans
 * exactly 4 lines; only nn_params_free may free them (with bb_aligned_free, not free()).
 *
 * Adam's element update is one vectorised kernel, nn_adam_apply, which nn_adam_step uses
 * and which callers with their own threading or fused per-row updates (BPR, BEAT stage 1)
 * call on their spans: every caller gets the same bits as torch.optim.Adam's order of
 * float operations here.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn_tensor.h"

typedef struct nn_params {
    nn_tensor **items; /* owned structs, declaration order */
    char **names;      /* owned copies */
    int64_t *offsets;  /* element offset of each parameter in the blocks */
    int n, cap;
    int64_t total;     /* total number of elements */
    float *data, *grad, *m, *v; /* owned flat blocks (after finalize) */
    int finalized;
    int64_t step;      /* optimizer steps taken (bias correction) */
} nn_params;

nn_params *nn_params_new(void);
void nn_params_free(nn_params *ps); /* NULL is fine */
nn_tensor *nn_params_add(nn_params *ps, const char *name, int ndim, const int64_t *shape);
nn_tensor *nn_params_add1(nn_params *ps, const char *name, int64_t n);
nn_tensor *nn_params_add2(nn_params *ps, const char *name, int64_t rows, int64_t cols);
void nn_params_finalize(nn_params *ps);          /* allocates zeroed blocks */
nn_tensor *nn_params_find(const nn_params *ps, const char *name); /* NULL if absent */
void nn_params_zero_grad(nn_params *ps);         /* one memset */
void nn_params_reset_moments(nn_params *ps);     /* m = v = 0, step = 0 */
/* Global L2 norm of the gradients of trainable parameters (double accumulation). */
double nn_params_grad_norm(const nn_params *ps);
/* Scales trainable gradients so their global norm is at most max_norm; returns the norm
 * before clipping (torch.nn.utils.clip_grad_norm_). */
double nn_params_clip_grad_norm(nn_params *ps, double max_norm);

/* Adam (Kingma & Ba 2015, Alg. 1) with bias correction; weight_decay is L2 added to the
 * gradient (torch.optim.Adam). With decoupled = 1 it is AdamW (Loshchilov & Hutter 2019):
 * p -= lr * weight_decay * p before the Adam update. */
typedef struct nn_adam {
    float lr, beta1, beta2, eps, weight_decay;
    int decoupled;
} nn_adam;

nn_adam nn_adam_default(float lr);                     /* betas 0.9/0.999, eps 1e-8, wd 0 */
nn_adam nn_adamw_default(float lr, float weight_decay); /* decoupled */
/* One update of every trainable parameter from its gradient; increments ps->step. */
void nn_adam_step(nn_params *ps, const nn_adam *opt);

/* The float constants of step t (1-based, already counted) of Adam without weight decay:
 * the bias corrections 1 - beta^t are computed in double, and lr/bc1 and 1/sqrt(bc2)
 * rounded to float once per step (as torch does). */
typedef struct nn_adam_consts {
    float b1, b2, one_minus_b1, one_minus_b2, step_size, inv_sqrt_bc2, eps;
} nn_adam_consts;

nn_adam_consts nn_adam_consts_at(const nn_adam *opt, int64_t step);
/* Adam on n consecutive parameters p with moments m, v and gradient g (weight decay NOT
 * applied; opt->weight_decay is ignored by nn_adam_consts_at):
 *   m = b1 m + (1-b1) g;  v = b2 v + ((1-b2) g) g;  p -= (lr/bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * 8 lanes at a time, then a scalar tail, with the same IEEE operations in the same order,
 * so any split of a block into spans gives the same bits. g may not alias p, m or v. */
void nn_adam_apply(const nn_adam_consts *c, float *p, float *m, float *v, const float *g,
                   size_t n);

/* ---- initialisers (deterministic from the rng stream) ---------------------------------- */

/* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010); for a tensor of
 * shape (..., R, C) fan_in = R * receptive, fan_out = C * receptive with receptive =
 * product of leading dims (1 for 2-D); a 1-D tensor uses fan_in = fan_out = n. */
void nn_init_xavier_uniform(nn_tensor *t, bb_rng *r);
void nn_init_normal(nn_tensor *t, bb_rng *r, float mean, float std);
void nn_init_uniform(nn_tensor *t, bb_rng *r, float lo, float hi);
void nn_init_constant(nn_tensor *t, float value);

#endif
