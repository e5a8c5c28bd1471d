/* beat_stage1_internal — the work buffers shared by beat_stage1.c (model, step) and
 * beat_stage1_train.c (epochs, encoding, Adam). Not a public API. */
#ifndef BEAT_STAGE1_INTERNAL_H
#define BEAT_STAGE1_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "models/beat/beat_recon.h"
#include "models/beat/beat_stage1.h"

/* Per side: the rows (distinct entities) of the current batch or encoding chunk. */
typedef struct beat_side_buf {
    int64_t cap;   /* rows the buffers hold */
    int64_t n;     /* rows in use */
    int32_t *ent;  /* (cap) entity of each row, ascending */
    int32_t *local;/* (n entities) row of an entity in the batch, -1 otherwise */
    float *x, *dx; /* (cap, D) graph rows and their gradient */
    /* macro: projections -> normalised z, norms, codes, straight-through tokens, gradient */
    float *zmac, *nmac, *stmac, *dmac;
    int32_t *imac;
    /* micro: (cap, T, d) and (cap, T) */
    float *zmic, *nmic, *stmic;
    int32_t *imic;
    float *rec, *drec; /* (cap, T, d); drec doubles as the micro tokens' gradient */
    beat_pair_index pix;
    double vq[2], orth;
} beat_side_buf;

struct beat_work {
    beat_side_buf s[2];
    float *F, *dF;      /* (T, n_nodes, t) like the ego block: propagated rows / their
                         * gradient (zero off the batch rows) */
    float *search;      /* beat_vq_search scratch: K code norms, then per-thread scores */
    float *fold;        /* (T, K, t): C W_k^T, the micro codebook folded into chunk k's map */
    float *inv;         /* (cap, T): 1 / ||x_k W_k|| of the micro rows */
    float *vqgrad;      /* beat_vq_backward scratch */
    int32_t *nodes;     /* batch nodes, ascending */
    int32_t n_nodes_batch;
    int64_t pcap;       /* pairs a batch holds: 2 x batch */
    int32_t *lu, *li;   /* (pcap) local rows of each pair */
    float *scores, *g;  /* (pcap) */
    /* epoch staging */
    int32_t *bu, *bi, *btrain;
    float *blabel;
};

/* Adam (torch.optim.Adam, the float operations of nn_adam_step, so the same bits). */
typedef struct beat_adam {
    float b1, b2, one_b1, one_b2, step_size, inv_sqrt_bc2, eps;
} beat_adam;

/* Counts the step (params->step) and returns its constants. */
beat_adam beat_adam_begin(beat_model *m);
/* Updates n parameters from their gradients (p, m1, m2, g at the same offsets). */
static inline void beat_adam_apply(const beat_adam *a, float *restrict p, float *restrict m1,
                                   float *restrict m2, const float *restrict g, int64_t n) {
    for (int64_t k = 0; k < n; k++) {
        m1[k] = a->b1 * m1[k] + a->one_b1 * g[k];
        m2[k] = a->b2 * m2[k] + a->one_b2 * g[k] * g[k];
        p[k] -= a->step_size * m1[k] / (sqrtf(m2[k]) * a->inv_sqrt_bc2 + a->eps);
    }
}
/* The same over [lo, hi) of the registry's flat block, split across the pool. */
void beat_adam_block(beat_model *m, const beat_adam *a, int64_t lo, int64_t hi);

/* Phase clock (beat_phase_times). */
typedef struct beat_clock {
    double wall, cpu, main_cpu;
} beat_clock;
void beat_clock_start(beat_clock *c);
/* Adds the time since the last start/lap to phase ph and restarts. */
void beat_clock_lap(beat_clock *c, beat_phase_times *t, int ph);

/* Supervision (beat_stage1_sup.c): shadows of the modules per thread (after the registry
 * is finalised) and their release; the forward and backward of one step, which adds the
 * token gradients into the sides' dmac / drec and the modules' gradients into the registry. */
void beat_sup_setup(beat_model *m);
void beat_sup_free(beat_model *m);
void beat_supervision(beat_model *m, const beat_batch *bt, beat_losses *L);

/* Rows s->ent[0..n) of side `side`: graph rows from w->F (gathered into row-major (n, D)),
 * projections, quantisation, rec.
 * With fz (may be NULL) recording or replaying the stop-gradient values. */
void beat_side_forward(beat_model *m, int side, beat_frozen *fz);

#endif
